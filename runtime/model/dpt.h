/*
 * model/dpt.h: what the ViT families share with DPT (model/dpt.c): the
 * reassemble of hooked token sequences with readout "project" (the decoder
 * after it is model/decoder.h's ds_decoder_dpt).
 */
#ifndef DS_MODEL_DPT_H
#define DS_MODEL_DPT_H

#include "model/arch.h" /* ds_arch_info, ds_builder */

/* pretrained.act_postprocess<n>, n = 1..4, on hooked tokens (1, 1, 1 + gh*gw, C):
 * [patch token, class token] -> Linear 2C -> C + GELU, unflattened to
 * (1, gh, gw, C), 1x1 conv to cfg->reassemble[n - 1] channels, then
 * n = 1 ConvTranspose k4 s4, n = 2 ConvTranspose k2 s2, n = 3 nothing,
 * n = 4 a 3x3 stride-2 conv. */
ds_val ds_dpt_reassemble(ds_builder *b, ds_val tokens, int n, int gh, int gw, const ds_arch_info *cfg);

#endif
