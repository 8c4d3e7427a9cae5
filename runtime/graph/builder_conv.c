/*
 * builder_conv.c: the builder's layers on (N, H, W, C) maps: convolutions
 * (transposed too), max-pooling, resizes, elementwise ops (add, act, scale)
 * and GroupNorm / LayerNorm.
 */
#include "graph/builder.h"

#include <string.h>

#include "graph/builder_internal.h" /* ds_b_new_node, ds_b_bind_node, ds_b_decl_norm, shape helpers */

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
    if (!ds_b_live(b, x) || (residual != -1 && !ds_b_live(b, residual)))
        return -1;
    int64_t in[4]; /* a copy: ds_b_new_node() may move the node table */
    memcpy(in, ds_b_shape(b, x), sizeof in);
    int64_t cin = in[3];
    int groups = s->depthwise ? (int)cin : (s->groups > 1 ? s->groups : 1);
    int dil = s->dilation > 1 ? s->dilation : 1;
    if (cin % groups || s->out % groups) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: %lld -> %d channels do not split into %d groups",
                   s->name, (long long)cin, s->out, groups);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_CONV2D, s->name, x, residual);
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
    ds_b_set_shape(n, in[0], oh, ow, s->out);
    if (residual != -1 && !ds_b_same_shape(n->shape, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs from the output", s->name);
        return -1;
    }
    ds_param_decl d;
    decl4(&d, DS_PARAM_CONV, s->name, s->out, cin / groups, s->k, s->k);
    d.has_bias = s->bias;
    d.bn = s->bn;
    d.bn_eps = s->bn_eps;
    d.ws_eps = s->ws_eps;
    return ds_b_bind_node(b, &d, n);
}

ds_val ds_b_conv_transpose(ds_builder *b, ds_val x, const char *name, int out, int k) {
    ds_conv_spec s = {.name = name, .out = out, .k = k, .stride = k, .bias = true};
    return ds_b_conv_transpose2d(b, x, &s);
}

ds_val ds_b_conv_transpose2d(ds_builder *b, ds_val x, const ds_conv_spec *s) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t in[4]; /* a copy: ds_b_new_node() may move the node table */
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
    ds_node *n = ds_b_new_node(b, DS_OP_CONV_TRANSPOSE, s->name, x, -1);
    if (!n)
        return -1;
    ds_conv_attr *a = &n->a.conv;
    a->kh = a->kw = s->k;
    a->stride_h = a->stride_w = s->stride;
    a->dil_h = a->dil_w = dil;
    a->pad_t = a->pad_b = a->pad_l = a->pad_r = s->pad;
    a->groups = 1;
    a->act = s->act;
    ds_b_set_shape(n, in[0], oh, ow, s->out);
    ds_param_decl d;
    decl4(&d, DS_PARAM_CONV_T, s->name, in[3], s->out, s->k, s->k);
    d.has_bias = s->bias;
    d.bn = s->bn;
    d.bn_eps = s->bn_eps;
    return ds_b_bind_node(b, &d, n);
}

ds_val ds_b_maxpool(ds_builder *b, ds_val x, int k, int stride, int pad, bool same) {
    if (!ds_b_live(b, x))
        return -1;
    const int64_t *in = ds_b_shape(b, x);
    int64_t in_n = in[0], in_h = in[1], in_w = in[2], in_c = in[3];
    ds_node *n = ds_b_new_node(b, DS_OP_MAXPOOL, "maxpool", x, -1);
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
    ds_b_set_shape(n, in_n, oh, ow, in_c);
    return ds_b_index_of(b, n);
}

ds_val ds_b_resize(ds_builder *b, ds_val x, int h, int w, bool align_corners) {
    if (!ds_b_live(b, x))
        return -1;
    const int64_t *in = ds_b_shape(b, x);
    int64_t in_n = in[0], in_c = in[3];
    ds_node *n = ds_b_new_node(b, DS_OP_RESIZE, "resize", x, -1);
    if (!n)
        return -1;
    n->a.resize.align_corners = align_corners;
    ds_b_set_shape(n, in_n, h, w, in_c);
    return ds_b_index_of(b, n);
}

ds_val ds_b_add(ds_builder *b, ds_val x, ds_val y, ds_act act) {
    if (!ds_b_live(b, x) || !ds_b_live(b, y))
        return -1;
    if (!ds_b_same_shape(ds_b_shape(b, x), ds_b_shape(b, y))) {
        ds_b_error(b, DS_ERR_INTERNAL, "add: operand shapes differ (%s, %s)",
                   b->g->nodes[x].name, b->g->nodes[y].name);
        return -1;
    }
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = ds_b_new_node(b, DS_OP_ADD, "add", x, y);
    if (!n)
        return -1;
    n->a.act = act;
    memcpy(n->shape, s, sizeof s);
    return ds_b_index_of(b, n);
}

/* An elementwise node `op` on x: the output has x's shape. */
static ds_node *elementwise_node(ds_builder *b, ds_val x, ds_op op, const char *name) {
    if (!ds_b_live(b, x))
        return NULL;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s); /* new_node may move the nodes */
    ds_node *n = ds_b_new_node(b, op, name, x, -1);
    if (n)
        memcpy(n->shape, s, sizeof s);
    return n;
}

ds_val ds_b_act(ds_builder *b, ds_val x, ds_act act) {
    ds_node *n = elementwise_node(b, x, DS_OP_ACT, ds_act_name(act));
    if (!n)
        return -1;
    n->a.act = act;
    return ds_b_index_of(b, n);
}

ds_val ds_b_scale(ds_builder *b, ds_val x, float scale) {
    ds_node *n = elementwise_node(b, x, DS_OP_SCALE, "scale");
    if (!n)
        return -1;
    n->a.scale = scale;
    return ds_b_index_of(b, n);
}

ds_val ds_b_groupnorm(ds_builder *b, ds_val x, const char *name, int groups, float eps,
                      ds_val residual, ds_act act) {
    if (!ds_b_live(b, x) || (residual != -1 && !ds_b_live(b, residual)))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (groups < 1 || s[3] % groups) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: %lld channels do not split into %d groups", name,
                   (long long)s[3], groups);
        return -1;
    }
    if (residual != -1 && !ds_b_same_shape(s, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs", name);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_GROUPNORM, name, x, residual);
    if (!n)
        return -1;
    n->a.norm.groups = groups;
    n->a.norm.eps = eps;
    n->a.norm.act = act;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    ds_b_decl_norm(&d, name, s[3]);
    return ds_b_bind_node(b, &d, n);
}

ds_val ds_b_layernorm(ds_builder *b, ds_val x, const char *name, float eps) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = ds_b_new_node(b, DS_OP_LAYERNORM, name, x, -1);
    if (!n)
        return -1;
    n->a.norm.groups = 1;
    n->a.norm.eps = eps;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    ds_b_decl_norm(&d, name, s[3]);
    return ds_b_bind_node(b, &d, n);
}
