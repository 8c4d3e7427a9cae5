/*
 * model/depth_anything_3.c: Depth Anything 3 (ByteDance-Seed/Depth-Anything-3,
 * src/depth_anything_3/model/: da3.py DepthAnything3Net, dinov2/, dualdpt.py,
 * dpt.py, cam_dec.py), one view:
 *
 *  - da3_small: DINOv2 ViT-S/14 with QK-norm, RoPE and alternating attention
 *    from block 4, the camera token, cat_token taps of blocks 5, 7, 9, 11
 *    (model/dinov2.c); DualDPT's main branch (head LayerNorm, UV embedding,
 *    depth = exp, depth_conf = exp + 1); the camera decoder cam_dec on the
 *    last tap's token 0 (pose_enc, an output beside the depth). The ray
 *    branch (refinenetN_aux, output_conv{1,2}_aux) and cam_enc (given poses
 *    only) never run for one picture: declared unused.
 *  - da3mono_large, da3metric_large: plain DINOv2 ViT-L/14 (final norm eps
 *    1e-5) and DPT with a sky head: depth = exp, sky = ReLU (an output);
 *    the sky step (camera.c) comes after the network.
 *
 * Every name carries the `model.` prefix of the published model.safetensors.
 */
#include "model/arch.h"
#include "model/da_head.h" /* ds_da_head_fuse, ds_da_uv_add */
#include "model/dinov2.h"  /* ds_dinov2_encode */

static const char *const SCOPE = "model.backbone.pretrained";
static const char *const HEAD = "model.head";
static const char *const SCRATCH = "model.head.scratch";
static const float DA3_LN_EPS = 1e-5f; /* nn.LayerNorm's default: the final norm, head.norm */

static void unused_linear(ds_builder *b, const char *name, int64_t out, int64_t in) {
    const int64_t s[2] = {out, in};
    ds_b_unused(b, DS_PARAM_LINEAR, name, 2, s, true);
}

static void unused_norm(ds_builder *b, const char *name, int64_t c) {
    ds_b_unused(b, DS_PARAM_NORM, name, 1, &c, true);
}

static void unused_conv(ds_builder *b, const char *name, int64_t out, int64_t in, int64_t k) {
    const int64_t s[4] = {out, in, k, k};
    ds_b_unused(b, DS_PARAM_CONV, name, 4, s, true);
}

/* A transformer block nothing runs (cam_enc's trunk). */
static void unused_block(ds_builder *b, const char *p, int64_t dim) {
    unused_norm(b, ds_b_name(b, "%s.norm1", p), dim);
    unused_linear(b, ds_b_name(b, "%s.attn.qkv", p), 3 * dim, dim);
    unused_linear(b, ds_b_name(b, "%s.attn.proj", p), dim, dim);
    ds_b_unused(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.ls1.gamma", p), 1, &dim, false);
    unused_norm(b, ds_b_name(b, "%s.norm2", p), dim);
    unused_linear(b, ds_b_name(b, "%s.mlp.fc1", p), 4 * dim, dim);
    unused_linear(b, ds_b_name(b, "%s.mlp.fc2", p), dim, 4 * dim);
    ds_b_unused(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.ls2.gamma", p), 1, &dim, false);
}

/* DualDPT's aux (ray) branch and CameraEnc: in the checkpoint, not run. */
static void unused_small(ds_builder *b, const ds_arch_info *cfg) {
    const int f = cfg->features, half = f / 2;
    for (int n = 1; n <= 4; n++) {
        const char *r = ds_b_name(b, "%s.refinenet%d_aux", SCRATCH, n);
        for (int u = n == 4 ? 2 : 1; u <= 2; u++)
            for (int c = 1; c <= 2; c++)
                unused_conv(b, ds_b_name(b, "%s.resConfUnit%d.conv%d", r, u, c), f, f, 3);
        unused_conv(b, ds_b_name(b, "%s.out_conv", r), f, f, 1);
    }
    for (int l = 0; l < 4; l++)
        for (int c = 0; c < 5; c++) /* 64 -> 32 -> 64 -> 32 -> 64 -> 32 */
            unused_conv(b, ds_b_name(b, "%s.output_conv1_aux.%d.%d", SCRATCH, l, c), c % 2 ? f : half,
                        c % 2 ? half : f, 3);
    for (int l = 0; l < 4; l++) {
        unused_conv(b, ds_b_name(b, "%s.output_conv2_aux.%d.0", SCRATCH, l), 32, half, 3);
        /* one LayerNorm module in all four (keys.tsv kind `tied`): a file may
         * store it once, and an unused tensor may be absent (convert.c) */
        unused_norm(b, ds_b_name(b, "%s.output_conv2_aux.%d.2", SCRATCH, l), 32);
        unused_conv(b, ds_b_name(b, "%s.output_conv2_aux.%d.5", SCRATCH, l), 7, 32, 1); /* after Permute, LN, Permute, ReLU */
    }
    const int64_t dim = cfg->vit_dim;
    unused_norm(b, "model.cam_enc.token_norm", dim);
    for (int i = 0; i < 4; i++)
        unused_block(b, ds_b_name(b, "model.cam_enc.trunk.%d", i), dim);
    unused_norm(b, "model.cam_enc.trunk_norm", dim);
    unused_linear(b, "model.cam_enc.pose_branch.fc1", dim / 2, 9);
    unused_linear(b, "model.cam_enc.pose_branch.fc2", dim, dim / 2);
}

/* CameraDec: token (1, 1, 1, 2C) -> pose_enc (1, 1, 1, 9) = t(3), quaternion xyzw(4), fov_h, fov_w. */
static ds_val camera_decoder(ds_builder *b, ds_val token) {
    if (token < 0)
        return -1;
    const int c = (int)ds_b_shape(b, token)[3];
    ds_val f = ds_b_linear(b, token, "model.cam_dec.backbone.0", c, DS_ACT_RELU, -1);
    f = ds_b_linear(b, f, "model.cam_dec.backbone.2", c, DS_ACT_RELU, -1);
    ds_val t = ds_b_linear(b, f, "model.cam_dec.fc_t", 3, DS_ACT_NONE, -1);
    ds_val q = ds_b_linear(b, f, "model.cam_dec.fc_qvec", 4, DS_ACT_NONE, -1);
    ds_val fov = ds_b_linear(b, f, "model.cam_dec.fc_fov.0", 2, DS_ACT_RELU, -1);
    return ds_b_concat(b, ds_b_concat(b, t, q), fov);
}

/* output_conv2 (3x3 -> 32, ReLU, 1x1 -> out) of <name>; marks `mark`. */
static ds_val output_conv2(ds_builder *b, ds_val x, const char *name, int out, const char *mark) {
    ds_conv_spec c2 = {.name = ds_b_name(b, "%s.0", name), .out = 32, .k = 3, .stride = 1, .pad = 1,
                       .bias = true, .act = DS_ACT_RELU};
    x = ds_b_conv(b, x, &c2, -1);
    ds_conv_spec c3 = {.name = ds_b_name(b, "%s.2", name), .out = out, .k = 1, .stride = 1, .bias = true};
    x = ds_b_conv(b, x, &c3, -1);
    ds_b_mark(b, mark, x);
    return x;
}

/* output_conv1 -> bilinear (align_corners) to (h, w), marks head_conv1. */
static ds_val output_conv1(ds_builder *b, ds_val x, int h, int w, const ds_arch_info *cfg) {
    ds_conv_spec c1 = {.name = ds_b_name(b, "%s.output_conv1", SCRATCH), .out = cfg->features / 2, .k = 3,
                       .stride = 1, .pad = 1, .bias = true};
    x = ds_b_conv(b, x, &c1, -1);
    ds_b_mark(b, "head_conv1", x);
    return ds_b_resize(b, x, h, w, true);
}

static void describe_small(ds_builder *b, int h, int w, ds_arch id) {
    const ds_arch_info *cfg = ds_arch_get(id);
    const ds_dinov2_opts o = {.norm_eps = DA3_LN_EPS, .alt_start = 4, .rope_base = 100.0f, .cat_token = true};
    ds_val taps[4], cam = -1;
    ds_dinov2_encode(b, ds_b_input(b, h, w), SCOPE, cfg, &o, true, taps, &cam);
    const ds_da_head head = {.scope = HEAD, .norm = ds_b_name(b, "%s.norm", HEAD), .norm_eps = DA3_LN_EPS,
                             .uv_w = w, .uv_h = h};
    ds_val x = output_conv1(b, ds_da_head_fuse(b, taps, cfg, &head), h, w, cfg);
    x = output_conv2(b, ds_da_uv_add(b, x, w, h), ds_b_name(b, "%s.output_conv2", SCRATCH), 2, "head_pre_act");
    ds_b_output(b, ds_b_act(b, ds_b_slice(b, x, 0, w, 0, 1), DS_ACT_EXP));
    ds_b_output_named(b, "depth_conf", ds_b_act(b, ds_b_slice(b, x, 0, w, 1, 1), DS_ACT_EXP1));
    ds_b_output_named(b, "pose_enc", camera_decoder(b, cam));
    unused_small(b, cfg);
}

static void describe_large(ds_builder *b, int h, int w, ds_arch id) {
    const ds_arch_info *cfg = ds_arch_get(id);
    const ds_dinov2_opts o = {.norm_eps = DA3_LN_EPS, .alt_start = -1};
    ds_val taps[4];
    ds_dinov2_encode(b, ds_b_input(b, h, w), SCOPE, cfg, &o, true, taps, NULL);
    const ds_da_head head = {.scope = HEAD};
    ds_val x = output_conv1(b, ds_da_head_fuse(b, taps, cfg, &head), h, w, cfg);
    ds_val d = output_conv2(b, x, ds_b_name(b, "%s.output_conv2", SCRATCH), 1, "head_pre_act");
    ds_val s = output_conv2(b, x, ds_b_name(b, "%s.sky_output_conv2", SCRATCH), 1, "sky_pre_act");
    d = ds_b_act(b, d, DS_ACT_EXP);
    ds_b_mark(b, "head_depth", d);
    ds_b_output(b, d);
    ds_b_output_named(b, "sky", ds_b_act(b, s, DS_ACT_RELU));
}

void ds_describe_da3_small(ds_builder *b, int h, int w) { describe_small(b, h, w, DS_ARCH_DA3_SMALL); }
void ds_describe_da3mono_large(ds_builder *b, int h, int w) { describe_large(b, h, w, DS_ARCH_DA3MONO_LARGE); }
void ds_describe_da3metric_large(ds_builder *b, int h, int w) { describe_large(b, h, w, DS_ARCH_DA3METRIC_LARGE); }
