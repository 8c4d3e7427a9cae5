/*
 * model/swin.c: the MiDaS v3.1 Swin models, DPTDepthModel on a timm 0.6.13
 * SwinTransformer (v1: dpt_swin_large_384) or SwinTransformerV2
 * (dpt_swin2_large_384, dpt_swin2_base_384, dpt_swin2_tiny_256), features 256.
 *
 * Shapes: every stage keeps its tokens as an (1, res, res, C) map, which is
 * the row-major token sequence timm holds (linear layers and LayerNorm work
 * on the last dimension either way); window partition, shift and reverse
 * happen inside the window attention op, never as copies. The decoder reads
 * each stage's last block before its patch merging (no readout).
 *   v2 block (post-norm): x += LN1(proj(WA(qkv(x)))); x += LN2(fc2(GELU(fc1(x))))
 *   v1 block (pre-norm):  x += proj(WA(qkv(LN1(x)))); x += fc2(GELU(fc1(LN2(x))))
 * Windows are clipped to the stage (a stage no larger than the window is one
 * window, never shifted); odd blocks of the other stages shift by win / 2.
 */
#include <math.h>

#include "model/arch.h"
#include "model/decoder.h"
#include "model/swin.h"

static const float LN_EPS = 1e-5f;

typedef struct swin_cfg {
    bool v2;
    int dim;                  /* channels of stage 0 */
    int depths[4], heads[4];
    int window;               /* the target window */
    int pretrained_window[4]; /* v2: coordinates divided by this - 1; 0: by the window's - 1 */
} swin_cfg;

static const swin_cfg SWIN2_LARGE = {true, 192, {2, 2, 18, 2}, {6, 12, 24, 48}, 24, {12, 12, 12, 6}};
static const swin_cfg SWIN2_BASE = {true, 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 24, {12, 12, 12, 6}};
static const swin_cfg SWIN2_TINY = {true, 96, {2, 2, 6, 2}, {3, 6, 12, 24}, 16, {0, 0, 0, 0}};
static const swin_cfg SWIN1_LARGE = {false, 192, {2, 2, 18, 2}, {6, 12, 24, 48}, 12, {0, 0, 0, 0}};

/* exp(min(logit_scale, log(100))) per head: the cosine logits' scale. */
static const ds_tensor_ref *head_scale(ds_builder *b, const char *attn, int heads, ds_tensor_ref *out) {
    const int64_t shape[3] = {heads, 1, 1}, flat[1] = {heads};
    ds_tensor_ref raw;
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.logit_scale", attn), 3, shape, false, &raw, NULL);
    float *scale = ds_b_constant(b, out, ds_b_name(b, "%s.head_scale", attn), 1, flat);
    const float max_log = (float)log(1.0 / 0.01);
    for (int h = 0; scale && raw.data && h < heads; h++) {
        const float v = ((const float *)raw.data)[h];
        scale[h] = expf(v < max_log ? v : max_log);
    }
    return scale ? out : NULL;
}

/* One block's window attention on x (v2) or LN1(x) (v1), before the projection. */
static ds_val window_attention(ds_builder *b, ds_val x, const char *p, const swin_cfg *cfg, int stage, int res,
                               int dim, int j, const ds_tensor_ref *labels) {
    const char *attn = ds_b_name(b, "%s.attn", p);
    const int heads = cfg->heads[stage];
    const int win = res <= cfg->window ? res : cfg->window;
    ds_window_attr a = {.heads = heads, .win_h = win, .win_w = win,
                        .scale = (float)(1.0 / sqrt((double)(dim / heads))), .cosine = cfg->v2};
    if (res > win && j % 2)
        a.shift_h = a.shift_w = cfg->window / 2;
    ds_tensor_ref table, bias, scale;
    const ds_tensor_ref *lab = a.shift_h ? labels : NULL;
    ds_swin_buffers(b, p, &a, res, lab, !cfg->v2);
    ds_val qkv;
    if (cfg->v2) {
        const int pw = cfg->pretrained_window[stage];
        ds_swin2_position_bias(b, attn, heads, win, (pw > 0 ? pw : win) - 1, &table);
        qkv = ds_b_linear_bias(b, x, ds_b_name(b, "%s.qkv", attn), 3 * dim, ds_b_qkv_bias(b, attn, dim, &bias),
                               DS_ACT_NONE, -1);
        return ds_b_window_attention(b, qkv, &a, &table, lab, head_scale(b, attn, heads, &scale));
    }
    ds_swin1_position_bias(b, attn, heads, win, &table);
    qkv = ds_b_linear(b, x, ds_b_name(b, "%s.qkv", attn), 3 * dim, DS_ACT_NONE, -1);
    return ds_b_window_attention(b, qkv, &a, &table, lab, NULL);
}

static ds_val block(ds_builder *b, ds_val x, const swin_cfg *cfg, int stage, int j, int res, int dim,
                    const ds_tensor_ref *labels) {
    const char *p = ds_b_name(b, "pretrained.model.layers.%d.blocks.%d", stage, j);
    ds_val h;
    if (cfg->v2) {
        h = window_attention(b, x, p, cfg, stage, res, dim, j, labels);
        h = ds_b_linear(b, h, ds_b_name(b, "%s.attn.proj", p), dim, DS_ACT_NONE, -1);
        x = ds_b_add(b, x, ds_b_layernorm(b, h, ds_b_name(b, "%s.norm1", p), LN_EPS), DS_ACT_NONE);
        h = ds_b_linear(b, x, ds_b_name(b, "%s.mlp.fc1", p), 4 * dim, DS_ACT_GELU, -1);
        h = ds_b_linear(b, h, ds_b_name(b, "%s.mlp.fc2", p), dim, DS_ACT_NONE, -1);
        return ds_b_add(b, x, ds_b_layernorm(b, h, ds_b_name(b, "%s.norm2", p), LN_EPS), DS_ACT_NONE);
    }
    h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm1", p), LN_EPS);
    h = window_attention(b, h, p, cfg, stage, res, dim, j, labels);
    x = ds_b_linear(b, h, ds_b_name(b, "%s.attn.proj", p), dim, DS_ACT_NONE, x);
    h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm2", p), LN_EPS);
    h = ds_b_linear(b, h, ds_b_name(b, "%s.mlp.fc1", p), 4 * dim, DS_ACT_GELU, -1);
    return ds_b_linear(b, h, ds_b_name(b, "%s.mlp.fc2", p), dim, DS_ACT_NONE, x);
}

/* layers.S.downsample: 2x2 gather, then v2 Linear(4C, 2C) and LN(2C), v1 LN(4C) and Linear(4C, 2C). */
static ds_val patch_merging(ds_builder *b, ds_val x, const swin_cfg *cfg, int stage, int dim) {
    const char *p = ds_b_name(b, "pretrained.model.layers.%d.downsample", stage);
    x = ds_b_patch_merge(b, x);
    if (!cfg->v2)
        x = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm", p), LN_EPS);
    x = ds_b_linear_bias(b, x, ds_b_name(b, "%s.reduction", p), 2 * dim, NULL, DS_ACT_NONE, -1);
    if (cfg->v2)
        x = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm", p), LN_EPS);
    return x;
}

static void describe_swin(ds_builder *b, int h, int w, const swin_cfg *cfg) {
    ds_val x = ds_b_input(b, h, w);
    ds_conv_spec embed = {.name = "pretrained.model.patch_embed.proj", .out = cfg->dim, .k = 4, .stride = 4,
                          .bias = true};
    x = ds_b_conv(b, x, &embed, -1);
    x = ds_b_layernorm(b, x, "pretrained.model.patch_embed.norm", LN_EPS);
    ds_val layer[4] = {-1, -1, -1, -1};
    int res = h / 4, dim = cfg->dim;
    for (int s = 0; s < 4; s++, res /= 2, dim *= 2) {
        const int win = res <= cfg->window ? res : cfg->window;
        ds_tensor_ref labels;
        const ds_tensor_ref *lab = res > win ? ds_swin_region_labels(b, res, win, cfg->window / 2, &labels) : NULL;
        for (int j = 0; j < cfg->depths[s]; j++)
            x = block(b, x, cfg, s, j, res, dim, lab);
        layer[s] = x;
        if (s < 3)
            x = patch_merging(b, x, cfg, s, dim);
    }
    /* the final norm and classifier exist in the checkpoint; no hook reads them */
    const int64_t norm_shape[1] = {dim / 2}, head_shape[2] = {1000, dim / 2};
    ds_b_unused(b, DS_PARAM_NORM, "pretrained.model.norm", 1, norm_shape, true);
    ds_b_unused(b, DS_PARAM_LINEAR, "pretrained.model.head", 2, head_shape, true);
    ds_decoder_dpt(b, layer);
}

void ds_describe_dpt_swin2_large(ds_builder *b, int h, int w) { describe_swin(b, h, w, &SWIN2_LARGE); }
void ds_describe_dpt_swin2_base(ds_builder *b, int h, int w) { describe_swin(b, h, w, &SWIN2_BASE); }
void ds_describe_dpt_swin2_tiny(ds_builder *b, int h, int w) { describe_swin(b, h, w, &SWIN2_TINY); }
void ds_describe_dpt_swin_large(ds_builder *b, int h, int w) { describe_swin(b, h, w, &SWIN1_LARGE); }
