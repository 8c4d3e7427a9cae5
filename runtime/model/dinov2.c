/*
 * model/dinov2.c: DINOv2 (facebookresearch/dinov2, as Depth Anything V2
 * vendors it in depth_anything_v2/dinov2.py, and as Depth Anything 3 extends
 * it in depth_anything_3/model/dinov2/vision_transformer.py): ViT with
 * 14x14 patches, no register tokens, LayerScale in every block, block
 * LayerNorms eps 1e-6.
 *
 * Shapes: tokens are (1, 1, T, C) with T = 1 + gh*gw, gh = H/14, gw = W/14;
 * token t > 0 is patch (t - 1) in row-major order.
 */
#include "model/dinov2.h"

#include "model/vit.h" /* ds_vit_block */

/* interpolate_offset of the DINOv2() factory: the embedding is resized by
 * the scale factor (g + 0.1) / 37, not to the size g */
static const double POS_OFFSET = 0.1;
/* Depth Anything 3's q_norm / k_norm: nn.LayerNorm's default */
static const float QK_NORM_EPS = 1e-5f;

/* Patch embedding, class token and the resized position embedding. */
static ds_val embed(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, const ds_dinov2_opts *o,
                    int gh, int gw) {
    const int dim = cfg->vit_dim;
    ds_conv_spec proj = {.name = ds_b_name(b, "%s.patch_embed.proj", scope), .out = dim, .k = cfg->patch_size,
                         .stride = cfg->patch_size, .bias = true};
    x = ds_b_conv(b, x, &proj, -1);
    x = ds_b_reshape(b, x, 1, 1, (int64_t)gh * gw, dim);
    x = ds_b_prepend_token(b, x, ds_b_name(b, "%s.cls_token", scope));
    ds_val pos = ds_b_pos_embed_bicubic(b, ds_b_name(b, "%s.pos_embed", scope), cfg->pos_grid, dim, gh, gw,
                                        POS_OFFSET);
    ds_b_mark(b, "pos_embed_resized", pos);
    x = ds_b_add(b, x, pos, DS_ACT_NONE);
    int64_t mask_shape[2] = {1, dim};
    if (o->mask_token)
        ds_b_unused(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.mask_token", scope), 2, mask_shape, false);
    return x;
}

/* Block i; from alt_start on with QK-norm and RoPE (global on odd blocks). */
static ds_val block(ds_builder *b, ds_val x, const char *scope, int i, const ds_arch_info *cfg,
                    const ds_dinov2_opts *o, int gh, int gw) {
    const char *p = ds_b_name(b, "%s.blocks.%d", scope, i);
    if (o->alt_start < 0 || i < o->alt_start)
        return ds_vit_block(b, x, p, cfg->vit_dim, cfg->vit_heads, true);
    ds_rope_attr rope = {.heads = cfg->vit_heads, .gh = gh, .gw = gw, .flat = i % 2 == 1, .base = o->rope_base,
                         .eps = QK_NORM_EPS};
    ds_vit_rope q = {.attr = &rope, .q_norm = ds_b_name(b, "%s.attn.q_norm", p),
                     .k_norm = ds_b_name(b, "%s.attn.k_norm", p)};
    return ds_vit_block_rope(b, x, p, cfg->vit_dim, cfg->vit_heads, true, &q);
}

/* Tap k: the block output x (and the last local block's, for cat_token) as the head reads it. */
static ds_val tap(ds_builder *b, ds_val x, ds_val local, int k, const char *norm, const ds_dinov2_opts *o,
                  int gh, int gw, int dim, bool token_marks) {
    ds_val t = ds_b_drop_token(b, ds_b_layernorm(b, x, norm, o->norm_eps), gh, gw);
    if (o->cat_token)
        t = ds_b_concat(b, ds_b_drop_token(b, local, gh, gw), t);
    const int width = o->cat_token ? 2 * dim : dim;
    const char *mark = ds_b_name(b, "backbone_layer%d", k + 1);
    ds_b_mark(b, mark, token_marks ? ds_b_reshape(b, t, 1, 1, (int64_t)gh * gw, width) : t);
    return t;
}

void ds_dinov2_encode(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, const ds_dinov2_opts *o,
                      bool token_marks, ds_val taps[4], ds_val *cam) {
    const int64_t *in = x >= 0 ? ds_b_shape(b, x) : NULL;
    const int gh = in ? (int)in[1] / cfg->patch_size : 0, gw = in ? (int)in[2] / cfg->patch_size : 0;
    x = embed(b, x, scope, cfg, o, gh, gw);
    for (int k = 0; k < 4; k++)
        taps[k] = -1;
    const char *norm = ds_b_name(b, "%s.norm", scope);
    ds_val local = x;
    for (int i = 0; i < cfg->vit_depth; i++) {
        if (i == o->alt_start) /* row 1 is for the other views of a multi-view run */
            x = ds_b_set_token(b, x, ds_b_name(b, "%s.camera_token", scope), 2);
        x = block(b, x, scope, i, cfg, o, gh, gw);
        if (o->alt_start < 0 || i < o->alt_start || i % 2 == 0)
            local = x;
        for (int k = 0; k < 4; k++)
            if (cfg->vit_hooks[k] == i)
                taps[k] = tap(b, x, local, k, norm, o, gh, gw, cfg->vit_dim, token_marks);
        if (cam && o->cat_token && cfg->vit_hooks[3] == i) {
            *cam = ds_b_concat(b, ds_b_slice(b, local, 0, 1, 0, cfg->vit_dim),
                               ds_b_slice(b, x, 0, 1, 0, cfg->vit_dim));
            ds_b_mark(b, "cam_token", *cam);
        }
    }
}

void ds_dinov2_taps(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, ds_val taps[4]) {
    const ds_dinov2_opts v2 = {.norm_eps = 1e-6f, .mask_token = true, .alt_start = -1};
    ds_dinov2_encode(b, x, scope, cfg, &v2, false, taps, NULL);
}
