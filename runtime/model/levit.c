/*
 * model/levit.c: dpt_levit_224, MiDaS v3.1's DPTDepthModel on timm 0.6.13's
 * levit_384 (LevitDistilled, use_conv False), 224x224 only.
 *
 * Shapes: tokens are (1, 1, T, C), T = res * res, row-major over the grid.
 *  - stem (patch_embed): four ConvNorm 3x3 s2 p1 (BatchNorm folded), Hardswish
 *    between them: 224 -> 14, 384 channels;
 *  - blocks 0..27, one Sequential: per stage 4 x (Residual(Attention),
 *    Residual(MLP)), between stages AttentionSubsample (no residual) and a
 *    Residual(MLP); every Linear is a LinearNorm (Linear without bias,
 *    BatchNorm1d folded); Hardswish after the MLP's first linear and on the
 *    attention output before proj;
 *  - hooks blocks[3], [11], [21]: (14, 14, 384), (7, 7, 512), (4, 4, 768);
 *    blocks 22..27 and the classifier heads are in the checkpoint, unused;
 *  - decoder: three levels (refinenet3 resized to layer2's 7x7), then
 *    scratch.stem_transpose (2 x ConvTranspose2d k3 s2 p1 output_padding 1 +
 *    BatchNorm + Hardswish: 28 -> 56 -> 112) and the head 64 -> 32, x2, 32 -> 8
 *    -> 1 (224).
 * Attention biases: each block's attention_biases (heads, res^2) gathered by
 * |dy| * res + |dx| into a (heads, Tq, Tk) constant of the graph when it is
 * built; the checkpoint's attention_bias_idxs are checked against the same
 * index (ds_b_buffer), never stored.
 */
#include "model/arch.h"
#include "model/decoder.h"

static const float BN_EPS = 1e-5f; /* every BatchNorm of the model */

enum {
    KEY_DIM = 32,
    ATTN_RATIO = 2, /* value dim = 2 * key dim in the blocks */
    SUB_RATIO = 4,  /* and 4 * key dim in AttentionSubsample */
    MLP_RATIO = 2,
    BLOCKS = 28,
    LAST_HOOK = 21,
};

static const int DIM[3] = {384, 512, 768};
static const int HEADS[3] = {6, 9, 12};
static const int HOOKS[3] = {3, 11, 21};

/* |yq - yk| * res + |xq - xk| for queries at (stride * i, stride * j) of a
 * res x res key grid: (rq^2, res^2), as timm's attention_bias_idxs. */
static const float *bias_index(ds_builder *b, int res, int stride) {
    const int rq = (res - 1) / stride + 1;
    const int64_t shape[2] = {(int64_t)rq * rq, (int64_t)res * res};
    ds_tensor_ref ref;
    float *idx = ds_b_constant(b, &ref, ds_b_name(b, "attention_bias_idxs %d/%d", res, stride), 2, shape);
    for (int q = 0; idx && q < rq * rq; q++)
        for (int k = 0; k < res * res; k++) {
            const int dy = stride * (q / rq) - k / res, dx = stride * (q % rq) - k % res;
            idx[(int64_t)q * res * res + k] = (float)((dy < 0 ? -dy : dy) * res + (dx < 0 ? -dx : dx));
        }
    return idx;
}

/* <prefix>.attention_biases gathered through the index into a (heads, Tq, Tk)
 * constant (zeros while the graph only lists parameters), and
 * <prefix>.attention_bias_idxs declared as the buffer it must equal. */
static ds_tensor_ref attention_bias(ds_builder *b, const char *prefix, int heads, int res, int stride,
                                    const float *idx) {
    const int rq = (res - 1) / stride + 1;
    const int64_t tq = (int64_t)rq * rq, tk = (int64_t)res * res;
    const int64_t table_shape[2] = {heads, tk}, idx_shape[2] = {tq, tk}, shape[3] = {heads, tq, tk};
    ds_tensor_ref table, bias;
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.attention_biases", prefix), 2, table_shape, false, &table, NULL);
    ds_b_buffer(b, ds_b_name(b, "%s.attention_bias_idxs", prefix), 2, idx_shape, true, idx);
    float *g = ds_b_constant(b, &bias, ds_b_name(b, "%s.attention_biases gathered", prefix), 3, shape);
    const float *t = table.data;
    for (int h = 0; g && t && idx && h < heads; h++)
        for (int64_t e = 0; e < tq * tk; e++)
            g[h * tq * tk + e] = t[h * tk + (int64_t)idx[e]];
    return bias;
}

static ds_val linear_norm(ds_builder *b, ds_val x, const char *prefix, int out, ds_act act, ds_val residual) {
    return ds_b_linear_bn(b, x, ds_b_name(b, "%s.c", prefix), ds_b_name(b, "%s.bn", prefix), BN_EPS, out, act,
                          residual);
}

/* Residual(Attention): x + proj(Hardswish(attention(qkv(x)))). */
static ds_val attention(ds_builder *b, ds_val x, int k, int stage, int res, const float *idx) {
    const char *p = ds_b_name(b, "pretrained.model.blocks.%d.m", k);
    const int heads = HEADS[stage], vd = ATTN_RATIO * KEY_DIM;
    ds_val qkv = linear_norm(b, x, ds_b_name(b, "%s.qkv", p), heads * (2 * KEY_DIM + vd), DS_ACT_NONE, -1);
    ds_tensor_ref bias = attention_bias(b, p, heads, res, 1, idx);
    ds_val h = ds_b_levit_attention(b, qkv, -1, heads, KEY_DIM, vd, &bias, DS_ACT_HARDSWISH);
    return linear_norm(b, h, ds_b_name(b, "%s.proj.1", p), DIM[stage], DS_ACT_NONE, x);
}

/* Residual(MLP): x + LinearNorm(Hardswish(LinearNorm(x))). */
static ds_val mlp(ds_builder *b, ds_val x, int k, int dim) {
    const char *p = ds_b_name(b, "pretrained.model.blocks.%d.m", k);
    ds_val h = linear_norm(b, x, ds_b_name(b, "%s.0", p), MLP_RATIO * dim, DS_ACT_HARDSWISH, -1);
    return linear_norm(b, h, ds_b_name(b, "%s.2", p), dim, DS_ACT_NONE, x);
}

/* AttentionSubsample from stage s to s + 1: keys and values on every token,
 * queries on every other row and column (a 1x1 max-pool of stride 2 picks
 * them, as timm's Subsample slices [::2, ::2]). */
static ds_val attention_subsample(ds_builder *b, ds_val x, int k, int stage, int res, const float *idx) {
    const char *p = ds_b_name(b, "pretrained.model.blocks.%d", k);
    const int heads = DIM[stage] / KEY_DIM, vd = SUB_RATIO * KEY_DIM, rq = (res - 1) / 2 + 1;
    ds_val kv = linear_norm(b, x, ds_b_name(b, "%s.kv", p), heads * (KEY_DIM + vd), DS_ACT_NONE, -1);
    ds_val grid = ds_b_reshape(b, x, 1, res, res, DIM[stage]);
    ds_val sub = ds_b_reshape(b, ds_b_maxpool(b, grid, 1, 2, 0, false), 1, 1, (int64_t)rq * rq, DIM[stage]);
    ds_val q = linear_norm(b, sub, ds_b_name(b, "%s.q.1", p), heads * KEY_DIM, DS_ACT_NONE, -1);
    ds_tensor_ref bias = attention_bias(b, p, heads, res, 2, idx);
    ds_val h = ds_b_levit_attention(b, kv, q, heads, KEY_DIM, vd, &bias, DS_ACT_HARDSWISH);
    return linear_norm(b, h, ds_b_name(b, "%s.proj.1", p), DIM[stage + 1], DS_ACT_NONE, -1);
}

/* A LinearNorm in the checkpoint that no hook reads. */
static void unused_linear_norm(ds_builder *b, const char *prefix, int in, int out) {
    const int64_t w[2] = {out, in}, c[1] = {out};
    ds_b_unused(b, DS_PARAM_LINEAR, ds_b_name(b, "%s.c", prefix), 2, w, false);
    ds_b_unused(b, DS_PARAM_BATCHNORM, ds_b_name(b, "%s.bn", prefix), 1, c, false);
}

/* Blocks 22..27 (stage 2 after the last hook) and the classifier heads
 * (NormLinear: BatchNorm1d, then Linear to 1000 classes). */
static void unused_tail(ds_builder *b, const float *idx4) {
    const int dim = DIM[2], heads = HEADS[2], vd = ATTN_RATIO * KEY_DIM;
    for (int k = LAST_HOOK + 1; k < BLOCKS; k++) {
        const char *p = ds_b_name(b, "pretrained.model.blocks.%d.m", k);
        if (k % 2 == 0) { /* attention */
            const int64_t table[2] = {heads, 16}, idx[2] = {16, 16};
            unused_linear_norm(b, ds_b_name(b, "%s.qkv", p), dim, heads * (2 * KEY_DIM + vd));
            unused_linear_norm(b, ds_b_name(b, "%s.proj.1", p), heads * vd, dim);
            ds_b_unused(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.attention_biases", p), 2, table, false);
            ds_b_buffer(b, ds_b_name(b, "%s.attention_bias_idxs", p), 2, idx, true, idx4);
        } else {
            unused_linear_norm(b, ds_b_name(b, "%s.0", p), dim, MLP_RATIO * dim);
            unused_linear_norm(b, ds_b_name(b, "%s.2", p), MLP_RATIO * dim, dim);
        }
    }
    static const char *heads_names[2] = {"head", "head_dist"};
    for (int i = 0; i < 2; i++) {
        const int64_t c[1] = {dim}, w[2] = {1000, dim};
        ds_b_unused(b, DS_PARAM_BATCHNORM, ds_b_name(b, "pretrained.model.%s.bn", heads_names[i]), 1, c, false);
        ds_b_unused(b, DS_PARAM_LINEAR, ds_b_name(b, "pretrained.model.%s.l", heads_names[i]), 2, w, true);
    }
}

/* patch_embed: 224 -> 14 in four stride-2 ConvNorms; tokens (1, 1, 196, 384). */
static ds_val stem(ds_builder *b, ds_val x) {
    for (int i = 0; i < 4; i++) {
        ds_conv_spec c = {.name = ds_b_name(b, "pretrained.model.patch_embed.%d.c", 2 * i),
                          .out = DIM[0] >> (3 - i), .k = 3, .stride = 2, .pad = 1,
                          .bn = ds_b_name(b, "pretrained.model.patch_embed.%d.bn", 2 * i), .bn_eps = BN_EPS,
                          .act = i < 3 ? DS_ACT_HARDSWISH : DS_ACT_NONE};
        x = ds_b_conv(b, x, &c, -1);
    }
    if (x < 0)
        return -1;
    const int64_t *s = ds_b_shape(b, x);
    return ds_b_reshape(b, x, 1, 1, s[1] * s[2], s[3]);
}

/* scratch.stem_transpose: 2 x (ConvTransposeNorm, Hardswish). */
static ds_val stem_transpose(ds_builder *b, ds_val x) {
    for (int i = 0; i < 2; i++) {
        ds_conv_spec c = {.name = ds_b_name(b, "scratch.stem_transpose.%d.c", 2 * i), .out = 128 >> i, .k = 3,
                          .stride = 2, .pad = 1, .output_padding = 1,
                          .bn = ds_b_name(b, "scratch.stem_transpose.%d.bn", 2 * i), .bn_eps = BN_EPS,
                          .act = DS_ACT_HARDSWISH};
        x = ds_b_conv_transpose2d(b, x, &c);
    }
    ds_b_mark(b, "scratch_stem_transpose", x);
    return x;
}

void ds_describe_dpt_levit(ds_builder *b, int h, int w) {
    int res = h / 16;
    const float *idx[3] = {bias_index(b, 14, 1), bias_index(b, 7, 1), bias_index(b, 4, 1)};
    const float *sub_idx[2] = {bias_index(b, 14, 2), bias_index(b, 7, 2)};
    ds_val x = stem(b, ds_b_input(b, h, w));
    ds_val layer[4] = {-1, -1, -1, -1};
    int k = 0, hook = 0;
    for (int stage = 0; stage < 3 && k <= LAST_HOOK; stage++) {
        for (int j = 0; j < 4 && k <= LAST_HOOK; j++) {
            x = attention(b, x, k++, stage, res, idx[stage]);
            x = mlp(b, x, k++, DIM[stage]);
            if (hook < 3 && k - 1 == HOOKS[hook])
                layer[hook++] = ds_b_reshape(b, x, 1, res, res, DIM[stage]);
        }
        if (stage < 2) {
            x = attention_subsample(b, x, k++, stage, res, sub_idx[stage]);
            res = (res - 1) / 2 + 1;
            x = mlp(b, x, k++, DIM[stage + 1]);
        }
    }
    unused_tail(b, idx[2]);
    static const int width[4] = {256, 256, 256, 0};
    ds_val rn[4];
    ds_decoder_layer_rn(b, layer, width, rn);
    if (b->status != DS_OK)
        return;
    const int64_t *s2 = ds_b_shape(b, rn[1]), *s1 = ds_b_shape(b, rn[0]);
    int h2 = (int)s2[1], w2 = (int)s2[2], h1 = (int)s1[1], w1 = (int)s1[2];
    ds_val path = ds_decoder_fusion(b, 3, rn[2], -1, h2, w2, 256, false);
    path = ds_decoder_fusion(b, 2, path, rn[1], h1, w1, 256, false);
    path = ds_decoder_fusion(b, 1, path, rn[0], 0, 0, 256, false);
    ds_decoder_head_widths(b, stem_transpose(b, path), 32, 8, true);
}
