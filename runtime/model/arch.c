/* arch.c: the table of architectures and the size check before building. */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h" /* ds_fail */

#define IMAGENET_MEAN {0.485f, 0.456f, 0.406f}
#define IMAGENET_STD {0.229f, 0.224f, 0.225f}
#define HALF {0.5f, 0.5f, 0.5f}

/* Depth Anything V2: DINOv2 ViT/14 (37x37 position grid, trained at 518) +
 * DPT head; Depth Anything's own photo path (lower_bound resize to multiples
 * of 14, bilinear back). The head ends in ReLU (relative) or Sigmoid x
 * max_depth (metric), which no tensor records: the name says it. */
#define RELATIVE .quantity = DS_DEPTH_RELATIVE_INVERSE
#define HYPERSIM .quantity = DS_DEPTH_METRIC, .max_depth = 20.0f, .file_hint = "hypersim|indoor"
#define VKITTI .quantity = DS_DEPTH_METRIC, .max_depth = 80.0f, .file_hint = "vkitti|outdoor"
#define DAV2(ID, NAME, BACKBONE, DIM, DEPTH, HEADS, FEATURES, ...)                                   \
    {.id = ID, .name = #NAME, .backbone = BACKBONE, .net_size = 518, .resize_method = "lower_bound", \
     .mean = IMAGENET_MEAN, .std = IMAGENET_STD, .multiple = 14, .features = FEATURES,              \
     .vit_dim = DIM, .vit_depth = DEPTH, .vit_heads = HEADS, .patch_size = 14, .pos_grid = 37,       \
     .no_readout = true,                                                                             \
     .describe = ds_describe_##NAME, .depth_resize = DS_DEPTH_RESIZE_BILINEAR_ALIGNED, __VA_ARGS__}
/* the encoder's taps and the head's widths; the head's end (RELATIVE, ...) last */
#define DAV2_S(ID, NAME, ...)                                                                       \
    DAV2(ID, NAME, "dinov2_vits14", 384, 12, 6, 64, .vit_hooks = {2, 5, 8, 11},                    \
         .reassemble = {48, 96, 192, 384}, __VA_ARGS__)
#define DAV2_B(ID, NAME, ...)                                                                       \
    DAV2(ID, NAME, "dinov2_vitb14", 768, 12, 12, 128, .vit_hooks = {2, 5, 8, 11},                  \
         .reassemble = {96, 192, 384, 768}, __VA_ARGS__)
#define DAV2_L(ID, NAME, ...)                                                                       \
    DAV2(ID, NAME, "dinov2_vitl14", 1024, 24, 16, 256, .vit_hooks = {4, 11, 17, 23},               \
         .reassemble = {256, 512, 1024, 1024}, __VA_ARGS__)

/* Depth Anything 3: DINOv2 ViT/14 (37x37 position grid) + DPT heads, 504
 * pixels on the longest side; depth = exp of the head. */
#define DA3(ID, NAME, BACKBONE, DIM, DEPTH, HEADS, FEATURES, ...)                                    \
    {.id = ID, .name = #NAME, .backbone = BACKBONE, .net_size = 504, .resize_method = "da3",           \
     .mean = IMAGENET_MEAN, .std = IMAGENET_STD, .multiple = 14, .features = FEATURES,              \
     .vit_dim = DIM, .vit_depth = DEPTH, .vit_heads = HEADS, .patch_size = 14, .pos_grid = 37,       \
     .no_readout = true, .describe = ds_describe_##NAME,                                             \
     .depth_resize = DS_DEPTH_RESIZE_BILINEAR_ALIGNED, __VA_ARGS__}
#define DA3_L(ID, NAME, ...)                                                                        \
    DA3(ID, NAME, "dinov2_vitl14", 1024, 24, 16, 256, .vit_hooks = {4, 11, 17, 23},                \
        .reassemble = {256, 512, 1024, 1024}, __VA_ARGS__)

static const ds_arch_info archs[DS_ARCH_COUNT] = {
    {.id = DS_ARCH_MIDAS_V21_SMALL_256, .name = "midas_v21_small_256",
     .backbone = "efficientnet_lite3", .net_size = 256, .resize_method = "upper_bound",
     .mean = IMAGENET_MEAN, .std = IMAGENET_STD, .multiple = 32, .features = 64,
     .describe = ds_describe_midas_v21_small},
    {.id = DS_ARCH_MIDAS_V21_384, .name = "midas_v21_384", .backbone = "resnext101_wsl",
     .net_size = 384, .resize_method = "upper_bound", .mean = IMAGENET_MEAN,
     .std = IMAGENET_STD, .multiple = 32, .features = 256,
     .describe = ds_describe_midas_v21_384},
    {.id = DS_ARCH_DPT_HYBRID_384, .name = "dpt_hybrid_384", .backbone = "vitb_rn50_384",
     .net_size = 384, .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 16,
     .features = 256, .vit_dim = 768, .vit_depth = 12, .vit_heads = 12,
     .vit_hooks = {-1, -1, 8, 11}, .reassemble = {256, 512, 768, 768}, .patch_size = 16,
     .pos_grid = 24, .describe = ds_describe_dpt_hybrid},
    {.id = DS_ARCH_DPT_LARGE_384, .name = "dpt_large_384", .backbone = "vitl16_384",
     .net_size = 384, .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 16,
     .features = 256, .vit_dim = 1024, .vit_depth = 24, .vit_heads = 16,
     .vit_hooks = {5, 11, 17, 23}, .reassemble = {256, 512, 1024, 1024}, .patch_size = 16,
     .pos_grid = 24, .describe = ds_describe_dpt_large},
    {.id = DS_ARCH_DPT_SWIN2_LARGE_384, .name = "dpt_swin2_large_384",
     .backbone = "swinv2_large_window12to24_192to384_22kft1k", .net_size = 384,
     .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 32, .features = 256,
     .fixed_size = true, .describe = ds_describe_dpt_swin2_large},
    {.id = DS_ARCH_DPT_SWIN2_BASE_384, .name = "dpt_swin2_base_384",
     .backbone = "swinv2_base_window12to24_192to384_22kft1k", .net_size = 384,
     .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 32, .features = 256,
     .fixed_size = true, .describe = ds_describe_dpt_swin2_base},
    {.id = DS_ARCH_DPT_SWIN2_TINY_256, .name = "dpt_swin2_tiny_256",
     .backbone = "swinv2_tiny_window16_256", .net_size = 256, .resize_method = "minimal",
     .mean = HALF, .std = HALF, .multiple = 32, .features = 256, .fixed_size = true,
     .describe = ds_describe_dpt_swin2_tiny},
    {.id = DS_ARCH_DPT_SWIN_LARGE_384, .name = "dpt_swin_large_384",
     .backbone = "swin_large_patch4_window12_384", .net_size = 384, .resize_method = "minimal",
     .mean = HALF, .std = HALF, .multiple = 32, .features = 256, .fixed_size = true,
     .describe = ds_describe_dpt_swin_large},
    {.id = DS_ARCH_DPT_LEVIT_224, .name = "dpt_levit_224", .backbone = "levit_384", .net_size = 224,
     .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 32, .features = 256,
     .fixed_size = true, .describe = ds_describe_dpt_levit,
     .no_bf16 = "its third stage cancels too much for bfloat16 operands (rel L2 0.24 against fp32, a "
                "quarter of the depth range)"},
    DAV2_S(DS_ARCH_DEPTH_ANYTHING_V2_VITS, depth_anything_v2_vits, RELATIVE),
    DAV2_B(DS_ARCH_DEPTH_ANYTHING_V2_VITB, depth_anything_v2_vitb, RELATIVE),
    DAV2_L(DS_ARCH_DEPTH_ANYTHING_V2_VITL, depth_anything_v2_vitl, RELATIVE),
    DAV2_S(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITS, depth_anything_v2_metric_hypersim_vits, HYPERSIM),
    DAV2_B(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITB, depth_anything_v2_metric_hypersim_vitb, HYPERSIM),
    DAV2_L(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITL, depth_anything_v2_metric_hypersim_vitl, HYPERSIM),
    DAV2_S(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITS, depth_anything_v2_metric_vkitti_vits, VKITTI),
    DAV2_B(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB, depth_anything_v2_metric_vkitti_vitb, VKITTI),
    DAV2_L(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL, depth_anything_v2_metric_vkitti_vitl, VKITTI),
    DA3(DS_ARCH_DA3_SMALL, da3_small, "dinov2_vits14", 384, 12, 6, 64, .vit_hooks = {5, 7, 9, 11},
        .reassemble = {48, 96, 192, 384}, .quantity = DS_DEPTH_RELATIVE,
        .outputs = DS_OUTPUT_CONFIDENCE | DS_OUTPUT_CAMERA),
    DA3_L(DS_ARCH_DA3MONO_LARGE, da3mono_large, .quantity = DS_DEPTH_RELATIVE, .outputs = DS_OUTPUT_SKY),
    DA3_L(DS_ARCH_DA3METRIC_LARGE, da3metric_large, .quantity = DS_DEPTH_METRIC, .file_hint = "metric",
          .outputs = DS_OUTPUT_SKY, .metric_focal_ref = 300.0f),
    {.id = DS_ARCH_DPT_BEIT_LARGE_512, .name = "dpt_beit_large_512", .backbone = "beitl16_512",
     .net_size = 512, .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 16,
     .features = 256, .vit_dim = 1024, .vit_depth = 24, .vit_heads = 16,
     .vit_hooks = {5, 11, 17, 23}, .reassemble = {256, 512, 1024, 1024}, .patch_size = 16,
     .pos_grid = 32, .describe = ds_describe_beit_large_512},
    {.id = DS_ARCH_DPT_BEIT_LARGE_384, .name = "dpt_beit_large_384", .backbone = "beitl16_384",
     .net_size = 384, .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 16,
     .features = 256, .vit_dim = 1024, .vit_depth = 24, .vit_heads = 16,
     .vit_hooks = {5, 11, 17, 23}, .reassemble = {256, 512, 1024, 1024}, .patch_size = 16,
     .pos_grid = 24, .describe = ds_describe_beit_large_384},
    {.id = DS_ARCH_DPT_BEIT_BASE_384, .name = "dpt_beit_base_384", .backbone = "beitb16_384",
     .net_size = 384, .resize_method = "minimal", .mean = HALF, .std = HALF, .multiple = 16,
     .features = 256, .vit_dim = 768, .vit_depth = 12, .vit_heads = 12,
     .vit_hooks = {2, 5, 8, 11}, .reassemble = {96, 192, 384, 768}, .patch_size = 16,
     .pos_grid = 24, .describe = ds_describe_beit_base_384},
};

const ds_arch_info *ds_arch_get(ds_arch arch) {
    return (unsigned)arch < DS_ARCH_COUNT ? &archs[arch] : NULL;
}

void ds_arch_list(char *buf, size_t len) {
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < DS_ARCH_COUNT && at < len; i++) {
        int n = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", archs[i].name);
        at += n > 0 ? (size_t)n : 0;
    }
}

const char *ds_arch_name(ds_arch arch) {
    const ds_arch_info *a = ds_arch_get(arch);
    return a ? a->name : NULL;
}

ds_arch ds_arch_from_name(const char *name) {
    for (int i = 0; name && i < DS_ARCH_COUNT; i++)
        if (strcmp(archs[i].name, name) == 0)
            return archs[i].id;
    return DS_ARCH_UNKNOWN;
}

const char *ds_depth_quantity_key(ds_depth_quantity q) {
    switch (q) {
    case DS_DEPTH_RELATIVE_INVERSE: return "relative_inverse_depth";
    case DS_DEPTH_METRIC: return "metric_depth_m";
    case DS_DEPTH_RELATIVE: return "relative_depth";
    }
    return "?";
}

ds_status ds_arch_build(ds_arch arch, int h, int w, const ds_param_binder *binder, ds_graph *g) {
    const ds_arch_info *a = ds_arch_get(arch);
    if (!a)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown architecture id %d", (int)arch);
    if (h <= 0 || w <= 0 || h % a->multiple || w % a->multiple || h > DS_MAX_INPUT_SIDE ||
        w > DS_MAX_INPUT_SIDE)
        return ds_fail(DS_ERR_SHAPE,
                       "%s accepts inputs whose height and width are multiples of %d "
                       "from %d to %d, not %dx%d (HxW)",
                       a->name, a->multiple, a->multiple, DS_MAX_INPUT_SIDE, h, w);
    if (a->fixed_size && (h != a->net_size || w != a->net_size))
        return ds_fail(DS_ERR_SHAPE,
                       "%s takes only %dx%d inputs, not %dx%d (HxW): its backbone is built for that size",
                       a->name, a->net_size, a->net_size, h, w);
    ds_builder b;
    ds_builder_init(&b, g, binder);
    a->describe(&b, h, w);
    if (b.status == DS_OK && (g->input < 0 || g->output < 0))
        ds_b_error(&b, DS_ERR_INTERNAL, "%s: description has no input or output", a->name);
    if (b.status != DS_OK)
        ds_graph_free(g);
    return b.status;
}
