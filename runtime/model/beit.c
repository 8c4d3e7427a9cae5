/*
 * model/beit.c: the MiDaS v3.1 BEiT models, dpt_beit_large_512,
 * dpt_beit_large_384 and dpt_beit_base_384: timm 0.6.13's Beit as MiDaS's
 * midas/backbones/beit.py patches it (any input size), then DPT's
 * reassemble (readout "project"), decoder and head (model/dpt.h).
 *
 * Shapes: tokens are (1, 1, T, C) with T = 1 + gh*gw, gh = H/16, gw = W/16.
 * Block (pre-norm, layer scale g1, g2 per channel):
 *   x += g1 * proj(attn(LN1(x)));  x += g2 * fc2(GELU(fc1(LN2(x))))
 * qkv has no bias of its own: [q_bias | 0 | v_bias], assembled while
 * building (ds_b_qkv_bias); g1 and g2 are folded into proj and fc2 at
 * conversion (params.h). No
 * absolute position embedding: each block adds its relative position bias
 * to the attention logits.
 *
 * Relative position bias (MiDaS's _get_rel_pos_bias): block i's table
 * (R0, heads), R0 = (2 G0 - 1)^2 + 3 for the trained grid G0, is rows of
 * offsets (dy + G0 - 1) * (2 G0 - 1) + (dx + G0 - 1), dy = y_query - y_key,
 * then three class rows (class query -> patch, patch -> class key, class ->
 * class). For a gh x gw grid the offset rows, seen as a (2 G0 - 1) x
 * (2 G0 - 1) image per head, are resized bilinearly (align_corners False)
 * to (2 gh - 1) x (2 gw - 1), the class rows appended, and an index (T, T)
 * built for the grid as timm's gen_relative_position_index builds it.
 * PyTorch recomputes this in every block on every forward pass; here it is
 * computed once per input size, when the graph is built: one index shared
 * by every block and each block's resized table (heads, R), which the
 * attention gathers from (graph.h's ds_attn_attr). The checkpoints'
 * relative_position_index buffers (for G0) are never read by MiDaS: the
 * converter checks them against the trained grid's index and drops them.
 */
#include "model/beit.h"

#include <stdlib.h>
#include <string.h>

#include "base/bilinear.h" /* ds_bilinear_coord */
#include "model/decoder.h" /* ds_decoder_dpt */
#include "model/dpt.h"     /* ds_dpt_reassemble */

static const float LN_EPS = 1e-6f;

int64_t ds_beit_table_rows(int gh, int gw) { return ds_grid_rel_rows(gh, gw); }

void ds_beit_index(int gh, int gw, int32_t *index) {
    const int64_t T = 1 + (int64_t)gh * gw;
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++)
            index[i * T + j] = ds_grid_rel_index(gh, gw, i, j);
}

void ds_beit_resize_table(const float *table, int g0, int heads, int gh, int gw, float *out) {
    const int64_t s0 = 2 * g0 - 1, oh = 2 * gh - 1, ow = 2 * gw - 1, R = oh * ow + 3;
    for (int64_t y = 0; y < oh; y++) {
        int64_t y0, y1;
        float fy;
        ds_bilinear_coord(y, s0, oh, 0, &y0, &y1, &fy);
        for (int64_t x = 0; x < ow; x++) {
            int64_t x0, x1;
            float fx;
            ds_bilinear_coord(x, s0, ow, 0, &x0, &x1, &fx);
            const float *p00 = table + (y0 * s0 + x0) * heads, *p01 = table + (y0 * s0 + x1) * heads;
            const float *p10 = table + (y1 * s0 + x0) * heads, *p11 = table + (y1 * s0 + x1) * heads;
            for (int h = 0; h < heads; h++) {
                const double top = (1.0 - fx) * p00[h] + (double)fx * p01[h];
                const double bottom = (1.0 - fx) * p10[h] + (double)fx * p11[h];
                out[h * R + y * ow + x] = (float)((1.0 - fy) * top + (double)fy * bottom);
            }
        }
    }
    for (int k = 0; k < 3; k++) /* the class rows, unchanged */
        for (int h = 0; h < heads; h++)
            out[h * R + oh * ow + k] = table[(s0 * s0 + k) * heads + h];
}

/* Block i's relative position bias for the grid: its table resized, (heads, R). */
static ds_tensor_ref block_table(ds_builder *b, const char *prefix, int gh, int gw, const ds_arch_info *cfg) {
    const int g0 = cfg->pos_grid, heads = cfg->vit_heads;
    const int64_t trained[2] = {ds_beit_table_rows(g0, g0), heads};
    ds_tensor_ref table;
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.relative_position_bias_table", prefix), 2, trained, false,
               &table, NULL);
    ds_tensor_ref out;
    const int64_t shape[2] = {heads, ds_beit_table_rows(gh, gw)};
    float *resized = ds_b_constant(b, &out, ds_b_name(b, "%s.relative_position_bias", prefix), 2, shape);
    if (resized && table.data) /* no data: the graph only lists parameters */
        ds_beit_resize_table(table.data, g0, heads, gh, gw, resized);
    return out;
}

/* The trained grid's index, which every checkpoint holds per block and
 * MiDaS never reads: declared (when the binder lists parameters) so that
 * the converter checks each copy against it; one array for every block. */
static const float *trained_index(ds_builder *b, int g0) {
    if (!ds_b_lists_params(b))
        return NULL;
    const int64_t T = (int64_t)g0 * g0 + 1, square[2] = {T, T};
    ds_tensor_ref ref;
    float *expect = ds_b_constant(b, &ref, "trained_relative_position_index", 2, square);
    int32_t *index = expect ? malloc((size_t)(T * T) * sizeof *index) : NULL;
    if (!index)
        return NULL; /* the buffers undeclared: the converter refuses them as unexpected tensors */
    ds_beit_index(g0, g0, index);
    for (int64_t i = 0; i < T * T; i++)
        expect[i] = (float)index[i];
    free(index);
    return expect;
}

static ds_val beit_block(ds_builder *b, ds_val x, int i, const ds_tensor_ref *index, const float *trained,
                         int gh, int gw, const ds_arch_info *cfg) {
    const char *p = ds_b_name(b, "pretrained.model.blocks.%d", i);
    if (trained) {
        const int64_t T0 = (int64_t)cfg->pos_grid * cfg->pos_grid + 1, square[2] = {T0, T0};
        ds_b_buffer(b, ds_b_name(b, "%s.attn.relative_position_index", p), 2, square, true, trained);
    }
    const int C = cfg->vit_dim;
    ds_val h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm1", p), LN_EPS);
    const char *attn = ds_b_name(b, "%s.attn", p);
    ds_tensor_ref qkv_bias;
    h = ds_b_linear_bias(b, h, ds_b_name(b, "%s.qkv", attn), 3 * C, ds_b_qkv_bias(b, attn, C, &qkv_bias),
                         DS_ACT_NONE, -1);
    const ds_tensor_ref bias = block_table(b, attn, gh, gw, cfg);
    h = ds_b_attention_bias(b, h, cfg->vit_heads, &bias, index, gw);
    x = ds_b_linear_scaled(b, h, ds_b_name(b, "%s.proj", attn), C, ds_b_name(b, "%s.gamma_1", p), x);
    h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm2", p), LN_EPS);
    h = ds_b_linear(b, h, ds_b_name(b, "%s.mlp.fc1", p), 4 * C, DS_ACT_GELU, -1);
    return ds_b_linear_scaled(b, h, ds_b_name(b, "%s.mlp.fc2", p), C, ds_b_name(b, "%s.gamma_2", p), x);
}

static void describe_beit(ds_builder *b, int h, int w, const ds_arch_info *cfg) {
    const int gh = h / cfg->patch_size, gw = w / cfg->patch_size;
    const int64_t T = 1 + (int64_t)gh * gw;
    ds_val x = ds_b_input(b, h, w);
    ds_conv_spec proj = {.name = "pretrained.model.patch_embed.proj", .out = cfg->vit_dim,
                         .k = cfg->patch_size, .stride = cfg->patch_size, .bias = true};
    x = ds_b_conv(b, x, &proj, -1);
    x = ds_b_reshape(b, x, 1, 1, (int64_t)gh * gw, cfg->vit_dim);
    x = ds_b_prepend_token(b, x, "pretrained.model.cls_token");
    ds_tensor_ref index;
    const int64_t square[2] = {T, T};
    int32_t *idx = ds_b_constant_i32(b, &index, "relative_position_index", 2, square);
    if (idx)
        ds_beit_index(gh, gw, idx);
    const float *trained = trained_index(b, cfg->pos_grid);
    ds_val hooked[4] = {-1, -1, -1, -1};
    for (int i = 0; i < cfg->vit_depth; i++) {
        x = beit_block(b, x, i, &index, trained, gh, gw, cfg);
        for (int k = 0; k < 4; k++)
            if (cfg->vit_hooks[k] == i)
                hooked[k] = x;
    }
    /* global_pool "avg": the final norm is Identity; fc_norm and the classifier are never run */
    const int64_t c[1] = {cfg->vit_dim}, head[2] = {1000, cfg->vit_dim};
    ds_b_unused(b, DS_PARAM_NORM, "pretrained.model.fc_norm", 1, c, true);
    ds_b_unused(b, DS_PARAM_LINEAR, "pretrained.model.head", 2, head, true);
    ds_val layer[4];
    for (int k = 0; k < 4; k++)
        layer[k] = ds_dpt_reassemble(b, hooked[k], k + 1, gh, gw, cfg);
    ds_decoder_dpt(b, layer);
}

void ds_describe_beit_large_512(ds_builder *b, int h, int w) {
    describe_beit(b, h, w, ds_arch_get(DS_ARCH_DPT_BEIT_LARGE_512));
}

void ds_describe_beit_large_384(ds_builder *b, int h, int w) {
    describe_beit(b, h, w, ds_arch_get(DS_ARCH_DPT_BEIT_LARGE_384));
}

void ds_describe_beit_base_384(ds_builder *b, int h, int w) {
    describe_beit(b, h, w, ds_arch_get(DS_ARCH_DPT_BEIT_BASE_384));
}
