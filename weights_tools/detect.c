/* detect.c: which architecture a state_dict belongs to, from names and shapes. */
#include <stdio.h>
#include <string.h>

#include "weights_tools/arch_plan.h" /* ds_arch_plan, ds_raw_keys */
#include "weights_tools/readers/ckpt_view.h" /* ds_ckpt_view */
#include "weights_tools/convert.h"
#include "base/error.h"     /* ds_fail */

typedef struct match {
    int required, matched;
    char first_problem[400];
} match;

static ds_status score_arch(const ds_ckpt_view *v, ds_arch arch, match *m) {
    memset(m, 0, sizeof *m);
    ds_arch_plan plan;
    DS_TRY(ds_arch_plan_make(arch, &plan));
    for (size_t i = 0; i < plan.n_decls; i++) {
        if (plan.decls[i].unused)
            continue;
        ds_raw_key keys[DS_RAW_KEYS_MAX];
        int n = ds_raw_keys(&plan.decls[i], keys);
        for (int k = 0; k < n; k++) {
            if (keys[k].optional)
                continue;
            m->required++;
            long idx = ds_ckpt_view_find(v, keys[k].name);
            if (idx >= 0 && ds_ckpt_view_shape_is(v, (size_t)idx, keys[k].ndim, keys[k].shape)) {
                m->matched++;
            } else if (!m->first_problem[0]) {
                char want[64], got[64];
                ds_format_shape(want, sizeof want, keys[k].ndim, keys[k].shape);
                if (idx < 0) {
                    snprintf(m->first_problem, sizeof m->first_problem, "'%s' (%s) is missing",
                             keys[k].name, want);
                } else {
                    const ds_ckpt_tensor *t = &v->ck->tensors[idx];
                    ds_format_shape(got, sizeof got, t->ndim, t->shape);
                    snprintf(m->first_problem, sizeof m->first_problem,
                             "'%s' has shape %s, expected %s", keys[k].name, got, want);
                }
            }
        }
    }
    ds_arch_plan_free(&plan);
    return DS_OK;
}

int ds_arch_twins(ds_arch arch) {
    const ds_arch_info *a = ds_arch_get(arch);
    int n = 0;
    for (int i = 0; a && i < DS_ARCH_COUNT; i++)
        n += !strcmp(ds_arch_get((ds_arch)i)->backbone, a->backbone) && ds_arch_get((ds_arch)i)->vit_dim == a->vit_dim &&
             ds_arch_get((ds_arch)i)->net_size == a->net_size; /* Depth Anything V2 (518) is not 3 (504) */
    return n;
}

/* Whether the lowercase `path` holds one of the '|'-separated words of `hint`. */
static int path_says(const char *path, const char *hint) {
    for (const char *w = hint; *w;) {
        size_t n = strcspn(w, "|");
        for (const char *p = path; *p; p++)
            if (!strncmp(p, w, n))
                return 1;
        w += n + (w[n] == '|');
    }
    return 0;
}

/* Of the architectures that hold exactly these tensors, the one the
 * checkpoint's path names, else the one no word names. */
static ds_arch pick_twin(const ds_arch *full, int n, const char *label) {
    char path[1024];
    size_t i = 0;
    for (; label && label[i] && i + 1 < sizeof path; i++)
        path[i] = (char)(label[i] >= 'A' && label[i] <= 'Z' ? label[i] - 'A' + 'a' : label[i]);
    path[i] = '\0';
    for (int k = 0; k < n; k++) {
        const char *hint = ds_arch_get(full[k])->file_hint;
        if (hint && path_says(path, hint))
            return full[k];
    }
    for (int k = 0; k < n; k++)
        if (!ds_arch_get(full[k])->file_hint)
            return full[k];
    return full[0];
}

ds_status ds_detect_arch(const ds_ckpt *ck, const char *label, ds_arch *out) {
    *out = DS_ARCH_UNKNOWN;
    if (ck->n_tensors == 0)
        return ds_fail(DS_ERR_MODEL, "%s: holds no tensors", label);
    ds_ckpt_view v;
    ds_ckpt_view_init(&v, ck);
    match best = {0};
    ds_arch best_arch = DS_ARCH_UNKNOWN;
    ds_arch full[DS_ARCH_COUNT];
    int n_full = 0;
    for (int a = 0; a < DS_ARCH_COUNT; a++) {
        match m;
        DS_TRY(score_arch(&v, (ds_arch)a, &m));
        if (m.required > 0 && m.matched == m.required) {
            full[n_full++] = (ds_arch)a;
            continue;
        }
        if (best_arch == DS_ARCH_UNKNOWN ||
            (double)m.matched / m.required > (double)best.matched / best.required) {
            best = m;
            best_arch = (ds_arch)a;
        }
    }
    if (n_full) {
        *out = pick_twin(full, n_full, label);
        return DS_OK;
    }
    if (best.matched * 2 > best.required)
        return ds_fail(DS_ERR_MODEL,
                       "%s: looks like %s (%d of its %d tensors match) but %s; "
                       "use --arch to name the architecture",
                       label, ds_arch_name(best_arch), best.matched, best.required,
                       best.first_problem);
    char names[1024];
    ds_arch_list(names, sizeof names);
    return ds_fail(DS_ERR_MODEL, "%s: not a known MiDaS checkpoint: none of %s matches its %zu tensors (first: '%s')",
                   label, names, ck->n_tensors, ds_ckpt_view_name(&v, 0));
}
