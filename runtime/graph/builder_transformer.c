/*
 * builder_transformer.c: the builder's transformer layers: linear layers
 * (bias, BatchNorm or layer scale folded), q|k|v biases, attention (with a
 * bias, Swin's windows, LeViT's), Swin's patch merging and Depth Anything
 * 3's QK-norm and RoPE.
 */
#include "graph/builder.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "graph/builder_internal.h" /* ds_b_new_node, ds_b_bind, ds_b_bind_node, shape helpers */

/* A linear layer: with <name>.bias (has_bias), without one, or without one
 * and with the BatchNorm bn folded (bn != NULL); its output rows times the
 * tensor row_scale (layer scale) when that is not NULL. */
static ds_node *linear_node(ds_builder *b, ds_val x, const char *name, int out, bool has_bias,
                            const char *bn, float bn_eps, ds_act act, ds_val residual, const char *row_scale) {
    if (!ds_b_live(b, x) || (residual != -1 && !ds_b_live(b, residual)))
        return NULL;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    int64_t cin = s[3];
    s[3] = out;
    if (residual != -1 && !ds_b_same_shape(s, ds_b_shape(b, residual))) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: residual shape differs", name);
        return NULL;
    }
    ds_node *n = ds_b_new_node(b, DS_OP_LINEAR, name, x, residual);
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
    ds_val v = ds_b_bind_node(b, &d, n);
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
    return ds_b_index_of(b, n);
}

ds_val ds_b_linear(ds_builder *b, ds_val x, const char *name, int out, ds_act act,
                   ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, true, NULL, 0.0f, act, residual, NULL);
    return n ? ds_b_index_of(b, n) : -1;
}

ds_val ds_b_linear_bn(ds_builder *b, ds_val x, const char *name, const char *bn, float bn_eps, int out,
                      ds_act act, ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, false, bn, bn_eps, act, residual, NULL);
    return n ? ds_b_index_of(b, n) : -1;
}

ds_val ds_b_linear_scaled(ds_builder *b, ds_val x, const char *name, int out, const char *scale,
                          ds_val residual) {
    ds_node *n = linear_node(b, x, name, out, true, NULL, 0.0f, DS_ACT_NONE, residual, scale);
    return n ? ds_b_index_of(b, n) : -1;
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

ds_val ds_b_attention(ds_builder *b, ds_val qkv, int heads) {
    return ds_b_attention_bias(b, qkv, heads, NULL, NULL, 0);
}

/* Whether a grid_w-wide grid fits T tokens and the table, and the index
 * (when it has data) is that grid's relative position index. */
static int grid_index_ok(ds_builder *b, int64_t T, const ds_tensor_ref *bias, const ds_tensor_ref *index,
                         int grid_w) {
    const int64_t gw = grid_w, gh = T > 1 && gw > 0 ? (T - 1) / gw : 0;
    if (!index || gh < 1 || gh * gw != T - 1 || bias->shape[1] != ds_grid_rel_rows(gh, gw)) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: no grid %d patches wide fits %lld tokens and a table of %lld",
                   bias->name ? bias->name : "attention bias", grid_w, (long long)T,
                   (long long)bias->shape[1]);
        return 0;
    }
    const int32_t *idx = index->data;
    int64_t bad = -1;
    for (int64_t i = 0; idx && i < T && bad < 0; i++) {
        const int32_t *row = idx + i * T;
        if (row[0] != ds_grid_rel_index(gh, gw, i, 0))
            bad = i * T;
        /* along a grid row of keys the index steps down by one (or, for the class query, stays) */
        for (int64_t j0 = 1; j0 < T && bad < 0; j0 += gw) {
            const int32_t first = ds_grid_rel_index(gh, gw, i, j0), step = i > 0;
            for (int64_t x = 0; x < gw; x++)
                if (row[j0 + x] != first - step * (int32_t)x) {
                    bad = i * T + j0 + x;
                    break;
                }
        }
    }
    if (bad >= 0) {
        ds_b_error(b, DS_ERR_INTERNAL, "%s: entry (%lld, %lld) is not the %lldx%lld grid's", index->name,
                   (long long)(bad / T), (long long)(bad % T), (long long)gh, (long long)gw);
        return 0;
    }
    return 1;
}

/* Whether the bias (and index) fit graph.h's DS_OP_ATTENTION for T tokens
 * and `heads`; an index's entries are checked when it has data. */
static int attention_bias_ok(ds_builder *b, int64_t T, int heads, const ds_tensor_ref *bias,
                             const ds_tensor_ref *index, int grid_w) {
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
    if (grid_w > 0) /* every entry of the grid's index is in the table */
        return grid_index_ok(b, T, bias, index, grid_w);
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
                           const ds_tensor_ref *index, int grid_w) {
    if (!ds_b_live(b, qkv))
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
    if (bias && !attention_bias_ok(b, s[2], heads, bias, index, grid_w))
        return -1;
    ds_node *n = ds_b_new_node(b, DS_OP_ATTENTION, "attention", qkv, -1);
    if (!n)
        return -1;
    s[3] /= 3;
    n->a.attn.heads = heads;
    n->a.attn.scale = (float)(1.0 / sqrt((double)(s[3] / heads)));
    memcpy(n->shape, s, sizeof s);
    if (bias)
        n->w[0] = *bias;
    if (index) {
        n->w[2] = *index;
        n->a.attn.grid_w = grid_w > 0 ? grid_w : 0;
    }
    return ds_b_index_of(b, n);
}

ds_val ds_b_window_attention(ds_builder *b, ds_val qkv, const ds_window_attr *a, const ds_tensor_ref *table,
                             const ds_tensor_ref *labels, const ds_tensor_ref *head_scale) {
    if (!ds_b_live(b, qkv))
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
    ds_node *n = ds_b_new_node(b, DS_OP_WINDOW_ATTENTION, "window_attention", qkv, -1);
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
    return ds_b_index_of(b, n);
}

ds_val ds_b_patch_merge(ds_builder *b, ds_val x) {
    if (!ds_b_live(b, x))
        return -1;
    int64_t s[4];
    memcpy(s, ds_b_shape(b, x), sizeof s);
    ds_node *n = ds_b_new_node(b, DS_OP_PATCH_MERGE, "patch_merge", x, -1);
    if (!n)
        return -1;
    ds_b_set_shape(n, s[0], (s[1] + 1) / 2, (s[2] + 1) / 2, 4 * s[3]);
    return ds_b_index_of(b, n);
}

ds_val ds_b_levit_attention(ds_builder *b, ds_val kv, ds_val q, int heads, int key_dim, int val_dim,
                            const ds_tensor_ref *bias, ds_act act) {
    if (!ds_b_live(b, kv) || (q != -1 && !ds_b_live(b, q)))
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
    ds_node *n = ds_b_new_node(b, DS_OP_LEVIT_ATTENTION, "levit_attention", kv, q);
    if (!n)
        return -1;
    n->a.levit.heads = heads;
    n->a.levit.key_dim = key_dim;
    n->a.levit.val_dim = val_dim;
    n->a.levit.keys = (int)s[2];
    n->a.levit.scale = (float)(1.0 / sqrt((double)key_dim));
    n->a.levit.act = act;
    ds_b_set_shape(n, s[0], 1, tq, (int64_t)heads * val_dim);
    if (bias && bias->name)
        n->w[0] = *bias;
    return ds_b_index_of(b, n);
}

ds_val ds_b_qk_rope(ds_builder *b, ds_val qkv, const ds_rope_attr *attr, const char *q_norm, const char *k_norm) {
    if (!ds_b_live(b, qkv))
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
    ds_node *n = ds_b_new_node(b, DS_OP_QK_ROPE, q_norm ? q_norm : "rope", qkv, -1);
    if (!n)
        return -1;
    n->a.rope = *attr;
    memcpy(n->shape, s, sizeof s);
    ds_val v = ds_b_index_of(b, n);
    if (!q_norm || !k_norm)
        return v;
    ds_param_decl d;
    ds_b_decl_norm(&d, q_norm, c / attr->heads);
    ds_b_bind(b, &d, &b->g->nodes[v]);
    ds_node k = {0};
    ds_b_decl_norm(&d, k_norm, c / attr->heads);
    ds_b_bind(b, &d, &k);
    b->g->nodes[v].w[2] = k.w[0];
    b->g->nodes[v].w[3] = k.w[1];
    return b->status == DS_OK ? v : -1;
}
