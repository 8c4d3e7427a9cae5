/* model/bind.c: GGUF metadata checks and the runtime's parameter binder. */
#include "model/bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"  /* ds_fail */
#include "graph/params.h" /* ds_param_weight_shape */

enum { SUPPORTED_FORMAT_VERSION = 1 };

/* Finds `name`, checks its shape, returns float32 data (converting f16/bf16 once). */
static ds_status fetch(ds_model_binder *b, const char *name, int ndim, const int64_t *shape,
                       ds_tensor_ref *out) {
    const char *path = ds_gguf_label(b->gguf);
    const ds_gguf_tensor *t = ds_gguf_find_tensor(b->gguf, name);
    if (!t)
        return ds_fail(DS_ERR_MODEL, "%s: missing tensor '%s', needed by %s", path, name,
                       b->arch->name);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char got[64], want[64];
        ds_format_shape(got, sizeof got, t->ndim, t->shape);
        ds_format_shape(want, sizeof want, ndim, shape);
        return ds_fail(DS_ERR_MODEL, "%s: tensor '%s' has shape %s, %s expects %s", path, name,
                       got, b->arch->name, want);
    }
    size_t idx = (size_t)(t - ds_gguf_tensor_at(b->gguf, 0));
    size_t n = t->nbytes / ds_dtype_size(t->dtype);
    const float *data = t->data;
    if (t->dtype == DS_F16 || t->dtype == DS_BF16) {
        if (!b->f32[idx]) {
            float *f = malloc(n * sizeof *f + 1);
            if (!f)
                return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for '%s'", path, name);
            const uint16_t *h = t->data;
            for (size_t i = 0; i < n; i++)
                f[i] = t->dtype == DS_F16 ? ds_f16_to_f32(h[i]) : ds_bf16_to_f32(h[i]);
            b->f32[idx] = f;
        }
        data = b->f32[idx];
    } else if (t->dtype != DS_F32) {
        return ds_fail(DS_ERR_MODEL, "%s: tensor '%s' is %s; weights must be f32, f16 or bf16",
                       path, name, ds_dtype_name(t->dtype));
    }
    if (!b->bound[idx])
        b->n_params += (int64_t)n;
    b->bound[idx] = true;
    out->name = t->name;
    out->dtype = DS_F32;
    out->ndim = ndim;
    for (int d = 0; d < 4; d++)
        out->shape[d] = d < ndim ? shape[d] : 0; /* shape has only ndim entries */
    out->data = data;
    return DS_OK;
}

static ds_status bind(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *bias) {
    ds_model_binder *b = ctx;
    int ndim;
    int64_t shape[4];
    ds_param_weight_shape(d, &ndim, shape);
    DS_TRY(fetch(b, d->weight_name, ndim, shape, w));
    int64_t len = ds_param_bias_len(d);
    if (len)
        DS_TRY(fetch(b, d->bias_name, 1, &len, bias));
    return DS_OK;
}

static ds_status check_u32(const ds_gguf *g, const char *key, uint32_t want, const char *arch) {
    uint32_t v;
    DS_TRY(ds_gguf_get_u32(g, key, &v));
    if (v != want)
        return ds_fail(DS_ERR_MODEL, "%s: %s is %u, %s has %u", ds_gguf_label(g), key, v, arch, want);
    return DS_OK;
}

static ds_status check_str(const ds_gguf *g, const char *key, const char *want, const char *arch) {
    const char *v;
    DS_TRY(ds_gguf_get_str(g, key, &v));
    if (strcmp(v, want) != 0)
        return ds_fail(DS_ERR_MODEL, "%s: %s is '%s', %s has '%s'", ds_gguf_label(g), key, v,
                       arch, want);
    return DS_OK;
}

static ds_status check_metadata(const ds_gguf *g, const ds_arch_info **out) {
    const char *path = ds_gguf_label(g);
    const char *name;
    uint32_t version;
    if (ds_gguf_get_str(g, "general.architecture", &name) != DS_OK)
        return ds_fail(DS_ERR_MODEL, "%s: no general.architecture: not a depthsolve model", path);
    ds_arch arch = ds_arch_from_name(name);
    if (arch == DS_ARCH_UNKNOWN) {
        char names[1024];
        ds_arch_list(names, sizeof names);
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: unknown architecture '%s' (this build runs %s)", path, name, names);
    }
    if (ds_gguf_get_u32(g, "depthsolve.format_version", &version) != DS_OK)
        return ds_fail(DS_ERR_MODEL, "%s: no depthsolve.format_version: not written by depthsolve",
                       path);
    if (version != SUPPORTED_FORMAT_VERSION)
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: depthsolve model format %u; this build reads format %d (re-convert "
                       "the checkpoint)", path, version, SUPPORTED_FORMAT_VERSION);
    const ds_arch_info *a = ds_arch_get(arch);
    float mean[3], std[3];
    DS_TRY(check_u32(g, "depthsolve.net_size", (uint32_t)a->net_size, a->name));
    DS_TRY(check_u32(g, "depthsolve.input_multiple", (uint32_t)a->multiple, a->name));
    DS_TRY(check_u32(g, "depthsolve.features", (uint32_t)a->features, a->name));
    DS_TRY(check_str(g, "depthsolve.resize_method", a->resize_method, a->name));
    DS_TRY(check_str(g, "depthsolve.weight_layout", "channels_last", a->name));
    DS_TRY(ds_gguf_get_f32_array(g, "depthsolve.mean", mean, 3));
    DS_TRY(ds_gguf_get_f32_array(g, "depthsolve.std", std, 3));
    for (int i = 0; i < 3; i++)
        if (mean[i] != a->mean[i] || std[i] != a->std[i])
            return ds_fail(DS_ERR_MODEL, "%s: depthsolve.mean/std differ from %s's", path, a->name);
    /* files from before metric models have no quantity: relative inverse depth */
    const char *quantity = ds_depth_quantity_key(a->quantity);
    if (ds_gguf_find_kv(g, "depthsolve.depth_quantity") >= 0 || a->quantity != DS_DEPTH_RELATIVE_INVERSE)
        DS_TRY(check_str(g, "depthsolve.depth_quantity", quantity, a->name));
    float max_depth;
    if (a->quantity == DS_DEPTH_METRIC) {
        DS_TRY(ds_gguf_get_f32(g, "depthsolve.max_depth", &max_depth));
        if (max_depth != a->max_depth)
            return ds_fail(DS_ERR_MODEL, "%s: depthsolve.max_depth is %g, %s has %g", path, (double)max_depth,
                           a->name, (double)a->max_depth);
    }
    *out = a;
    return DS_OK;
}

ds_status ds_model_binder_init(ds_model_binder *b, ds_gguf *g, const ds_arch_info **arch_out) {
    memset(b, 0, sizeof *b);
    b->gguf = g;
    b->binder.ctx = b;
    b->binder.bind = bind;
    DS_TRY(check_metadata(g, &b->arch));
    size_t n = ds_gguf_n_tensors(g);
    b->f32 = calloc(n + 1, sizeof *b->f32);
    b->bound = calloc(n + 1, sizeof *b->bound);
    if (!b->f32 || !b->bound) {
        ds_model_binder_free(b);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory opening %s", ds_gguf_label(g));
    }
    /* bind once at the training size: every tensor checked before any run */
    ds_graph graph;
    ds_status s = ds_arch_build(b->arch->id, b->arch->net_size, b->arch->net_size, &b->binder, &graph);
    ds_graph_free(&graph);
    for (size_t i = 0; s == DS_OK && i < n; i++)
        if (!b->bound[i])
            s = ds_fail(DS_ERR_MODEL, "%s: unexpected tensor '%s' (not part of %s)",
                        ds_gguf_label(g), ds_gguf_tensor_at(g, i)->name, b->arch->name);
    if (s != DS_OK) {
        ds_model_binder_free(b);
        return s;
    }
    *arch_out = b->arch;
    return DS_OK;
}

void ds_model_binder_free(ds_model_binder *b) {
    if (!b)
        return;
    size_t n = b->gguf && b->f32 ? ds_gguf_n_tensors(b->gguf) : 0;
    for (size_t i = 0; i < n; i++)
        free(b->f32[i]);
    free(b->f32);
    free(b->bound);
    memset(b, 0, sizeof *b);
}
