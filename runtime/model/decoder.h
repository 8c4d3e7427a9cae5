/* model/decoder.h: the MiDaS/DPT decoder ("scratch") shared by all descriptions. */
#ifndef DS_ARCH_DECODER_H
#define DS_ARCH_DECODER_H

#include "graph/builder.h" /* ds_builder, ds_val */

/* scratch.layerN_rn: 3x3 convs without bias taking the four backbone stages
 * to the decoder widths; marks pretrained_layerN and scratch_layerN_rn. A
 * stage given as -1 is absent (LeViT has three): its rn is -1. */
void ds_decoder_layer_rn(ds_builder *b, const ds_val layer[4], const int width[4], ds_val rn[4]);
/* The same under the module <scope> (<scope>.layerN_rn: "depth_head.scratch"
 * for Depth Anything); marks scratch_layerN_rn only. */
void ds_decoder_layer_rn_in(ds_builder *b, const char *scope, const ds_val layer[4], const int width[4],
                            ds_val rn[4]);

/* Fusion block scratch.refinenetN:
 *   out = x0 (+ RCU1(x1) when x1 >= 0); out = RCU2(out); resize; [out_conv]
 * The resize goes to (out_h, out_w), or x2 when out_h == 0 (align_corners=True).
 * `out_conv` > 0: FeatureFusionBlock_custom with a 1x1 out_conv to that width.
 * `inplace_relu`: the v2.1 384 ResidualConvUnit, whose in-place ReLU makes the
 * skip connection add relu(x) instead of x. Marks scratch_refinenetN. */
ds_val ds_decoder_fusion(ds_builder *b, int n, ds_val x0, ds_val x1, int out_h, int out_w,
                         int out_conv, bool inplace_relu);
/* The same under the module <scope> (<scope>.refinenetN). */
ds_val ds_decoder_fusion_in(ds_builder *b, const char *scope, int n, ds_val x0, ds_val x1, int out_h, int out_w,
                            int out_conv, bool inplace_relu);

/* The deepest block built with has_residual=False (Depth Anything 3): no
 * resConfUnit1 in the checkpoint at all. */
ds_val ds_decoder_fusion_deepest(ds_builder *b, const char *scope, int n, ds_val x0, int out_h, int out_w,
                                 int out_conv);

/* scratch.output_conv: conv3x3 -> x2 bilinear -> conv3x3+ReLU -> conv1x1 -> ReLU.
 * Marks head_pre_relu (before the last ReLU) and sets the graph output. */
void ds_decoder_head(ds_builder *b, ds_val x, int mid, bool align_corners);
/* The same with the second conv's width `last` (head_features_2: 32 above, LeViT's 8). */
void ds_decoder_head_widths(ds_builder *b, ds_val x, int mid, int last, bool align_corners);

/* DPTDepthModel's scratch on the four backbone maps (features 256):
 * layerN_rn, refinenet4 -> 1 (each resized to the next level's size, the
 * last x2), then the head (mid 128, align_corners). */
void ds_decoder_dpt(ds_builder *b, const ds_val layer[4]);

#endif
