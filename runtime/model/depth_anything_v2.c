/*
 * model/depth_anything_v2.c: Depth Anything V2 (DepthAnything/Depth-Anything-V2,
 * depth_anything_v2/dpt.py; metric_depth/ for the metric heads): the DINOv2
 * encoder (model/dinov2.c) and its DPTHead with use_bn=False and
 * use_clstoken=False, features 64/128/256 for ViT-S/B/L.
 *
 * Head, for a gh x gw patch grid: each tap -> projects[i] (1x1) ->
 * resize_layers[i] (ConvTranspose k4 -> 4g, k2 -> 2g, none, 3x3 stride-2
 * conv -> ceil(g/2)) -> layer{i+1}_rn; the fusion blocks of the shared
 * decoder (ReLU not in place, align_corners=True), each resized to the next
 * skip's size, the last x2 to 8g; output_conv1 (3x3, features/2), bilinear
 * align_corners=True to exactly 14g, output_conv2 (3x3 -> 32, ReLU, 1x1 -> 1),
 * then ReLU (relative) or Sigmoid x max_depth (metric).
 */
#include "model/arch.h"
#include "model/da_head.h" /* ds_da_head_fuse */
#include "model/dinov2.h"  /* ds_dinov2_taps */

static const char *const SCRATCH = "depth_head.scratch";

/* output_conv1 -> bilinear to (h, w) -> output_conv2 -> the head's last activation. */
static void depth_out(ds_builder *b, ds_val x, int h, int w, const ds_arch_info *cfg) {
    ds_conv_spec c1 = {.name = ds_b_name(b, "%s.output_conv1", SCRATCH), .out = cfg->features / 2, .k = 3,
                       .stride = 1, .pad = 1, .bias = true};
    x = ds_b_conv(b, x, &c1, -1);
    ds_b_mark(b, "head_conv1", x);
    x = ds_b_resize(b, x, h, w, true);
    ds_conv_spec c2 = {.name = ds_b_name(b, "%s.output_conv2.0", SCRATCH), .out = 32, .k = 3, .stride = 1,
                       .pad = 1, .bias = true, .act = DS_ACT_RELU};
    x = ds_b_conv(b, x, &c2, -1);
    ds_conv_spec c3 = {.name = ds_b_name(b, "%s.output_conv2.2", SCRATCH), .out = 1, .k = 1, .stride = 1,
                       .bias = true};
    x = ds_b_conv(b, x, &c3, -1);
    ds_b_mark(b, "head_pre_act", x);
    if (cfg->quantity == DS_DEPTH_METRIC) /* metres in (0, max_depth) */
        x = ds_b_scale(b, ds_b_act(b, x, DS_ACT_SIGMOID), cfg->max_depth);
    else /* output_conv2's ReLU, then the model's F.relu again: one is enough */
        x = ds_b_act(b, x, DS_ACT_RELU);
    ds_b_output(b, x);
}

static void describe(ds_builder *b, int h, int w, ds_arch id) {
    const ds_arch_info *cfg = ds_arch_get(id);
    ds_val taps[4];
    ds_dinov2_taps(b, ds_b_input(b, h, w), "pretrained", cfg, taps);
    const ds_da_head head = {.scope = "depth_head", .deepest_unit1 = true};
    depth_out(b, ds_da_head_fuse(b, taps, cfg, &head), h, w, cfg);
}

#define DESCRIBE(NAME, ID) \
    void ds_describe_##NAME(ds_builder *b, int h, int w) { describe(b, h, w, ID); }
DESCRIBE(depth_anything_v2_vits, DS_ARCH_DEPTH_ANYTHING_V2_VITS)
DESCRIBE(depth_anything_v2_vitb, DS_ARCH_DEPTH_ANYTHING_V2_VITB)
DESCRIBE(depth_anything_v2_vitl, DS_ARCH_DEPTH_ANYTHING_V2_VITL)
DESCRIBE(depth_anything_v2_metric_hypersim_vits, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITS)
DESCRIBE(depth_anything_v2_metric_hypersim_vitb, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITB)
DESCRIBE(depth_anything_v2_metric_hypersim_vitl, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITL)
DESCRIBE(depth_anything_v2_metric_vkitti_vits, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITS)
DESCRIBE(depth_anything_v2_metric_vkitti_vitb, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB)
DESCRIBE(depth_anything_v2_metric_vkitti_vitl, DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL)
