/* graph.c: graph ownership and names of ops and activations. */
#include "graph/graph.h"

#include "base/error.h" /* ds_fail */

#include <stdlib.h>
#include <string.h>

void ds_graph_free(ds_graph *g) {
    if (!g)
        return;
    for (int i = 0; i < g->n_strings; i++)
        free(g->strings[i]);
    free(g->strings);
    for (int i = 0; i < g->n_constants; i++)
        free(g->constants[i]);
    free(g->constants);
    free(g->nodes);
    free(g->marks);
    memset(g, 0, sizeof *g);
}

int64_t ds_shape_numel(const int64_t shape[4]) {
    return shape[0] * shape[1] * shape[2] * shape[3];
}

const char *ds_op_name(ds_op op) {
    static const char *names[DS_OP_COUNT] = {
        "input",     "conv2d",    "conv_transpose", "maxpool",   "resize",
        "add",       "act",       "groupnorm",      "layernorm", "linear",
        "attention", "pos_embed", "prepend_token",  "readout_cat", "reshape",
        "window_attention", "patch_merge",
        "levit_attention",
        "pos_embed_bicubic", "drop_token", "scale", "qk_rope", "concat", "set_token", "slice", "constant",
    };
    return (unsigned)op < DS_OP_COUNT ? names[op] : "?";
}

const char *ds_act_name(ds_act act) {
    switch (act) {
    case DS_ACT_NONE: return "none";
    case DS_ACT_RELU: return "relu";
    case DS_ACT_RELU6: return "relu6";
    case DS_ACT_GELU: return "gelu";
    case DS_ACT_HARDSWISH: return "hardswish";
    case DS_ACT_SIGMOID: return "sigmoid";
    case DS_ACT_EXP: return "exp";
    case DS_ACT_EXP1: return "exp1";
    }
    return "?";
}

int64_t ds_attn_bias_per_head(const ds_node *n) {
    if (n->op != DS_OP_ATTENTION || !n->w[0].name)
        return 0;
    return n->w[2].name ? n->w[0].shape[1] : n->shape[2] * n->shape[2];
}

int64_t ds_grid_rel_rows(int64_t gh, int64_t gw) { return (2 * gh - 1) * (2 * gw - 1) + 3; }

int32_t ds_grid_rel_index(int64_t gh, int64_t gw, int64_t i, int64_t j) {
    const int64_t R = ds_grid_rel_rows(gh, gw);
    if (i == 0)
        return (int32_t)(j == 0 ? R - 1 : R - 3); /* class query -> class key, -> patch */
    if (j == 0)
        return (int32_t)(R - 2); /* patch -> class key */
    const int64_t dy = (i - 1) / gw - (j - 1) / gw, dx = (i - 1) % gw - (j - 1) % gw;
    return (int32_t)((dy + gh - 1) * (2 * gw - 1) + dx + gw - 1);
}

int ds_graph_find_mark(const ds_graph *g, const char *name) {
    for (int i = 0; i < g->n_marks; i++)
        if (strcmp(g->marks[i].name, name) == 0)
            return g->marks[i].node;
    return -1;
}


int64_t ds_window_out(int64_t in, int pad_a, int pad_b, int k, int s, int d) {
    int64_t span = in + pad_a + pad_b - (int64_t)d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

ds_status ds_conv_check_shapes(const char *call, const ds_conv_attr *a, const int64_t xs[4],
                               const int64_t ys[4], const int64_t *rs) {
    if (a->groups < 1 || a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 || a->dil_w < 1 ||
        xs[3] % a->groups || ys[3] % a->groups || xs[0] != ys[0] ||
        ys[1] != ds_window_out(xs[1], a->pad_t, a->pad_b, a->kh, a->stride_h, a->dil_h) ||
        ys[2] != ds_window_out(xs[2], a->pad_l, a->pad_r, a->kw, a->stride_w, a->dil_w))
        return ds_fail(DS_ERR_SHAPE,
                       "%s: %lldx%lldx%lldx%lld does not convolve (k %dx%d, stride %d, groups %d) "
                       "to %lldx%lldx%lldx%lld", call, (long long)xs[0], (long long)xs[1],
                       (long long)xs[2], (long long)xs[3], a->kh, a->kw, a->stride_h, a->groups,
                       (long long)ys[0], (long long)ys[1], (long long)ys[2], (long long)ys[3]);
    for (int i = 0; rs && i < 4; i++)
        if (rs[i] != ys[i])
            return ds_fail(DS_ERR_SHAPE, "%s: the residual's shape is not the output's", call);
    return DS_OK;
}

double ds_node_macs(const ds_graph *g, const ds_node *n) {
    const int64_t *in = n->in[0] >= 0 ? g->nodes[n->in[0]].shape : n->shape;
    const double out = (double)ds_shape_numel(n->shape);
    switch (n->op) {
    case DS_OP_CONV2D:
        return out * n->a.conv.kh * n->a.conv.kw * (double)(in[3] / n->a.conv.groups);
    case DS_OP_CONV_TRANSPOSE: /* every input pixel to every tap (taps cropped at the border counted too) */
        return (double)ds_shape_numel(in) * n->a.conv.kh * n->a.conv.kw * (double)n->shape[3];
    case DS_OP_LINEAR:
        return out * (double)in[3];
    case DS_OP_LEVIT_ATTENTION:
        return (double)n->shape[0] * n->a.levit.heads * (double)n->shape[2] * n->a.levit.keys *
               (n->a.levit.key_dim + n->a.levit.val_dim);
    case DS_OP_ATTENTION:
        return 2.0 * (double)n->shape[2] * (double)n->shape[2] * (double)n->shape[3];
    case DS_OP_WINDOW_ATTENTION: /* each token against the tokens of a whole window */
        return 2.0 * out * (double)(n->a.win.win_h * n->a.win.win_w);
    default:
        return 0;
    }
}

int64_t ds_transpose_out(int64_t in, int pad_a, int pad_b, int k, int s, int d) {
    return (in - 1) * s - pad_a - pad_b + (int64_t)d * (k - 1) + 1;
}

/* The output_padding of one side must lie in [0, max(s, d)). */
static int transpose_side_ok(int64_t in, int64_t out, int pad_a, int pad_b, int k, int s, int d) {
    const int64_t extra = out - ds_transpose_out(in, pad_a, pad_b, k, s, d);
    return in >= 1 && out >= 1 && extra >= 0 && extra < (s > d ? s : d);
}

ds_status ds_conv_transpose_check_shapes(const char *call, const ds_conv_attr *a, const int64_t xs[4],
                                         const int64_t ys[4]) {
    if (a->groups != 1 || a->kh < 1 || a->kw < 1 || a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 ||
        a->dil_w < 1 || a->pad_t < 0 || a->pad_l < 0 || xs[0] != ys[0] ||
        !transpose_side_ok(xs[1], ys[1], a->pad_t, a->pad_b, a->kh, a->stride_h, a->dil_h) ||
        !transpose_side_ok(xs[2], ys[2], a->pad_l, a->pad_r, a->kw, a->stride_w, a->dil_w))
        return ds_fail(DS_ERR_SHAPE,
                       "%s: %lldx%lldx%lldx%lld does not transpose-convolve (k %dx%d, stride %dx%d, pad %d,%d, "
                       "dilation %d, groups %d) to %lldx%lldx%lldx%lld",
                       call, (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3], a->kh, a->kw,
                       a->stride_h, a->stride_w, a->pad_t, a->pad_l, a->dil_h, a->groups, (long long)ys[0],
                       (long long)ys[1], (long long)ys[2], (long long)ys[3]);
    return DS_OK;
}

ds_levit_layout ds_levit_layout_of(const ds_node *n) {
    const ds_levit_attn_attr *a = &n->a.levit;
    ds_levit_layout l;
    if (n->in[1] < 0) { /* [q | k | v] per head */
        l.kv_head = 2 * (int64_t)a->key_dim + a->val_dim;
        l.k_off = a->key_dim;
        l.v_off = 2 * (int64_t)a->key_dim;
        l.q_head = l.kv_head;
        l.q_off = 0;
    } else { /* [k | v] per head; the queries [q] per head on their own */
        l.kv_head = (int64_t)a->key_dim + a->val_dim;
        l.k_off = 0;
        l.v_off = a->key_dim;
        l.q_head = a->key_dim;
        l.q_off = 0;
    }
    l.kv_row = a->heads * l.kv_head;
    l.q_row = a->heads * l.q_head;
    return l;
}
