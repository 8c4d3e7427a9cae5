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

ds_status ds_detect_arch(const ds_ckpt *ck, const char *label, ds_arch *out) {
    *out = DS_ARCH_UNKNOWN;
    if (ck->n_tensors == 0)
        return ds_fail(DS_ERR_MODEL, "%s: holds no tensors", label);
    ds_ckpt_view v;
    ds_ckpt_view_init(&v, ck);
    match best = {0};
    ds_arch best_arch = DS_ARCH_UNKNOWN;
    for (int a = 0; a < DS_ARCH_COUNT; a++) {
        match m;
        DS_TRY(score_arch(&v, (ds_arch)a, &m));
        if (m.required > 0 && m.matched == m.required) {
            *out = (ds_arch)a;
            return DS_OK;
        }
        if (best_arch == DS_ARCH_UNKNOWN ||
            (double)m.matched / m.required > (double)best.matched / best.required) {
            best = m;
            best_arch = (ds_arch)a;
        }
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
