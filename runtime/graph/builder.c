/* builder.c: graph construction with shape inference and parameter binding. */
#include "graph/builder.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bicubic.h" /* ds_bicubic_factor_scale */
#include "base/error.h" /* ds_fail */

void ds_builder_init(ds_builder *b, ds_graph *g, const ds_param_binder *binder) {
    memset(g, 0, sizeof *g);
    g->input = g->output = -1;
    b->g = g;
    b->binder = binder;
    b->status = DS_OK;
}

ds_status ds_b_error(ds_builder *b, ds_status status, const char *fmt, ...) {
    if (b->status != DS_OK)
        return b->status; /* keep the first error */
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->status = ds_fail(status, "%s", msg);
    return b->status;
}

static int grow(void **items, int *cap, int need, size_t size) {
    if (need <= *cap)
        return 1;
    int cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*items, (size_t)cap2 * size);
    if (!p)
        return 0;
    *items = p;
    *cap = cap2;
    return 1;
}

const char *ds_b_name(ds_builder *b, const char *fmt, ...) {
    if (b->status != DS_OK)
        return "";
    ds_graph *g = b->g;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s || !grow((void **)&g->strings, &g->cap_strings, g->n_strings + 1, sizeof *g->strings)) {
        free(s);
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return "";
    }
    g->strings[g->n_strings++] = s;
    return s;
}

/* A zeroed, 64-byte aligned tensor of `ndim` dims the graph owns (ds_b_constant). */
static void *constant(ds_builder *b, ds_tensor_ref *out, const char *name, ds_dtype dtype, int ndim,
                      const int64_t *shape) {
    memset(out, 0, sizeof *out);
    if (b->status != DS_OK)
        return NULL;
    ds_graph *g = b->g;
    const int64_t n = ndim >= 1 && ndim <= 4 ? ds_shape_numel_n(shape, ndim) : -1;
    if (n < 0 || (uint64_t)n > (SIZE_MAX - 128) / ds_dtype_size(dtype)) {
        ds_b_error(b, DS_ERR_INTERNAL, "constant %s: bad shape", name);
        return NULL;
    }
    const size_t bytes = ((size_t)n * ds_dtype_size(dtype) + 63) / 64 * 64 + 64;
    void *data = aligned_alloc(64, bytes);
    if (!data || !grow((void **)&g->constants, &g->cap_constants, g->n_constants + 1, sizeof *g->constants)) {
        free(data);
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory for the constant %s (%zu MiB)", name, bytes >> 20);
        return NULL;
    }
    memset(data, 0, bytes);
    g->constants[g->n_constants++] = data;
    out->name = name;
    out->dtype = dtype;
    out->ndim = ndim;
    memcpy(out->shape, shape, (size_t)ndim * sizeof *shape);
    out->data = data;
    out->graph_owned = true;
    return data;
}

float *ds_b_constant(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape) {
    return constant(b, out, name, DS_F32, ndim, shape);
}

int32_t *ds_b_constant_i32(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape) {
    return constant(b, out, name, DS_I32, ndim, shape);
}

const int64_t *ds_b_shape(const ds_builder *b, ds_val v) { return b->g->nodes[v].shape; }

static int live(ds_builder *b, ds_val v) {
    return b->status == DS_OK && v >= 0 && v < b->g->n_nodes;
}

static ds_node *new_node(ds_builder *b, ds_op op, const char *name, ds_val in0, ds_val in1) {
    ds_graph *g = b->g;
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) {
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return NULL;
    }
    ds_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = name ? name : ds_op_name(op);
    n->in[0] = in0;
    n->in[1] = in1;
    return n;
}

static ds_val index_of(ds_builder *b, const ds_node *n) { return (ds_val)(n - b->g->nodes); }

static void set_shape(ds_node *n, int64_t N, int64_t h, int64_t w, int64_t c) {
    n->shape[0] = N;
    n->shape[1] = h;
    n->shape[2] = w;
    n->shape[3] = c;
}

static int same_shape(const int64_t *a, const int64_t *c) {
    return a[0] == c[0] && a[1] == c[1] && a[2] == c[2] && a[3] == c[3];
}

/* Declares a layer's parameters and receives the tensors the graph uses
 * (*w and *bias zeroed first). */
static void bind_refs(ds_builder *b, ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *bias) {
    memset(w, 0, sizeof *w);
    memset(bias, 0, sizeof *bias);
    if (b->status != DS_OK)
        return;
    const int whole = d->kind == DS_PARAM_TENSOR || d->kind == DS_PARAM_BUFFER;
    d->weight_name = whole ? d->name : ds_b_name(b, "%s.weight", d->name);
    d->bias_name = (d->has_bias || d->bn) ? ds_b_name(b, "%s.bias", d->name) : NULL;
    if (b->status != DS_OK)
        return;
    ds_status s = b->binder->bind(b->binder->ctx, d, w, bias);
    if (s != DS_OK)
        b->status = s;
}

static void bind(ds_builder *b, ds_param_decl *d, ds_node *n) {
    ds_tensor_ref w, bias;
    bind_refs(b, d, &w, &bias);
    if (n && b->status == DS_OK) {
        n->w[0] = w;
        n->w[1] = bias;
    }
}

/* Binds the parameters of node n, just added; its value, or -1 on error. */
static ds_val bind_node(ds_builder *b, ds_param_decl *d, ds_node *n) {
    ds_val v = index_of(b, n);
    bind(b, d, &b->g->nodes[v]);
    return b->status == DS_OK ? v : -1;
}

static void decl4(ds_param_decl *d, ds_param_kind kind, const char *name, int64_t s0,
                  int64_t s1, int64_t s2, int64_t s3) {
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->name = name;
    d->ndim = 4;
    d->shape[0] = s0;
    d->shape[1] = s1;
    d->shape[2] = s2;
    d->shape[3] = s3;
}

ds_val ds_b_input(ds_builder *b, int h, int w) {
    if (b->status != DS_OK)
        return -1;
    ds_node *n = new_node(b, DS_OP_INPUT, "input", -1, -1);
    if (!n)
        return -1;
    set_shape(n, 1, h, w, 3);
    b->g->input = index_of(b, n);
    return b->g->input;
}

/* TensorFlow "SAME": total = max((ceil(i/s)-1)*s + (k-1)*d + 1 - i, 0), half before. */
static void same_padding(int64_t in, int k, int s, int d, int *before, int *after) {
    int64_t out = (in + s - 1) / s;
    int64_t total = (out - 1) * s + (int64_t)(k - 1) * d + 1 - in;
    if (total < 0)
        total = 0;
    *before = (int)(total / 2);
    *after = (int)(total - total / 2);
}

ds_val ds_b_conv(ds_builder *b, ds_val x, const ds_conv_spec *s, ds_val residual) {
    if (!live(b, x) || (residual != -1 && !live(b, residual)))
        return -1;
    int64_t in[4]; /* a copy: new_node() may move the node table */
    memcpy(in, ds_b_shape(b, x), sizeof in);
    int64_t cin = in[3];
    int groups = s->depthwise ? (int)cin : (s->groups > 1 ? s->groups : 1);
    int dil = s->dilation > 1 ? s->dilation : 1;
    if (cin % groups || s->out % groups) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: %lld -> %d channels do not split into %d groups",
                   s->name, (long long)cin, s->out, groups);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_CONV2D, s->name, x, residual);
    if (!n)
        return -1;
    ds_conv_attr *a = &n->a.conv;
    a->kh = a->kw = s->k;
    a->stride_h = a->stride_w = s->stride;
    a->dil_h = a->dil_w = dil;
    a->groups = groups;
    a->in_act = s->in_act;
    a->res_act = s->res_act;
    a->act = s->act;
    if (s->same) {
        same_padding(in[1], s->k, s->stride, dil, &a->pad_t, &a->pad_b);
        same_padding(in[2], s->k, s->stride, dil, &a->pad_l, &a->pad_r);
    } else {
        a->pad_t = a->pad_b = a->pad_l = a->pad_r = s->pad;
    }
    int64_t oh = ds_window_out(in[1], a->pad_t, a->pad_b, s->k, s->stride, dil);
    int64_t ow = ds_window_out(in[2], a->pad_l, a->pad_r, s->k, s->stride, dil);
    if (oh < 1 || ow < 1) {
        ds_b_error(b, DS_ERR_SHAPE, "%s: a %lldx%lld input is too small for a %dx%d kernel",
                   s->name, (long long)in[1], (long long)in[2], s->k, s->k);
        return -1;
    }
    set_shape(n, in[0], oh, ow, s->out);
    if (residual != -1 && !same_shape(n->shape, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs from the output", s->name);
        return -1;
    }
    ds_param_decl d;
    decl4(&d, DS_PARAM_CONV, s->name, s->out, cin / groups, s->k, s->k);
    d.has_bias = s->bias;
    d.bn = s->bn;
    d.bn_eps = s->bn_eps;
    d.ws_eps = s->ws_eps;
    return bind_node(b, &d, n);
}

ds_val ds_b_conv_transpose(ds_builder *b, ds_val x, const char *name, int out, int k) {
    ds_conv_spec s = {.name = name, .out = out, .k = k, .stride = k, .bias = true};
    return ds_b_conv_transpose2d(b, x, &s);
}

ds_val ds_b_conv_transpose2d(ds_builder *b, ds_val x, const ds_conv_spec *s) {
    if (!live(b, x))
        return -1;
    int64_t in[4]; /* a copy: new_node() may move the node table */
    memcpy(in, ds_b_shape(b, x), sizeof in);
    const int dil = s->dilation > 1 ? s->dilation : 1;
    if (s->k < 1 || s->stride < 1 || s->pad < 0 || s->output_padding < 0 ||
        s->output_padding >= (s->stride > dil ? s->stride : dil)) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: kernel %d, stride %d, padding %d, output_padding %d", s->name, s->k,
                   s->stride, s->pad, s->output_padding);
        return -1;
    }
    const int64_t oh = ds_transpose_out(in[1], s->pad, s->pad, s->k, s->stride, dil) + s->output_padding;
    const int64_t ow = ds_transpose_out(in[2], s->pad, s->pad, s->k, s->stride, dil) + s->output_padding;
    if (oh < 1 || ow < 1) {
        ds_b_error(b, DS_ERR_SHAPE, "%s: a %lldx%lld input gives no output", s->name, (long long)in[1],
                   (long long)in[2]);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_CONV_TRANSPOSE, s->name, x, -1);
    if (!n)
        return -1;
    ds_conv_attr *a = &n->a.conv;
    a->kh = a->kw = s->k;
    a->stride_h = a->stride_w = s->stride;
    a->dil_h = a->dil_w = dil;
    a->pad_t = a->pad_b = a->pad_l = a->pad_r = s->pad;
    a->groups = 1;
    a->act = s->act;
    set_shape(n, in[0], oh, ow, s->out);
    ds_param_decl d;
    decl4(&d, DS_PARAM_CONV_T, s->name, in[3], s->out, s->k, s->k);
    d.has_bias = s->bias;
    d.bn = s->bn;
    d.bn_eps = s->bn_eps;
    return bind_node(b, &d, n);
}

ds_val ds_b_maxpool(ds_builder *b, ds_val x, int k, int stride, int pad, bool same) {
    if (!live(b, x))
        return -1;
    const int64_t *in = ds_b_shape(b, x);
    int64_t in_n = in[0], in_h = in[1], in_w = in[2], in_c = in[3];
    ds_node *n = new_node(b, DS_OP_MAXPOOL, "maxpool", x, -1);
    if (!n)
        return -1;
    ds_pool_attr *a = &n->a.pool;
    a->kh = a->kw = k;
    a->stride_h = a->stride_w = stride;
    if (same) {
        same_padding(in_h, k, stride, 1, &a->pad_t, &a->pad_b);
        same_padding(in_w, k, stride, 1, &a->pad_l, &a->pad_r);
    } else {
        a->pad_t = a->pad_b = a->pad_l = a->pad_r = pad;
    }
    int64_t oh = ds_window_out(in_h, a->pad_t, a->pad_b, k, stride, 1);
    int64_t ow = ds_window_out(in_w, a->pad_l, a->pad_r, k, stride, 1);
    if (oh < 1 || ow < 1) {
        ds_b_error(b, DS_ERR_SHAPE, "maxpool: a %lldx%lld input is too small", (long long)in_h,
                   (long long)in_w);
        return -1;
    }
    set_shape(n, in_n, oh, ow, in_c);
    return index_of(b, n);
}

ds_val ds_b_resize(ds_builder *b, ds_val x, int h, int w, bool align_corners) {
    if (!live(b, x))
        return -1;
    const int64_t *in = ds_b_shape(b, x);
    int64_t in_n = in[0], in_c = in[3];
    ds_node *n = new_node(b, DS_OP_RESIZE, "resize", x, -1);
    if (!n)
        return -1;
    n->a.resize.align_corners = align_corners;
    set_shape(n, in_n, h, w, in_c);
    return index_of(b, n);
}

ds_val ds_b_add(ds_builder *b, ds_val x, ds_val y, ds_act act) {
    if (!live(b, x) || !live(b, y))
        return -1;
    if (!same_shape(ds_b_shape(b, x), ds_b_shape(b, y))) {
        ds_b_error(b, DS_ERR_INTERNAL, "add: operand shapes differ (%s, %s)",
                   b->g->nodes[x].name, b->g->nodes[y].name);
        return -1;
    }
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = new_node(b, DS_OP_ADD, "add", x, y);
    if (!n)
        return -1;
    n->a.act = act;
    memcpy(n->shape, s, sizeof s);
    return index_of(b, n);
}

/* An elementwise node `op` on x: the output has x's shape. */
static ds_node *elementwise_node(ds_builder *b, ds_val x, ds_op op, const char *name) {
    if (!live(b, x))
        return NULL;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s); /* new_node may move the nodes */
    ds_node *n = new_node(b, op, name, x, -1);
    if (n)
        memcpy(n->shape, s, sizeof s);
    return n;
}

ds_val ds_b_act(ds_builder *b, ds_val x, ds_act act) {
    ds_node *n = elementwise_node(b, x, DS_OP_ACT, ds_act_name(act));
    if (!n)
        return -1;
    n->a.act = act;
    return index_of(b, n);
}

static void decl_norm(ds_param_decl *d, const char *name, int64_t c) {
    memset(d, 0, sizeof *d);
    d->kind = DS_PARAM_NORM;
    d->name = name;
    d->ndim = 1;
    d->shape[0] = c;
    d->has_bias = true;
}

ds_val ds_b_groupnorm(ds_builder *b, ds_val x, const char *name, int groups, float eps,
                      ds_val residual, ds_act act) {
    if (!live(b, x) || (residual != -1 && !live(b, residual)))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (groups < 1 || s[3] % groups) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: %lld channels do not split into %d groups", name,
                   (long long)s[3], groups);
        return -1;
    }
    if (residual != -1 && !same_shape(s, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs", name);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_GROUPNORM, name, x, residual);
    if (!n)
        return -1;
    n->a.norm.groups = groups;
    n->a.norm.eps = eps;
    n->a.norm.act = act;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    decl_norm(&d, name, s[3]);
    return bind_node(b, &d, n);
}

ds_val ds_b_layernorm(ds_builder *b, ds_val x, const char *name, float eps) {
    if (!live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = new_node(b, DS_OP_LAYERNORM, name, x, -1);
    if (!n)
        return -1;
    n->a.norm.groups = 1;
    n->a.norm.eps = eps;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    decl_norm(&d, name, s[3]);
    return bind_node(b, &d, n);
}

/* A linear layer: with <name>.bias (has_bias), without one, or without one
 * and with the BatchNorm bn folded (bn != NULL); its output rows times the
 * tensor row_scale (layer scale) when that is not NULL. */
static ds_node *linear_node(ds_builder *b, ds_val x, const char *name, int out, bool has_bias,
                            const char *bn, float bn_eps, ds_act act, ds_val residual, const char *row_scale) {
    if (!live(b, x) || (residual != -1 && !live(b, residual)))
        return NULL;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    int64_t cin = s[3];
    s[3] = out;
    if (residual != -1 && !same_shape(s, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs", name);
        return NULL;
    }
    ds_node *n = new_node(b, DS_OP_LINEAR, name, x, residual);
    if (!n)
        return NULL;
    n->a.linear.act = act;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    memset(&d, 0, sizeof d);
    d.kind = DS_PARAM_LINEAR;
    d.name = name;
    d.ndim = 2;
    d.shape[0] = out;
    d.shape[1] = cin;
    d.has_bias = has_bias && bn == NULL;
    d.bn = bn;
    d.bn_eps = bn_eps;
    d.row_scale = row_scale;
    ds_val v = bind_node(b, &d, n);
    return v < 0 ? NULL : &b->g->nodes[v];
}

ds_val ds_b_linear_bias(ds_builder *b, ds_val x, const char *name, int out, const ds_tensor_ref *bias,
                        ds_act act, ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, false, NULL, 0.0f, act, residual, NULL);
    if (!n)
        return -1;
    if (bias) {
        if (bias->ndim != 1 || bias->shape[0] != out) {
            ds_b_error(b, DS_ERR_INTERNAL, "%s: the bias is not %d long", name, out);
            return -1;
        }
        n->w[1] = *bias;
    }
    return index_of(b, n);
}

ds_val ds_b_linear(ds_builder *b, ds_val x, const char *name, int out, ds_act act,
                   ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, true, NULL, 0.0f, act, residual, NULL);
    return n ? index_of(b, n) : -1;
}

ds_val ds_b_linear_bn(ds_builder *b, ds_val x, const char *name, const char *bn, float bn_eps, int out,
                      ds_act act, ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, false, bn, bn_eps, act, residual, NULL);
    return n ? index_of(b, n) : -1;
}

ds_val ds_b_levit_attention(ds_builder *b, ds_val kv, ds_val q, int heads, int key_dim, int val_dim,
                            const ds_tensor_ref *bias, ds_act act) {
    if (!live(b, kv) || (q != -1 && !live(b, q)))
        return -1;
    int64_t s[4]; /* (N, 1, Tk, heads * (2 kd + vd)) or (N, 1, Tk, heads * (kd + vd)) */
    memcpy(s, ds_b_shape(b, kv), sizeof s);
    const int64_t per_head = q == -1 ? 2 * (int64_t)key_dim + val_dim : (int64_t)key_dim + val_dim;
    const int64_t tq = q == -1 ? s[2] : ds_b_shape(b, q)[2];
    if (heads < 1 || key_dim < 1 || val_dim < 1 || s[1] != 1 || s[3] != heads * per_head ||
        (q != -1 && (ds_b_shape(b, q)[0] != s[0] || ds_b_shape(b, q)[1] != 1 ||
                     ds_b_shape(b, q)[3] != (int64_t)heads * key_dim))) {
        ds_b_error(b, DS_ERR_INTERNAL, "levit attention: %lld channels are not %d heads of %lld", (long long)s[3],
                   heads, (long long)per_head);
        return -1;
    }
    if (bias && bias->name && (bias->ndim != 3 || bias->shape[0] != heads || bias->shape[1] != tq ||
                               bias->shape[2] != s[2])) {
        ds_b_error(b, DS_ERR_INTERNAL, "levit attention: the bias %s is not %d x %lld x %lld", bias->name, heads,
                   (long long)tq, (long long)s[2]);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_LEVIT_ATTENTION, "levit_attention", kv, q);
    if (!n)
        return -1;
    n->a.levit.heads = heads;
    n->a.levit.key_dim = key_dim;
    n->a.levit.val_dim = val_dim;
    n->a.levit.keys = (int)s[2];
    n->a.levit.scale = (float)(1.0 / sqrt((double)key_dim));
    n->a.levit.act = act;
    set_shape(n, s[0], 1, tq, (int64_t)heads * val_dim);
    if (bias && bias->name)
        n->w[0] = *bias;
    return index_of(b, n);
}

ds_val ds_b_linear_scaled(ds_builder *b, ds_val x, const char *name, int out, const char *scale,
                          ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, true, NULL, 0.0f, DS_ACT_NONE, residual, scale);
    return n ? index_of(b, n) : -1;
}

ds_val ds_b_attention(ds_builder *b, ds_val qkv, int heads) {
    return ds_b_attention_bias(b, qkv, heads, NULL, NULL);
}

/* Whether the bias (and index) fit graph.h's DS_OP_ATTENTION for T tokens
 * and `heads`; an index's entries are checked when it has data. */
static int attention_bias_ok(ds_builder *b, int64_t T, int heads, const ds_tensor_ref *bias,
                             const ds_tensor_ref *index) {
    const char *name = bias->name ? bias->name : "attention bias";
    const uint64_t per_head = index ? (uint64_t)(bias->ndim == 2 ? bias->shape[1] : 0) : (uint64_t)T * (uint64_t)T;
    if ((uint64_t)T * (uint64_t)T > INT32_MAX || per_head * (uint64_t)heads > INT32_MAX) {
        ds_b_error(b, DS_ERR_SHAPE, "%s: %lld tokens of %d heads are too many for an attention bias "
                   "(2^31 entries at most)", name, (long long)T, heads);
        return 0;
    }
    if (bias->dtype != DS_F32 || (index && (index->dtype != DS_I32 || index->ndim != 2 ||
                                            index->shape[0] != T || index->shape[1] != T))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: not a float32 bias with an int32 (%lld, %lld) index",
                   name, (long long)T, (long long)T);
        return 0;
    }
    if (index ? bias->ndim != 2 || bias->shape[0] != heads || bias->shape[1] < 1
              : bias->ndim != 3 || bias->shape[0] != heads || bias->shape[1] != T || bias->shape[2] != T) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: shape is not (%d, %s) for %lld tokens", name, heads,
                   index ? "R" : "T, T", (long long)T);
        return 0;
    }
    const int32_t *idx = index ? index->data : NULL;
    for (int64_t i = 0; idx && i < T * T; i++)
        if (idx[i] < 0 || idx[i] >= bias->shape[1]) {
            ds_b_error(b, DS_ERR_INTERNAL, "%s: index %d at %lld is outside the table's %lld entries",
                       index->name, idx[i], (long long)i, (long long)bias->shape[1]);
            return 0;
        }
    return 1;
}

ds_val ds_b_attention_bias(ds_builder *b, ds_val qkv, int heads, const ds_tensor_ref *bias,
                           const ds_tensor_ref *index) {
    if (!live(b, qkv))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, qkv), sizeof s);
    if (heads < 1 || s[1] != 1 || s[3] % 3 || (s[3] / 3) % heads) {
        ds_b_error(b, DS_ERR_INTERNAL, "attention: %lld channels are not 3 x %d heads",
                   (long long)s[3], heads);
        return -1;
    }
    if (index && !bias) {
        ds_b_error(b, DS_ERR_INTERNAL, "attention: an index without a bias");
        return -1;
    }
    if (bias && !attention_bias_ok(b, s[2], heads, bias, index))
        return -1;
    ds_node *n = new_node(b, DS_OP_ATTENTION, "attention", qkv, -1);
    if (!n)
        return -1;
    s[3] /= 3;
    n->a.attn.heads = heads;
    n->a.attn.scale = (float)(1.0 / sqrt((double)(s[3] / heads)));
    memcpy(n->shape, s, sizeof s);
    if (bias)
        n->w[0] = *bias;
    if (index)
        n->w[2] = *index;
    return index_of(b, n);
}

ds_val ds_b_window_attention(ds_builder *b, ds_val qkv, const ds_window_attr *a, const ds_tensor_ref *table,
                             const ds_tensor_ref *labels, const ds_tensor_ref *head_scale) {
    if (!live(b, qkv))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, qkv), sizeof s);
    const int64_t table_shape[3] = {a->heads, 2 * a->win_h - 1, 2 * a->win_w - 1};
    int bad = a->heads < 1 || s[3] % 3 || (s[3] / 3) % a->heads || a->win_h < 1 || a->win_w < 1 ||
              a->shift_h < 0 || a->shift_w < 0 || a->shift_h >= a->win_h || a->shift_w >= a->win_w;
    if (!bad && table)
        bad = table->ndim != 3 || memcmp(table->shape, table_shape, sizeof table_shape);
    if (!bad && labels)
        bad = labels->ndim != 2 || labels->shape[0] != s[1] || labels->shape[1] != s[2];
    if (!bad && head_scale)
        bad = head_scale->ndim != 1 || head_scale->shape[0] != a->heads;
    if (bad) {
        ds_b_error(b, DS_ERR_INTERNAL,
                   "window attention: %lldx%lld map of %lld channels, %d heads, window %dx%d, shift %d,%d, "
                   "or its constants, do not fit", (long long)s[1], (long long)s[2], (long long)s[3],
                   a->heads, a->win_h, a->win_w, a->shift_h, a->shift_w);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_WINDOW_ATTENTION, "window_attention", qkv, -1);
    if (!n)
        return -1;
    s[3] /= 3;
    n->a.win = *a;
    memcpy(n->shape, s, sizeof s);
    if (table)
        n->w[0] = *table;
    if (labels)
        n->w[1] = *labels;
    if (head_scale)
        n->w[2] = *head_scale;
    return index_of(b, n);
}

ds_val ds_b_patch_merge(ds_builder *b, ds_val x) {
    if (!live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = new_node(b, DS_OP_PATCH_MERGE, "patch_merge", x, -1);
    if (!n)
        return -1;
    set_shape(n, s[0], (s[1] + 1) / 2, (s[2] + 1) / 2, 4 * s[3]);
    return index_of(b, n);
}

static void decl_tensor(ds_param_decl *d, const char *name, int ndim, int64_t s0, int64_t s1,
                        int64_t s2) {
    memset(d, 0, sizeof *d);
    d->kind = DS_PARAM_TENSOR;
    d->name = name;
    d->ndim = ndim;
    d->shape[0] = s0;
    d->shape[1] = s1;
    d->shape[2] = s2;
}

/* A position embedding node (op POS_EMBED or POS_EMBED_BICUBIC) of the tensor
 * <name> (1, 1 + grid^2, C) at a gh x gw grid, bound; scale_h, scale_w for the
 * bicubic one. */
static ds_val pos_embed(ds_builder *b, ds_op op, const char *name, int grid, int channels, int gh, int gw,
                        float scale_h, float scale_w) {
    if (b->status != DS_OK)
        return -1;
    ds_node *n = new_node(b, op, name, -1, -1);
    if (!n)
        return -1;
    n->a.pos = (ds_pos_attr){.grid = grid, .gh = gh, .gw = gw, .scale_h = scale_h, .scale_w = scale_w};
    set_shape(n, 1, 1, 1 + (int64_t)gh * gw, channels);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, 1 + (int64_t)grid * grid, channels);
    return bind_node(b, &d, n);
}

ds_val ds_b_pos_embed(ds_builder *b, const char *name, int grid, int channels, int gh, int gw) {
    return pos_embed(b, DS_OP_POS_EMBED, name, grid, channels, gh, gw, 0.0f, 0.0f);
}

ds_val ds_b_pos_embed_bicubic(ds_builder *b, const char *name, int grid, int channels, int gh, int gw,
                              double offset) {
    /* DINOv2 returns the embedding as stored for the square trained grid; a
     * scale of 1 is that, exactly (weights 0, 1, 0, 0) */
    const bool same = gh == grid && gw == grid;
    return pos_embed(b, DS_OP_POS_EMBED_BICUBIC, name, grid, channels, gh, gw,
                     same ? 1.0f : ds_bicubic_factor_scale((gh + offset) / grid),
                     same ? 1.0f : ds_bicubic_factor_scale((gw + offset) / grid));
}

/* Whether x is a sequence (N, 1, 1 + gh*gw, C) of a class token and a gh x gw
 * grid of patches; its shape into s. */
static int token_grid(ds_builder *b, ds_val x, int gh, int gw, const char *what, int64_t s[4]) {
    if (!live(b, x))
        return 0;
    memcpy(s, ds_b_shape(b, x), 4 * sizeof *s);
    if (s[1] != 1 || s[2] != 1 + (int64_t)gh * gw) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: %lld tokens are not 1 + %d x %d", what, (long long)s[2], gh, gw);
        return 0;
    }
    return 1;
}

ds_val ds_b_drop_token(ds_builder *b, ds_val x, int gh, int gw) {
    int64_t s[4];
    if (!token_grid(b, x, gh, gw, "drop_token", s))
        return -1;
    ds_node *n = new_node(b, DS_OP_DROP_TOKEN, "drop_token", x, -1);
    if (!n)
        return -1;
    set_shape(n, s[0], gh, gw, s[3]);
    return index_of(b, n);
}

ds_val ds_b_scale(ds_builder *b, ds_val x, float scale) {
    ds_node *n = elementwise_node(b, x, DS_OP_SCALE, "scale");
    if (!n)
        return -1;
    n->a.scale = scale;
    return index_of(b, n);
}

ds_val ds_b_prepend_token(ds_builder *b, ds_val x, const char *name) {
    if (!live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (s[1] != 1) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: expects a token sequence (N, 1, T, C)", name);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_PREPEND_TOKEN, name, x, -1);
    if (!n)
        return -1;
    set_shape(n, s[0], 1, s[2] + 1, s[3]);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, 1, s[3]);
    return bind_node(b, &d, n);
}

ds_val ds_b_readout_cat(ds_builder *b, ds_val x, int gh, int gw) {
    int64_t s[4];
    if (!token_grid(b, x, gh, gw, "readout", s))
        return -1;
    ds_node *n = new_node(b, DS_OP_READOUT_CAT, "readout_cat", x, -1);
    if (!n)
        return -1;
    set_shape(n, s[0], gh, gw, 2 * s[3]);
    return index_of(b, n);
}

ds_val ds_b_reshape(ds_builder *b, ds_val x, int64_t N, int64_t h, int64_t w, int64_t c) {
    if (!live(b, x))
        return -1;
    int64_t s[4] = {N, h, w, c};
    if (ds_shape_numel(s) != ds_shape_numel(ds_b_shape(b, x))) {
        ds_b_error(b, DS_ERR_INTERNAL, "reshape of %s changes the element count",
                   b->g->nodes[x].name);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_RESHAPE, "reshape", x, -1);
    if (!n)
        return -1;
    memcpy(n->shape, s, sizeof s);
    return index_of(b, n);
}

/* A declaration of `kind` for <name>, of the given PyTorch shape. */
static ds_param_decl decl_of(ds_param_kind kind, const char *name, int ndim, const int64_t *shape, bool has_bias) {
    ds_param_decl d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.name = name;
    d.ndim = ndim;
    for (int i = 0; i < ndim && i < 4; i++)
        d.shape[i] = shape[i];
    d.has_bias = has_bias;
    return d;
}

const ds_tensor_ref *ds_b_qkv_bias(ds_builder *b, const char *attn, int dim, ds_tensor_ref *out) {
    const int64_t shape[1] = {dim}, full[1] = {3 * (int64_t)dim};
    ds_tensor_ref q, v;
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.q_bias", attn), 1, shape, false, &q, NULL);
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.v_bias", attn), 1, shape, false, &v, NULL);
    float *bias = ds_b_constant(b, out, ds_b_name(b, "%s.qkv.bias", attn), 1, full);
    if (!bias)
        return NULL;
    for (int c = 0; q.data && v.data && c < dim; c++) {
        bias[c] = ((const float *)q.data)[c];
        bias[2 * dim + c] = ((const float *)v.data)[c];
    }
    return out;
}

void ds_b_param(ds_builder *b, ds_param_kind kind, const char *name, int ndim, const int64_t *shape,
                bool has_bias, ds_tensor_ref *w, ds_tensor_ref *bias) {
    ds_param_decl d = decl_of(kind, name, ndim, shape, has_bias);
    ds_tensor_ref unused_bias;
    bind_refs(b, &d, w, bias ? bias : &unused_bias);
}

bool ds_b_lists_params(const ds_builder *b) { return b->binder->declare_unused; }

void ds_b_buffer(ds_builder *b, const char *name, int ndim, const int64_t *shape, bool is_int64,
                 const float *expect) {
    if (b->status != DS_OK || !ds_b_lists_params(b))
        return;
    ds_param_decl d = decl_of(DS_PARAM_BUFFER, name, ndim, shape, false);
    d.unused = true;
    d.expect = expect;
    d.is_int64 = is_int64;
    bind(b, &d, NULL);
}

void ds_b_unused(ds_builder *b, ds_param_kind kind, const char *name, int ndim,
                 const int64_t *shape, bool has_bias) {
    if (b->status != DS_OK || !b->binder->declare_unused)
        return;
    ds_param_decl d = decl_of(kind, name, ndim, shape, has_bias);
    d.unused = true;
    bind(b, &d, NULL);
}

void ds_b_mark(ds_builder *b, const char *stage_name, ds_val v) {
    if (!live(b, v))
        return;
    ds_graph *g = b->g;
    if (!grow((void **)&g->marks, &g->cap_marks, g->n_marks + 1, sizeof *g->marks)) {
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return;
    }
    g->marks[g->n_marks].name = stage_name;
    g->marks[g->n_marks].node = v;
    g->marks[g->n_marks].output = false;
    g->n_marks++;
}

void ds_b_output(ds_builder *b, ds_val v) {
    if (live(b, v))
        b->g->output = v;
}

/* ---- Depth Anything 3 ---- */

ds_val ds_b_qk_rope(ds_builder *b, ds_val qkv, const ds_rope_attr *attr, const char *q_norm, const char *k_norm) {
    if (!live(b, qkv))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, qkv), sizeof s);
    const int64_t c = s[3] / 3;
    if (s[1] != 1 || s[3] % 3 || attr->heads < 1 || c % attr->heads || (c / attr->heads) % 4 ||
        s[2] != 1 + (int64_t)attr->gh * attr->gw) {
        ds_b_error(b, DS_ERR_INTERNAL, "qk_rope: %lld tokens of %lld channels do not fit %d heads on %dx%d patches",
                   (long long)s[2], (long long)s[3], attr->heads, attr->gh, attr->gw);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_QK_ROPE, q_norm ? q_norm : "rope", qkv, -1);
    if (!n)
        return -1;
    n->a.rope = *attr;
    memcpy(n->shape, s, sizeof s);
    ds_val v = index_of(b, n);
    if (!q_norm || !k_norm)
        return v;
    ds_param_decl d;
    decl_norm(&d, q_norm, c / attr->heads);
    bind(b, &d, &b->g->nodes[v]);
    ds_node k = {0};
    decl_norm(&d, k_norm, c / attr->heads);
    bind(b, &d, &k);
    b->g->nodes[v].w[2] = k.w[0];
    b->g->nodes[v].w[3] = k.w[1];
    return b->status == DS_OK ? v : -1;
}

ds_val ds_b_concat(ds_builder *b, ds_val x, ds_val y) {
    if (!live(b, x) || !live(b, y))
        return -1;
    int64_t s[4], t[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    memcpy(t, ds_b_shape(b, y), sizeof t);
    if (s[0] != t[0] || s[1] != t[1] || s[2] != t[2]) {
        ds_b_error(b, DS_ERR_INTERNAL, "concat: %s and %s differ in more than channels", b->g->nodes[x].name,
                   b->g->nodes[y].name);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_CONCAT, "concat", x, y);
    if (!n)
        return -1;
    set_shape(n, s[0], s[1], s[2], s[3] + t[3]);
    return index_of(b, n);
}

ds_val ds_b_set_token(ds_builder *b, ds_val x, const char *name, int stored) {
    if (!live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (s[1] != 1 || stored < 1) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: expects a token sequence (N, 1, T, C)", name);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_SET_TOKEN, name, x, -1);
    if (!n)
        return -1;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, stored, s[3]);
    return bind_node(b, &d, n);
}

ds_val ds_b_slice(ds_builder *b, ds_val x, int w0, int w, int c0, int c) {
    if (!live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (w0 < 0 || w < 1 || w0 + w > s[2] || c0 < 0 || c < 1 || c0 + c > s[3]) {
        ds_b_error(b, DS_ERR_INTERNAL, "slice of %s: columns %d+%d, channels %d+%d out of %lldx%lld",
                   b->g->nodes[x].name, w0, w, c0, c, (long long)s[2], (long long)s[3]);
        return -1;
    }
    ds_node *n = new_node(b, DS_OP_SLICE, "slice", x, -1);
    if (!n)
        return -1;
    n->a.slice = (ds_slice_attr){.w0 = w0, .c0 = c0};
    set_shape(n, s[0], s[1], w, c);
    return index_of(b, n);
}

ds_val ds_b_constant_value(ds_builder *b, const char *name, int64_t h, int64_t w, int64_t c, float **data) {
    *data = NULL;
    if (b->status != DS_OK)
        return -1;
    ds_tensor_ref ref;
    const int64_t shape[4] = {1, h, w, c};
    float *p = ds_b_constant(b, &ref, name, 4, shape);
    if (!p)
        return -1;
    ds_node *n = new_node(b, DS_OP_CONSTANT, name, -1, -1);
    if (!n)
        return -1;
    n->w[0] = ref;
    set_shape(n, 1, h, w, c);
    *data = p;
    return index_of(b, n);
}

void ds_b_output_named(ds_builder *b, const char *name, ds_val v) {
    ds_b_mark(b, name, v);
    if (b->status == DS_OK && live(b, v))
        b->g->marks[b->g->n_marks - 1].output = true;
}
