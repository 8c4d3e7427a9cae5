/*
 * builder_tokens.c: the builder's token sequences and layouts: position
 * embeddings, class tokens (prepend, set, drop, readout), reshape, concat,
 * slice and constant values.
 */
#include "graph/builder.h"

#include <string.h>

#include "base/bicubic.h" /* ds_bicubic_factor_scale */
#include "graph/builder_internal.h" /* ds_b_new_node, ds_b_bind_node, shape helpers */

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
    ds_node *n = ds_b_new_node(b, op, name, -1, -1);
    if (!n)
        return -1;
    n->a.pos = (ds_pos_attr){.grid = grid, .gh = gh, .gw = gw, .scale_h = scale_h, .scale_w = scale_w};
    ds_b_set_shape(n, 1, 1, 1 + (int64_t)gh * gw, channels);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, 1 + (int64_t)grid * grid, channels);
    return ds_b_bind_node(b, &d, n);
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
    if (!ds_b_live(b, x))
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
    ds_node *n = ds_b_new_node(b, DS_OP_DROP_TOKEN, "drop_token", x, -1);
    if (!n)
        return -1;
    ds_b_set_shape(n, s[0], gh, gw, s[3]);
    return ds_b_index_of(b, n);
}

ds_val ds_b_prepend_token(ds_builder *b, ds_val x, const char *name) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (s[1] != 1) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: expects a token sequence (N, 1, T, C)", name);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_PREPEND_TOKEN, name, x, -1);
    if (!n)
        return -1;
    ds_b_set_shape(n, s[0], 1, s[2] + 1, s[3]);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, 1, s[3]);
    return ds_b_bind_node(b, &d, n);
}

ds_val ds_b_readout_cat(ds_builder *b, ds_val x, int gh, int gw) {
    int64_t s[4];
    if (!token_grid(b, x, gh, gw, "readout", s))
        return -1;
    ds_node *n = ds_b_new_node(b, DS_OP_READOUT_CAT, "readout_cat", x, -1);
    if (!n)
        return -1;
    ds_b_set_shape(n, s[0], gh, gw, 2 * s[3]);
    return ds_b_index_of(b, n);
}

ds_val ds_b_reshape(ds_builder *b, ds_val x, int64_t N, int64_t h, int64_t w, int64_t c) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4] = {N, h, w, c};
    if (ds_shape_numel(s) != ds_shape_numel(ds_b_shape(b, x))) {
        ds_b_error(b, DS_ERR_INTERNAL, "reshape of %s changes the element count",
                   b->g->nodes[x].name);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_RESHAPE, "reshape", x, -1);
    if (!n)
        return -1;
    memcpy(n->shape, s, sizeof s);
    return ds_b_index_of(b, n);
}

ds_val ds_b_concat(ds_builder *b, ds_val x, ds_val y) {
    if (!ds_b_live(b, x) || !ds_b_live(b, y))
        return -1;
    int64_t s[4], t[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    memcpy(t, ds_b_shape(b, y), sizeof t);
    if (s[0] != t[0] || s[1] != t[1] || s[2] != t[2]) {
        ds_b_error(b, DS_ERR_INTERNAL, "concat: %s and %s differ in more than channels", b->g->nodes[x].name,
                   b->g->nodes[y].name);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_CONCAT, "concat", x, y);
    if (!n)
        return -1;
    ds_b_set_shape(n, s[0], s[1], s[2], s[3] + t[3]);
    return ds_b_index_of(b, n);
}

ds_val ds_b_set_token(ds_builder *b, ds_val x, const char *name, int stored) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (s[1] != 1 || stored < 1) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: expects a token sequence (N, 1, T, C)", name);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_SET_TOKEN, name, x, -1);
    if (!n)
        return -1;
    memcpy(n->shape, s, sizeof s);
    ds_param_decl d;
    decl_tensor(&d, name, 3, 1, stored, s[3]);
    return ds_b_bind_node(b, &d, n);
}

ds_val ds_b_slice(ds_builder *b, ds_val x, int w0, int w, int c0, int c) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    if (w0 < 0 || w < 1 || w0 + w > s[2] || c0 < 0 || c < 1 || c0 + c > s[3]) {
        ds_b_error(b, DS_ERR_INTERNAL, "slice of %s: columns %d+%d, channels %d+%d out of %lldx%lld",
                   b->g->nodes[x].name, w0, w, c0, c, (long long)s[2], (long long)s[3]);
        return -1;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_SLICE, "slice", x, -1);
    if (!n)
        return -1;
    n->a.slice = (ds_slice_attr){.w0 = w0, .c0 = c0};
    ds_b_set_shape(n, s[0], s[1], w, c);
    return ds_b_index_of(b, n);
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
    ds_node *n = ds_b_new_node(b, DS_OP_CONSTANT, name, -1, -1);
    if (!n)
        return -1;
    n->w[0] = ref;
    ds_b_set_shape(n, 1, h, w, c);
    *data = p;
    return ds_b_index_of(b, n);
}
