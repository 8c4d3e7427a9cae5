/* model/vit.c: the transformer block of timm's VisionTransformer (DPT), of
 * DINOv2, and of Depth Anything 3 (QK-norm, RoPE). */
#include "model/vit.h"

#include <stddef.h>

static const float LN_EPS = 1e-6f;

ds_val ds_vit_block_rope(ds_builder *b, ds_val x, const char *prefix, int dim, int heads, bool layer_scale,
                         const ds_vit_rope *rope) {
    const char *p = prefix;
    const char *ls1 = layer_scale ? ds_b_name(b, "%s.ls1.gamma", p) : NULL;
    const char *ls2 = layer_scale ? ds_b_name(b, "%s.ls2.gamma", p) : NULL;
    ds_val h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm1", p), LN_EPS);
    h = ds_b_linear(b, h, ds_b_name(b, "%s.attn.qkv", p), 3 * dim, DS_ACT_NONE, -1);
    if (rope)
        h = ds_b_qk_rope(b, h, rope->attr, rope->q_norm, rope->k_norm);
    h = ds_b_attention(b, h, heads);
    const char *proj = ds_b_name(b, "%s.attn.proj", p);
    x = ls1 ? ds_b_linear_scaled(b, h, proj, dim, ls1, x) : ds_b_linear(b, h, proj, dim, DS_ACT_NONE, x);
    h = ds_b_layernorm(b, x, ds_b_name(b, "%s.norm2", p), LN_EPS);
    h = ds_b_linear(b, h, ds_b_name(b, "%s.mlp.fc1", p), 4 * dim, DS_ACT_GELU, -1);
    const char *fc2 = ds_b_name(b, "%s.mlp.fc2", p);
    return ls2 ? ds_b_linear_scaled(b, h, fc2, dim, ls2, x) : ds_b_linear(b, h, fc2, dim, DS_ACT_NONE, x);
}

ds_val ds_vit_block(ds_builder *b, ds_val x, const char *prefix, int dim, int heads, bool layer_scale) {
    return ds_vit_block_rope(b, x, prefix, dim, heads, layer_scale, NULL);
}
