/*
 * model/dpt.c: dpt_large_384 (ViT-L/16) and dpt_hybrid_384 (ViT-B/16 on a
 * ResNet-50 v2 stem): DPTDepthModel with readout "project", features 256.
 *
 * Shapes: tokens are (1, 1, T, C) with T = 1 + gh*gw, gh = H/16, gw = W/16.
 * Timm 0.6.13 VisionTransformer blocks: x += proj(attn(LN1(x))); x += fc2(GELU(fc1(LN2(x)))).
 */
#include "model/dpt.h"

#include "model/decoder.h"
#include "model/vit.h" /* ds_vit_block */

static const float GN_EPS = 1e-5f;
static const float WS_EPS = 1e-8f; /* timm: StdConv2dSame(eps=1e-8) in the hybrid stem */

ds_val ds_dpt_reassemble(ds_builder *b, ds_val tokens, int n, int gh, int gw, const ds_arch_info *cfg) {
    const char *p = ds_b_name(b, "pretrained.act_postprocess%d", n);
    int f = cfg->reassemble[n - 1];
    ds_val x = ds_b_readout_cat(b, tokens, gh, gw);
    x = ds_b_linear(b, x, ds_b_name(b, "%s.0.project.0", p), cfg->vit_dim, DS_ACT_GELU, -1);
    ds_conv_spec c3 = {.name = ds_b_name(b, "%s.3", p), .out = f, .k = 1, .stride = 1, .bias = true};
    x = ds_b_conv(b, x, &c3, -1);
    if (n == 1 || n == 2)
        return ds_b_conv_transpose(b, x, ds_b_name(b, "%s.4", p), f, n == 1 ? 4 : 2);
    if (n == 4) {
        ds_conv_spec c4 = {.name = ds_b_name(b, "%s.4", p), .out = f, .k = 3, .stride = 2,
                           .pad = 1, .bias = true};
        return ds_b_conv(b, x, &c4, -1);
    }
    return x;
}

/* timm ResNetV2 bottleneck (non pre-activation), weight-standardized convs,
 * GroupNorm(32): act3(norm3(conv3(...)) + shortcut); stride on the 3x3 conv. */
static ds_val resnetv2_block(ds_builder *b, ds_val x, const char *p, int out, int stride, int first) {
    int mid = out / 4;
    ds_val skip = x;
    if (first) {
        ds_conv_spec d = {.name = ds_b_name(b, "%s.downsample.conv", p), .out = out, .k = 1,
                          .stride = stride, .same = true, .ws_eps = WS_EPS};
        skip = ds_b_conv(b, x, &d, -1);
        skip = ds_b_groupnorm(b, skip, ds_b_name(b, "%s.downsample.norm", p), 32, GN_EPS, -1,
                              DS_ACT_NONE);
    }
    ds_conv_spec c1 = {.name = ds_b_name(b, "%s.conv1", p), .out = mid, .k = 1, .stride = 1,
                       .same = true, .ws_eps = WS_EPS};
    ds_val h = ds_b_conv(b, x, &c1, -1);
    h = ds_b_groupnorm(b, h, ds_b_name(b, "%s.norm1", p), 32, GN_EPS, -1, DS_ACT_RELU);
    ds_conv_spec c2 = {.name = ds_b_name(b, "%s.conv2", p), .out = mid, .k = 3,
                       .stride = stride, .same = true, .ws_eps = WS_EPS};
    h = ds_b_conv(b, h, &c2, -1);
    h = ds_b_groupnorm(b, h, ds_b_name(b, "%s.norm2", p), 32, GN_EPS, -1, DS_ACT_RELU);
    ds_conv_spec c3 = {.name = ds_b_name(b, "%s.conv3", p), .out = out, .k = 1, .stride = 1,
                       .same = true, .ws_eps = WS_EPS};
    h = ds_b_conv(b, h, &c3, -1);
    return ds_b_groupnorm(b, h, ds_b_name(b, "%s.norm3", p), 32, GN_EPS, skip, DS_ACT_RELU);
}

/* The hybrid's patch embedding backbone: stem and three stages (3, 4, 9 blocks);
 * stages 1 and 2 are the decoder's layer1 and layer2. Returns the H/16 map. */
static ds_val resnetv2_stem(ds_builder *b, ds_val x, ds_val layer[2]) {
    static const int blocks[3] = {3, 4, 9};
    const char *base = "pretrained.model.patch_embed.backbone";
    ds_conv_spec stem = {.name = ds_b_name(b, "%s.stem.conv", base), .out = 64, .k = 7,
                         .stride = 2, .same = true, .ws_eps = WS_EPS};
    x = ds_b_conv(b, x, &stem, -1);
    x = ds_b_groupnorm(b, x, ds_b_name(b, "%s.stem.norm", base), 32, GN_EPS, -1, DS_ACT_RELU);
    x = ds_b_maxpool(b, x, 3, 2, 0, true);
    for (int s = 0; s < 3; s++) {
        for (int j = 0; j < blocks[s]; j++) {
            const char *p = ds_b_name(b, "%s.stages.%d.blocks.%d", base, s, j);
            x = resnetv2_block(b, x, p, 256 << s, (j == 0 && s > 0) ? 2 : 1, j == 0);
        }
        if (s < 2)
            layer[s] = x;
    }
    return x;
}

static void describe_dpt(ds_builder *b, int h, int w, const ds_arch_info *cfg, int hybrid) {
    int gh = h / cfg->patch_size, gw = w / cfg->patch_size;
    ds_val x = ds_b_input(b, h, w);
    ds_val layer[4] = {-1, -1, -1, -1};
    if (hybrid) {
        x = resnetv2_stem(b, x, layer);
        ds_conv_spec proj = {.name = "pretrained.model.patch_embed.proj", .out = cfg->vit_dim,
                             .k = 1, .stride = 1, .bias = true};
        x = ds_b_conv(b, x, &proj, -1);
    } else {
        ds_conv_spec proj = {.name = "pretrained.model.patch_embed.proj", .out = cfg->vit_dim,
                             .k = cfg->patch_size, .stride = cfg->patch_size, .bias = true};
        x = ds_b_conv(b, x, &proj, -1);
    }
    x = ds_b_reshape(b, x, 1, 1, (int64_t)gh * gw, cfg->vit_dim);
    x = ds_b_prepend_token(b, x, "pretrained.model.cls_token");
    ds_val pos = ds_b_pos_embed(b, "pretrained.model.pos_embed", cfg->pos_grid, cfg->vit_dim, gh, gw);
    x = ds_b_add(b, x, pos, DS_ACT_NONE);
    ds_val hooked[4] = {-1, -1, -1, -1};
    int last = 0;
    for (int i = 0; i < 4; i++)
        if (cfg->vit_hooks[i] > last)
            last = cfg->vit_hooks[i];
    for (int i = 0; i <= last; i++) {
        x = ds_vit_block(b, x, ds_b_name(b, "pretrained.model.blocks.%d", i), cfg->vit_dim, cfg->vit_heads,
                         false);
        for (int k = 0; k < 4; k++)
            if (cfg->vit_hooks[k] == i)
                hooked[k] = x;
    }
    /* The final norm and classifier exist in the checkpoint; no hook reads them. */
    int64_t norm_shape[1] = {cfg->vit_dim};
    ds_b_unused(b, DS_PARAM_NORM, "pretrained.model.norm", 1, norm_shape, true);
    int64_t head_shape[2] = {1000, cfg->vit_dim};
    ds_b_unused(b, DS_PARAM_LINEAR, "pretrained.model.head", 2, head_shape, true);
    for (int k = 0; k < 4; k++)
        if (cfg->vit_hooks[k] >= 0)
            layer[k] = ds_dpt_reassemble(b, hooked[k], k + 1, gh, gw, cfg);
    ds_decoder_dpt(b, layer);
}

void ds_describe_dpt_large(ds_builder *b, int h, int w) {
    describe_dpt(b, h, w, ds_arch_get(DS_ARCH_DPT_LARGE_384), 0);
}

void ds_describe_dpt_hybrid(ds_builder *b, int h, int w) {
    describe_dpt(b, h, w, ds_arch_get(DS_ARCH_DPT_HYBRID_384), 1);
}
