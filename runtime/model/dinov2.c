/*
 * model/dinov2.c: DINOv2 (facebookresearch/dinov2, as Depth Anything V2
 * vendors it in depth_anything_v2/dinov2.py): ViT with 14x14 patches, no
 * register tokens, LayerScale in every block, LayerNorm eps 1e-6.
 *
 * Shapes: tokens are (1, 1, T, C) with T = 1 + gh*gw, gh = H/14, gw = W/14;
 * token t > 0 is patch (t - 1) in row-major order.
 */
#include "model/dinov2.h"

#include "model/vit.h" /* ds_vit_block */

static const float LN_EPS = 1e-6f;
/* interpolate_offset of the DINOv2() factory: the embedding is resized by
 * the scale factor (g + 0.1) / 37, not to the size g */
static const double POS_OFFSET = 0.1;

void ds_dinov2_taps(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, ds_val taps[4]) {
    const int64_t *in = x >= 0 ? ds_b_shape(b, x) : NULL;
    const int gh = in ? (int)in[1] / cfg->patch_size : 0, gw = in ? (int)in[2] / cfg->patch_size : 0;
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
    ds_b_unused(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.mask_token", scope), 2, mask_shape, false);
    for (int k = 0; k < 4; k++)
        taps[k] = -1;
    const char *norm = ds_b_name(b, "%s.norm", scope);
    for (int i = 0; i < cfg->vit_depth; i++) {
        x = ds_vit_block(b, x, ds_b_name(b, "%s.blocks.%d", scope, i), dim, cfg->vit_heads, true);
        for (int k = 0; k < 4; k++) {
            if (cfg->vit_hooks[k] != i)
                continue;
            ds_val t = ds_b_layernorm(b, x, norm, LN_EPS);
            taps[k] = ds_b_drop_token(b, t, gh, gw);
            ds_b_mark(b, ds_b_name(b, "backbone_layer%d", k + 1), taps[k]);
        }
    }
}
