/* model/dinov2.h: the DINOv2 ViT/14 encoder (Depth Anything V2's `pretrained`). */
#ifndef DS_MODEL_DINOV2_H
#define DS_MODEL_DINOV2_H

#include "model/arch.h" /* ds_arch_info, ds_builder */

/* The image x (1, H, W, 3), H and W multiples of cfg->patch_size, through the
 * encoder <scope> ("pretrained"): patch embedding, class token, the
 * position embedding resized bicubically to the patch grid (marked
 * "pos_embed_resized"), cfg->vit_depth blocks with layer scale. taps[k] is
 * the output of block cfg->vit_hooks[k] through the final LayerNorm
 * <scope>.norm, class token dropped, as a (1, H/14, W/14, dim) map (marked
 * "backbone_layer1".."backbone_layer4"). <scope>.mask_token (training only)
 * is declared unused. */
void ds_dinov2_taps(ds_builder *b, ds_val x, const char *scope, const ds_arch_info *cfg, ds_val taps[4]);

#endif
