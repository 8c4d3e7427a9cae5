/* model/vit.h: the pre-norm transformer block of timm's VisionTransformer,
 * shared by the ViT descriptions (DPT's ViT-B/L, DINOv2, Depth Anything 3). */
#ifndef DS_MODEL_VIT_H
#define DS_MODEL_VIT_H

#include <stdbool.h>

#include "graph/builder.h" /* ds_builder, ds_val */

/* On tokens x (1, 1, T, dim), the block <prefix> (LayerNorm eps 1e-6):
 *   x = x + [ls1 *] proj(attn(norm1(x)));  x = x + [ls2 *] fc2(GELU(fc1(norm2(x))))
 * with one qkv linear, `heads` heads, an MLP of 4 x dim, exact GELU.
 * layer_scale: DINOv2's LayerScale, the tensors <prefix>.ls1.gamma and
 * <prefix>.ls2.gamma (dim), folded into attn.proj and mlp.fc2 by the converter. */
ds_val ds_vit_block(ds_builder *b, ds_val x, const char *prefix, int dim, int heads, bool layer_scale);

/* Depth Anything 3's attention additions: q and k through their per-head
 * LayerNorms (q_norm, k_norm: module paths, or NULL) and the 2-D RoPE of
 * attr, between the qkv linear and the attention. */
typedef struct ds_vit_rope {
    const ds_rope_attr *attr;
    const char *q_norm, *k_norm;
} ds_vit_rope;
ds_val ds_vit_block_rope(ds_builder *b, ds_val x, const char *prefix, int dim, int heads, bool layer_scale,
                         const ds_vit_rope *rope);

#endif
