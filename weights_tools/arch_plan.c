/* arch_plan.c: recording binder and the raw-key expansion of declarations. */
#include "weights_tools/arch_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "graph/params.h" /* ds_param_weight_shape */

/* The declaration of the same module made before (a module applied more
 * than once, as DINOv2's final norm on every tap), or NULL. */
static const ds_param_decl *declared(const ds_arch_plan *p, const ds_param_decl *d) {
    for (size_t i = 0; i < p->n_decls; i++)
        if (!strcmp(p->decls[i].weight_name, d->weight_name))
            return &p->decls[i];
    return NULL;
}

static ds_status record(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    ds_arch_plan *p = ctx;
    const ds_param_decl *before = declared(p, d);
    if (before && (before->kind != d->kind || before->ndim != d->ndim ||
                   memcmp(before->shape, d->shape, sizeof d->shape) || before->unused != d->unused))
        return ds_fail(DS_ERR_INTERNAL, "%s is declared twice, differently", d->weight_name);
    if (!before) {
        ds_param_decl *grown = realloc(p->decls, (p->n_decls + 1) * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing parameters");
        p->decls = grown;
        p->decls[p->n_decls++] = *d;
    }
    /* describe the stored tensors, without data, so the graph is complete */
    w->name = d->weight_name;
    w->dtype = DS_F32;
    ds_param_weight_shape(d, &w->ndim, w->shape);
    if (d->bias_name) {
        b->name = d->bias_name;
        b->dtype = DS_F32;
        b->ndim = 1;
        b->shape[0] = ds_param_bias_len(d);
    }
    return DS_OK;
}

ds_status ds_arch_plan_make(ds_arch arch, ds_arch_plan *out) {
    memset(out, 0, sizeof *out);
    const ds_arch_info *a = ds_arch_get(arch);
    if (!a)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown architecture id %d", (int)arch);
    out->arch = arch;
    ds_param_binder binder = {.ctx = out, .bind = record, .declare_unused = true};
    ds_status s = ds_arch_build(arch, a->net_size, a->net_size, &binder, &out->graph);
    if (s != DS_OK)
        ds_arch_plan_free(out);
    return s;
}

void ds_arch_plan_free(ds_arch_plan *p) {
    if (!p)
        return;
    ds_graph_free(&p->graph);
    free(p->decls);
    memset(p, 0, sizeof *p);
}

static ds_raw_key *add(ds_raw_key *out, int *n, const char *prefix, const char *suffix, int ndim,
                       const int64_t *shape) {
    ds_raw_key *k = &out[(*n)++];
    memset(k, 0, sizeof *k);
    if (suffix)
        snprintf(k->name, sizeof k->name, "%s.%s", prefix, suffix);
    else
        snprintf(k->name, sizeof k->name, "%s", prefix);
    k->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        k->shape[i] = shape[i];
    return k;
}

/* A BatchNorm's five tensors; num_batches_tracked may be absent. */
static void add_batchnorm(ds_raw_key *out, int *n, const char *bn, const int64_t *channels) {
    static const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        add(out, n, bn, parts[i], 1, channels);
    ds_raw_key *t = add(out, n, bn, "num_batches_tracked", 0, NULL);
    t->is_int64 = 1;
    t->optional = 1;
}

int ds_raw_keys(const ds_param_decl *d, ds_raw_key out[DS_RAW_KEYS_MAX]) {
    int n = 0;
    if (d->kind == DS_PARAM_TENSOR || d->kind == DS_PARAM_BUFFER) {
        add(out, &n, d->name, NULL, d->ndim, d->shape)->is_int64 = d->is_int64;
        return n;
    }
    int64_t bias_len = d->kind == DS_PARAM_CONV_T ? d->shape[1] : d->shape[0];
    if (d->kind == DS_PARAM_BATCHNORM) {
        add_batchnorm(out, &n, d->name, &bias_len);
        return n;
    }
    add(out, &n, d->name, "weight", d->ndim, d->shape);
    if (d->has_bias)
        add(out, &n, d->name, "bias", 1, &bias_len);
    if (d->bn)
        add_batchnorm(out, &n, d->bn, &bias_len);
    if (d->row_scale)
        add(out, &n, d->row_scale, NULL, 1, &d->shape[0]);
    return n;
}
