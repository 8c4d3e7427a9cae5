/*
 * convert.c: check a raw state_dict against its architecture, then give the
 * GGUF writer each output tensor as a job: the folding and layout change run
 * while the file is written, each tensor read where the checkpoint is mapped
 * and written where the output is mapped (no copy of the model in memory).
 */
#include "weights_tools/convert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/arch_plan.h" /* ds_arch_plan, ds_raw_keys */
#include "weights_tools/readers/ckpt_view.h" /* ds_ckpt_view */
#include "base/error.h"     /* ds_fail */
#include "weights_tools/fold.h"      /* ds_batchnorm_scales, ds_fold_rows, ds_fold_channels_last */
#include "graph/params.h"    /* ds_param_weight_shape, ds_param_weight_may_be_f16 */

enum { DS_GGUF_FORMAT_VERSION = 1 };

/* One tensor of the GGUF file, produced from the checkpoint while it is written. */
typedef struct conv_job {
    const char *label; /* the checkpoint's, for messages (ds_conv_state's copy) */
    const ds_param_decl *d;
    const ds_ckpt_tensor *raw[DS_RAW_KEYS_MAX]; /* as ds_raw_keys lists them; NULL if absent */
    int is_bias;                                /* the declaration's bias, else its weight */
    int as_f16;
} conv_job;

struct ds_conv_state {
    ds_arch_plan plan; /* owns the declarations the jobs point to */
    char *label;       /* the checkpoint's label: the jobs run after ds_convert_ckpt returns */
    conv_job *jobs;
    size_t n_jobs, cap_jobs;
};

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

/* n values of a float tensor of any stored type, widened to f32 (any alignment). */
static void to_f32(const ds_ckpt_tensor *t, float *dst, size_t n) {
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case DS_F32:
        memcpy(dst, src, n * 4);
        return;
    case DS_F16:
    case DS_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = t->dtype == DS_F16 ? ds_f16_to_f32(h) : ds_bf16_to_f32(h);
        }
        return;
    default:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            dst[i] = (float)d;
        }
        return;
    }
}

/* A non-finite value in a converted tensor fails the conversion, naming the
 * checkpoint's tensor: a model that computes NaN from every photo is no use,
 * and the damage is in the file (or its BatchNorm variances are negative). */
static ds_status check_finite(const conv_job *j, const float *v, size_t n) {
    /* raw lists weight, then bias only when there is one */
    const ds_ckpt_tensor *t = j->is_bias ? (j->d->has_bias ? j->raw[1] : NULL) : j->raw[0];
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return ds_fail(DS_ERR_MODEL, "%s: tensor '%s' comes out %s at element %zu: the checkpoint is damaged",
                           j->label, t ? t->name : j->d->name, isnan(v[i]) ? "NaN" : "infinite", i);
    return DS_OK;
}

/* Looks up one raw tensor and checks its shape and kind; NULL if optional and absent. */
static ds_status take(conv_ctx *c, const ds_raw_key *k, int optional,
                      const ds_ckpt_tensor **out) {
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
    const ds_ckpt_tensor *t = &c->ck->tensors[idx];
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

/* A small raw vector (bias, BatchNorm statistics) as f32, malloc'd. */
static float *vector_f32(const ds_ckpt_tensor *t) {
    size_t n = (size_t)ds_ckpt_tensor_numel(t);
    float *v = malloc(n * sizeof *v + 1);
    if (v)
        to_f32(t, v, n);
    return v;
}

/* The BatchNorm tensors (gamma, beta, mean, var) after weight [, bias]. */
static const ds_ckpt_tensor *const *bn_raw(const conv_job *j) {
    return j->raw + (j->d->has_bias ? 2 : 1);
}

/* The row scale (layer scale) after weight, bias and BatchNorm (ds_raw_keys' order). */
static const ds_ckpt_tensor *row_scale_raw(const conv_job *j) {
    return j->raw[1 + (j->d->has_bias ? 1 : 0) + (j->d->bn ? 5 : 0)];
}

/* The factors that multiply the declaration's output channels: its
 * BatchNorm's or its row scale's, malloc'd; NULL (and *s == DS_OK) if it
 * has neither. */
static double *out_scales(const conv_job *j, ds_status *s) {
    const ds_param_decl *d = j->d;
    *s = DS_OK;
    if (!d->bn && !d->row_scale)
        return NULL;
    if (d->bn && d->row_scale) { /* the bias would need the scale after beta: no layer has both */
        *s = ds_fail(DS_ERR_INTERNAL, "%s: a BatchNorm and a row scale on one layer", d->name);
        return NULL;
    }
    const int64_t out_ch = ds_param_bias_len(d);
    float *gamma = d->bn ? vector_f32(bn_raw(j)[0]) : NULL, *var = d->bn ? vector_f32(bn_raw(j)[3]) : NULL;
    float *row = d->row_scale ? vector_f32(row_scale_raw(j)) : NULL;
    double *a = malloc((size_t)out_ch * sizeof *a + 1);
    if (a && (!d->bn || (gamma && var)) && (!d->row_scale || row)) {
        if (d->bn)
            ds_batchnorm_scales(out_ch, gamma, var, d->bn_eps, a);
        for (int64_t o = 0; row && o < out_ch; o++)
            a[o] = (double)row[o];
    } else {
        *s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
    }
    free(gamma);
    free(var);
    free(row);
    if (*s != DS_OK) {
        free(a);
        return NULL;
    }
    return a;
}

static int needs_permute(const ds_param_decl *d) {
    /* (A, B, kh, kw) -> (A, kh, kw, B): the same bytes when kh = kw = 1 or B = 1 */
    return (d->kind == DS_PARAM_CONV || d->kind == DS_PARAM_CONV_T) && d->ndim == 4 &&
           d->shape[2] * d->shape[3] > 1 && d->shape[1] > 1;
}

/* Raw weight -> f32 (widened, standardized) -> scaled and laid out -> stored
 * type; an f32 raw weight without standardization is read in place. Runs on
 * the writer's threads: all it changes is `dst` and its own buffers. */
static ds_status fill_weight(const conv_job *j, void *dst) {
    const ds_param_decl *d = j->d;
    int64_t out_ch = d->shape[0], per_out = 1;
    for (int i = 1; i < d->ndim; i++)
        per_out *= d->shape[i];
    size_t n = (size_t)(out_ch * per_out);
    int ws = d->kind == DS_PARAM_CONV && d->ws_eps > 0;
    int widen = j->raw[0]->dtype != DS_F32 || ws;
    float *wide = widen ? malloc(n * sizeof *wide) : NULL;
    float *out = j->as_f16 ? malloc(n * sizeof *out) : dst;
    ds_status s = DS_OK;
    double *scale = NULL;
    if ((widen && !wide) || !out)
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
    else
        scale = out_scales(j, &s);
    if (s == DS_OK) {
        if (widen) {
            to_f32(j->raw[0], wide, n);
            if (ws)
                ds_fold_weight_std(wide, out_ch, per_out, d->ws_eps);
        }
        const void *w = widen ? (const void *)wide : j->raw[0]->data;
        const int t_axis = d->kind == DS_PARAM_CONV_T; /* (I, O, kh, kw): BatchNorm scales O */
        if (needs_permute(d) || (scale && t_axis))
            ds_fold_channels_last(w, out, d->shape[0], d->shape[1], d->shape[2], d->shape[3],
                                  scale, t_axis);
        else
            ds_fold_rows(w, out, out_ch, per_out, scale);
        s = check_finite(j, out, n);
        uint16_t *h = dst;
        for (size_t i = 0; s == DS_OK && j->as_f16 && i < n; i++)
            h[i] = ds_f32_to_f16(out[i]);
    }
    free(scale);
    free(wide);
    if (out != dst)
        free(out);
    return s;
}

static ds_status fill_bias(const conv_job *j, float *bias) {
    const ds_param_decl *d = j->d;
    int64_t n = ds_param_bias_len(d);
    if (d->has_bias)
        to_f32(j->raw[1], bias, (size_t)n);
    else
        memset(bias, 0, (size_t)n * sizeof *bias);
    ds_status s;
    double *scale = out_scales(j, &s);
    if (!scale) /* nothing to fold, or out of memory */
        return s == DS_OK ? check_finite(j, bias, (size_t)n) : s;
    if (d->bn) {
        float *beta = vector_f32(bn_raw(j)[1]), *mean = vector_f32(bn_raw(j)[2]);
        if (beta && mean)
            ds_fold_batchnorm_bias(bias, n, scale, beta, mean);
        else
            s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory converting %s", d->name);
        free(beta);
        free(mean);
    } else { /* a row scale alone multiplies the bias too */
        for (int64_t o = 0; o < n; o++)
            bias[o] = (float)((double)bias[o] * scale[o]);
    }
    free(scale);
    return s == DS_OK ? check_finite(j, bias, (size_t)n) : s;
}

static ds_status fill_job(void *user, void *dst, size_t nbytes) {
    (void)nbytes; /* the writer checked it against the shape and dtype */
    const conv_job *j = user;
    return j->is_bias ? fill_bias(j, dst) : fill_weight(j, dst);
}

static ds_status add_job(conv_ctx *c, const ds_param_decl *d,
                         const ds_ckpt_tensor *const raw[DS_RAW_KEYS_MAX], int is_bias) {
    struct ds_conv_state *st = c->out->state;
    if (st->n_jobs == st->cap_jobs) {
        /* jobs are passed to the writer by address: sized once, never moved */
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "converting %s: more tensors than declared",
                       d->name);
    }
    conv_job *j = &st->jobs[st->n_jobs++];
    *j = (conv_job){.label = st->label, .d = d, .is_bias = is_bias};
    memcpy(j->raw, raw, sizeof j->raw);
    int ndim = 1;
    int64_t shape[4] = {ds_param_bias_len(d)};
    if (!is_bias) {
        ds_param_weight_shape(d, &ndim, shape);
        j->as_f16 = c->dtype == DS_WEIGHTS_F16 && ds_param_weight_may_be_f16(d);
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    ds_dtype dtype = j->as_f16 ? DS_F16 : DS_F32;
    c->out->n_params += n;
    c->out->n_tensors++;
    return ds_gguf_add_tensor_fill(c->out->writer, is_bias ? d->bias_name : d->weight_name, dtype,
                                   ndim, shape, (size_t)n * ds_dtype_size(dtype), fill_job, j);
}

/* Element i of a stored tensor of any numeric type, as a double. */
static double value_at(const ds_ckpt_tensor *t, size_t i) {
    const uint8_t *p = (const uint8_t *)t->data + i * ds_dtype_size(t->dtype);
    union {
        float f;
        double d;
        uint16_t h;
        int64_t i64;
        int32_t i32;
        int16_t i16;
    } u;
    memcpy(&u, p, ds_dtype_size(t->dtype));
    switch (t->dtype) {
    case DS_F32: return u.f;
    case DS_F16: return ds_f16_to_f32(u.h);
    case DS_BF16: return ds_bf16_to_f32(u.h);
    case DS_F64: return u.d;
    case DS_I64: return (double)u.i64;
    case DS_I32: return u.i32;
    case DS_I16: return u.i16;
    case DS_I8: return (int8_t)*p;
    default: return *p; /* u8, bool */
    }
}

/* A checkpoint's copy of a buffer the architecture computes must hold its values. */
static ds_status check_buffer(const conv_ctx *c, const ds_param_decl *d, const ds_ckpt_tensor *t) {
    const size_t n = (size_t)ds_ckpt_tensor_numel(t);
    for (size_t i = 0; d->expect && i < n; i++) {
        double v = value_at(t, i);
        if (v != (double)d->expect[i])
            return ds_fail(DS_ERR_MODEL, "%s: buffer '%s' holds %g at element %zu where %s computes %g",
                           c->label, d->name, v, i, c->arch_name, (double)d->expect[i]);
    }
    return DS_OK;
}

/* Checks a declaration's raw tensors and schedules what it writes. */
static ds_status convert_decl(conv_ctx *c, const ds_param_decl *d) {
    ds_raw_key keys[DS_RAW_KEYS_MAX];
    const ds_ckpt_tensor *raw[DS_RAW_KEYS_MAX] = {0};
    int nk = ds_raw_keys(d, keys);
    for (int k = 0; k < nk; k++)
        DS_TRY(take(c, &keys[k], d->unused || keys[k].optional, &raw[k]));
    if (d->kind == DS_PARAM_BUFFER && raw[0])
        DS_TRY(check_buffer(c, d, raw[0]));
    if (d->unused)
        return DS_OK;
    DS_TRY(add_job(c, d, raw, 0));
    return ds_param_bias_len(d) ? add_job(c, d, raw, 1) : DS_OK;
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
    DS_TRY(ds_gguf_set_str(w, "depthsolve.depth_quantity",
                           ds_depth_quantity_key(a->quantity)));
    if (a->quantity == DS_DEPTH_METRIC)
        DS_TRY(ds_gguf_set_f32(w, "depthsolve.max_depth", a->max_depth));
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
        DS_TRY(ds_gguf_set_str(w, "depthsolve.vit.readout", a->no_readout ? "ignore" : "project"));
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

static ds_status make_state(ds_arch arch, struct ds_conv_state **out) {
    struct ds_conv_state *st = calloc(1, sizeof *st);
    if (!st)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    *out = st;
    DS_TRY(ds_arch_plan_make(arch, &st->plan));
    st->cap_jobs = 2 * st->plan.n_decls; /* a weight and a bias each at most */
    st->jobs = calloc(st->cap_jobs + 1, sizeof *st->jobs);
    return st->jobs ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
}

ds_status ds_convert_ckpt(ds_ckpt *ck, const char *label, const char *source,
                          const ds_convert_params *p, ds_converted *out) {
    memset(out, 0, sizeof *out);
    ds_convert_params defaults = ds_convert_default_params();
    if (!p)
        p = &defaults;
    const char *layout;
    DS_TRY(ds_ckpt_to_official(ck, label, &layout));
    ds_arch arch = p->arch;
    if (arch == DS_ARCH_UNKNOWN)
        DS_TRY(ds_detect_arch(ck, label, &arch));
    const ds_arch_info *info = ds_arch_get(arch);
    if (!info)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown architecture id %d", (int)arch);
    conv_ctx c = {.ck = ck, .label = label, .arch_name = info->name, .dtype = p->dtype, .out = out};
    ds_ckpt_view_init(&c.view, ck);
    out->arch = arch;
    ds_status s = make_state(arch, &out->state);
    if (s == DS_OK && !(out->state->label = strdup(label ? label : "checkpoint")))
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    c.consumed = calloc(ck->n_tensors + 1, sizeof *c.consumed);
    if (s == DS_OK && !c.consumed)
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == DS_OK)
        s = ds_gguf_writer_create(&out->writer);
    if (s == DS_OK)
        s = write_metadata(out->writer, info, ck, source, p->dtype);
    if (s == DS_OK && layout)
        s = ds_gguf_set_str(out->writer, "depthsolve.source_layout", layout);
    if (s == DS_OK)
        s = convert_all(&c, &out->state->plan);
    free(c.consumed);
    if (s != DS_OK)
        ds_converted_free(out);
    return s;
}

void ds_converted_free(ds_converted *c) {
    if (!c)
        return;
    ds_gguf_writer_free(c->writer);
    if (c->state) {
        ds_arch_plan_free(&c->state->plan);
        free(c->state->jobs);
        free(c->state->label);
        free(c->state);
    }
    memset(c, 0, sizeof *c);
}
