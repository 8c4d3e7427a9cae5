/* convert.c: check a raw state_dict against its architecture, fold, fill a GGUF writer. */
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_plan.h" /* ds_arch_plan, ds_raw_keys */
#include "ckpt_view.h" /* ds_ckpt_view */
#include "error.h"     /* ds_fail */
#include "fold.h"      /* ds_fold_batchnorm, ds_fold_weight_std, ds_permute_channels_last */
#include "params.h"    /* ds_param_weight_shape, ds_param_weight_may_be_f16 */

enum { DS_GGUF_FORMAT_VERSION = 1 };

typedef struct conv_ctx {
    ds_ckpt *ck;
    ds_ckpt_view view;
    const char *label;
    const char *arch_name;
    bool *consumed;
    ds_weight_dtype dtype;
    ds_converted *out;
} conv_ctx;

static int is_float(ds_dtype t) { return t == DS_F32 || t == DS_F16 || t == DS_BF16 || t == DS_F64; }

static void to_f32(const ds_ckpt_tensor *t, float *dst) {
    size_t n = (size_t)ds_ckpt_tensor_numel(t);
    const uint8_t *src = t->data;
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case DS_F32: memcpy(&dst[i], src + 4 * i, 4); break;
        case DS_F16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = ds_f16_to_f32(h);
            break;
        }
        case DS_BF16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = ds_bf16_to_f32(h);
            break;
        }
        default: {
            double d;
            memcpy(&d, src + 8 * i, 8);
            dst[i] = (float)d;
            break;
        }
        }
    }
}

/* Looks up one raw tensor and checks its shape and kind; NULL if optional and absent. */
static ds_status take(conv_ctx *c, const ds_raw_key *k, int optional, ds_ckpt_tensor **out) {
    *out = NULL;
    long idx = ds_ckpt_view_find(&c->view, k->name);
    char want[64], got[64];
    ds_format_shape(want, sizeof want, k->ndim, k->shape);
    if (idx < 0) {
        if (optional)
            return DS_OK;
        return ds_fail(DS_ERR_MODEL, "%s: missing tensor '%s' (%s), needed by %s", c->label,
                       k->name, want, c->arch_name);
    }
    ds_ckpt_tensor *t = &c->ck->tensors[idx];
    if (!ds_ckpt_view_shape_is(&c->view, (size_t)idx, k->ndim, k->shape)) {
        ds_format_shape(got, sizeof got, t->ndim, t->shape);
        return ds_fail(DS_ERR_MODEL, "%s: tensor '%s' has shape %s, %s expects %s", c->label,
                       k->name, got, c->arch_name, want);
    }
    if (k->is_int64 ? is_float(t->dtype) || t->dtype == DS_BOOL : !is_float(t->dtype))
        return ds_fail(DS_ERR_MODEL, "%s: tensor '%s' has dtype %s, expected %s", c->label,
                       k->name, ds_dtype_name(t->dtype),
                       k->is_int64 ? "an integer type" : "floating point");
    c->consumed[idx] = true;
    *out = t;
    return DS_OK;
}

static ds_status keep(conv_ctx *c, void *buf) {
    ds_converted *o = c->out;
    if (o->n_buffers == o->cap_buffers) {
        size_t cap = o->cap_buffers ? o->cap_buffers * 2 : 256;
        void **grown = realloc(o->buffers, cap * sizeof *grown);
        if (!grown) {
            free(buf);
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", c->label);
        }
        o->buffers = grown;
        o->cap_buffers = cap;
    }
    o->buffers[o->n_buffers++] = buf;
    return DS_OK;
}

/* Hands a converted f32 tensor (owned) to the writer, as f16 if asked. */
static ds_status emit(conv_ctx *c, const char *name, float *data, int ndim, const int64_t *shape,
                      int as_f16) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    void *payload = data;
    ds_dtype dtype = DS_F32;
    if (as_f16) {
        uint16_t *h = malloc((size_t)n * 2 + 1);
        if (!h) {
            free(data);
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", name);
        }
        for (int64_t i = 0; i < n; i++)
            h[i] = ds_f32_to_f16(data[i]);
        free(data);
        payload = h;
        dtype = DS_F16;
    }
    DS_TRY(keep(c, payload));
    c->out->n_params += n;
    c->out->n_tensors++;
    return ds_gguf_add_tensor(c->out->writer, name, dtype, ndim, shape, payload,
                              (size_t)n * ds_dtype_size(dtype));
}

/* An f32 copy of a raw tensor; takes over the checkpoint's buffer when it is f32. */
static float *as_f32(ds_ckpt_tensor *t) {
    if (t->dtype == DS_F32 && t->data) {
        float *f = t->data;
        t->data = NULL;
        return f;
    }
    size_t n = (size_t)ds_ckpt_tensor_numel(t);
    float *f = malloc(n * sizeof *f + 1);
    if (f && t->data)
        to_f32(t, f);
    return f;
}

static void release(ds_ckpt_tensor **raw, int n) {
    for (int i = 0; i < n; i++)
        if (raw[i]) {
            free(raw[i]->data);
            raw[i]->data = NULL;
        }
}

static ds_status convert_decl(conv_ctx *c, const ds_param_decl *d) {
    ds_raw_key keys[DS_RAW_KEYS_MAX];
    ds_ckpt_tensor *raw[DS_RAW_KEYS_MAX] = {0};
    int nk = ds_raw_keys(d, keys);
    for (int k = 0; k < nk; k++)
        DS_TRY(take(c, &keys[k], d->unused || keys[k].optional, &raw[k]));
    if (d->unused) {
        release(raw, nk);
        return DS_OK;
    }
    float *w = as_f32(raw[0]);
    float *bias = NULL;
    int64_t out_ch = d->shape[0], per_out = 1;
    for (int i = 1; i < d->ndim; i++)
        per_out *= d->shape[i];
    int64_t bias_len = ds_param_bias_len(d);
    if (w && bias_len) {
        bias = d->has_bias ? as_f32(raw[1]) : calloc((size_t)bias_len, sizeof *bias);
    }
    if (!w || (bias_len && !bias)) {
        free(w);
        free(bias);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
    }
    if (d->kind == DS_PARAM_CONV && d->ws_eps > 0)
        ds_fold_weight_std(w, out_ch, per_out, d->ws_eps);
    if (d->kind == DS_PARAM_CONV && d->bn) {
        int first = d->has_bias ? 2 : 1; /* gamma, beta, mean, var follow weight [, bias] */
        float *bn[4] = {0};
        int ok = 1;
        for (int i = 0; i < 4; i++)
            ok &= (bn[i] = as_f32(raw[first + i])) != NULL;
        if (ok)
            ds_fold_batchnorm(w, out_ch, per_out, bias, bn[0], bn[1], bn[2], bn[3], d->bn_eps);
        for (int i = 0; i < 4; i++)
            free(bn[i]);
        if (!ok) {
            free(w);
            free(bias);
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
        }
    }
    /* (A, B, kh, kw) -> (A, kh, kw, B): the same bytes when kh = kw = 1 or B = 1 */
    if ((d->kind == DS_PARAM_CONV || d->kind == DS_PARAM_CONV_T) && d->ndim == 4 &&
        d->shape[2] * d->shape[3] > 1 && d->shape[1] > 1) {
        float *perm = malloc((size_t)(out_ch * per_out) * sizeof *perm + 1);
        if (!perm) {
            free(w);
            free(bias);
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
        }
        ds_permute_channels_last(w, perm, d->shape[0], d->shape[1], d->shape[2], d->shape[3]);
        free(w);
        w = perm;
    }
    release(raw, nk);
    int ndim;
    int64_t shape[4];
    ds_param_weight_shape(d, &ndim, shape);
    int f16 = c->dtype == DS_WEIGHTS_F16 && ds_param_weight_may_be_f16(d);
    ds_status s = emit(c, d->weight_name, w, ndim, shape, f16);
    if (s == DS_OK && bias)
        return emit(c, d->bias_name, bias, 1, &bias_len, 0);
    free(bias);
    return s;
}

static ds_status write_metadata(ds_gguf_writer *w, const ds_arch_info *a, const ds_ckpt *ck,
                                const char *source, ds_weight_dtype dtype) {
    DS_TRY(ds_gguf_set_str(w, "general.architecture", a->name));
    DS_TRY(ds_gguf_set_str(w, "general.name", a->name));
    DS_TRY(ds_gguf_set_u32(w, "general.file_type", dtype == DS_WEIGHTS_F16 ? 1 : 0));
    DS_TRY(ds_gguf_set_u32(w, "depthsolve.format_version", DS_GGUF_FORMAT_VERSION));
    DS_TRY(ds_gguf_set_str(w, "depthsolve.backbone", a->backbone));
    DS_TRY(ds_gguf_set_u32(w, "depthsolve.net_size", (uint32_t)a->net_size));
    DS_TRY(ds_gguf_set_str(w, "depthsolve.resize_method", a->resize_method));
    DS_TRY(ds_gguf_set_f32_array(w, "depthsolve.mean", a->mean, 3));
    DS_TRY(ds_gguf_set_f32_array(w, "depthsolve.std", a->std, 3));
    DS_TRY(ds_gguf_set_u32(w, "depthsolve.input_multiple", (uint32_t)a->multiple));
    DS_TRY(ds_gguf_set_u32(w, "depthsolve.features", (uint32_t)a->features));
    DS_TRY(ds_gguf_set_str(w, "depthsolve.weight_layout", "channels_last"));
    DS_TRY(ds_gguf_set_bool(w, "depthsolve.batchnorm_folded", true));
    DS_TRY(ds_gguf_set_str(w, "depthsolve.source_format", ck->format ? ck->format : "unknown"));
    if (source)
        DS_TRY(ds_gguf_set_str(w, "depthsolve.source_file", source));
    if (a->vit_dim) {
        DS_TRY(ds_gguf_set_u32(w, "depthsolve.vit.dim", (uint32_t)a->vit_dim));
        DS_TRY(ds_gguf_set_u32(w, "depthsolve.vit.depth", (uint32_t)a->vit_depth));
        DS_TRY(ds_gguf_set_u32(w, "depthsolve.vit.heads", (uint32_t)a->vit_heads));
        DS_TRY(ds_gguf_set_u32(w, "depthsolve.vit.patch_size", (uint32_t)a->patch_size));
        DS_TRY(ds_gguf_set_u32(w, "depthsolve.vit.pos_grid", (uint32_t)a->pos_grid));
        DS_TRY(ds_gguf_set_i32_array(w, "depthsolve.vit.hooks", a->vit_hooks, 4));
        DS_TRY(ds_gguf_set_i32_array(w, "depthsolve.vit.reassemble", a->reassemble, 4));
        DS_TRY(ds_gguf_set_str(w, "depthsolve.vit.readout", "project"));
    }
    return DS_OK;
}

static ds_status convert_all(conv_ctx *c, const ds_arch_plan *plan) {
    for (size_t i = 0; i < plan->n_decls; i++)
        DS_TRY(convert_decl(c, &plan->decls[i]));
    for (size_t i = 0; i < c->ck->n_tensors; i++)
        if (!c->consumed[i])
            return ds_fail(DS_ERR_MODEL, "%s: unexpected tensor '%s' (not part of %s)", c->label,
                           ds_ckpt_view_name(&c->view, i), c->arch_name);
    return DS_OK;
}

ds_status ds_convert_ckpt(ds_ckpt *ck, const char *label, const char *source,
                          const ds_convert_params *p, ds_converted *out) {
    memset(out, 0, sizeof *out);
    ds_convert_params defaults = ds_convert_default_params();
    if (!p)
        p = &defaults;
    ds_arch arch = p->arch;
    if (arch == DS_ARCH_UNKNOWN)
        DS_TRY(ds_detect_arch(ck, label, &arch));
    const ds_arch_info *info = ds_arch_get(arch);
    if (!info)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown architecture id %d", (int)arch);
    conv_ctx c = {.ck = ck, .label = label, .arch_name = info->name, .dtype = p->dtype, .out = out};
    ds_ckpt_view_init(&c.view, ck);
    out->arch = arch;
    ds_arch_plan plan;
    DS_TRY(ds_arch_plan_make(arch, &plan));
    c.consumed = calloc(ck->n_tensors + 1, sizeof *c.consumed);
    ds_status s = c.consumed ? ds_gguf_writer_create(&out->writer)
                             : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == DS_OK)
        s = write_metadata(out->writer, info, ck, source, p->dtype);
    if (s == DS_OK)
        s = convert_all(&c, &plan);
    free(c.consumed);
    ds_arch_plan_free(&plan);
    if (s != DS_OK)
        ds_converted_free(out);
    return s;
}

void ds_converted_free(ds_converted *c) {
    if (!c)
        return;
    ds_gguf_writer_free(c->writer);
    for (size_t i = 0; i < c->n_buffers; i++)
        free(c->buffers[i]);
    free(c->buffers);
    memset(c, 0, sizeof *c);
}
