/* model/dinov2.h: the DINOv2 ViT/14 encoder (Depth Anything V2's `pretrained`,
 * and Depth Anything 3's `backbone.pretrained` with its additions). */
#ifndef DS_MODEL_DINOV2_H
#define DS_MODEL_DINOV2_H

#include "model/arch.h" /* ds_arch_info, ds_builder */

/* What Depth Anything 3 changes in the encoder (all off: Depth Anything V2's). */
typedef struct ds_dinov2_opts {
    float norm_eps; /* the final <scope>.norm: 1e-6 (V2), 1e-5 (DA3) */
    bool mask_token; /* the checkpoint holds <scope>.mask_token (V2; training only, declared unused) */
    /* From block alt_start on (-1: never): QK-norm and 2-D RoPE in every block,
     * alternating local (even) and global (odd) attention, which for one view
     * differ only in RoPE positions (global: every patch at (1, 1)); and
     * right before block alt_start, token 0 replaced by row 0 of
     * <scope>.camera_token (1, 2, C). */
    int alt_start;
    float rope_base;
    /* Taps as cat(output of the last local block, norm(output of the tap)),
     * 2C wide, and *cam (1, 1, 1, 2C): token 0 of the last tap's pair, no norm. */
    bool cat_token;
} ds_dinov2_opts;

/* The image x (1, H, W, 3), H and W multiples of cfg->patch_size, through the
 * encoder <scope>: patch embedding, class token, the position embedding
 * resized bicubically to the patch grid (marked "pos_embed_resized"),
 * cfg->vit_depth blocks with layer scale. taps[k] is the output of block
 * cfg->vit_hooks[k] through the final LayerNorm <scope>.norm, class token
 * dropped, as a (1, H/14, W/14, dim) map (marked "backbone_layer1".. as
 * tokens (1, 1, T, dim) or the map, per `token_marks`). cam: NULL, or where the camera
 * token goes (opts->cat_token). */
void ds_dinov2_encode(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, const ds_dinov2_opts *o,
                      bool token_marks, ds_val taps[4], ds_val *cam);
/* Depth Anything V2's encoder: ds_dinov2_encode with every option off. */
void ds_dinov2_taps(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, ds_val taps[4]);

#endif
