/* arch.c: the table of architectures and the size check before building. */
#include "arch.h"

#include <string.h>

#include "error.h" /* ds_fail */

#define IMAGENET_MEAN {0.485f, 0.456f, 0.406f}
#define IMAGENET_STD {0.229f, 0.224f, 0.225f}
#define HALF {0.5f, 0.5f, 0.5f}

static const ds_arch_info archs[DS_ARCH_COUNT] = {
    {DS_ARCH_MIDAS_V21_SMALL_256, "midas_v21_small_256", "efficientnet_lite3", 256,
     "upper_bound", IMAGENET_MEAN, IMAGENET_STD, 32, 64, ds_describe_midas_v21_small},
    {DS_ARCH_MIDAS_V21_384, "midas_v21_384", "resnext101_wsl", 384, "upper_bound",
     IMAGENET_MEAN, IMAGENET_STD, 32, 256, ds_describe_midas_v21_384},
    {DS_ARCH_DPT_HYBRID_384, "dpt_hybrid_384", "vitb_rn50_384", 384, "minimal", HALF, HALF, 16,
     256, ds_describe_dpt_hybrid},
    {DS_ARCH_DPT_LARGE_384, "dpt_large_384", "vitl16_384", 384, "minimal", HALF, HALF, 16, 256,
     ds_describe_dpt_large},
};

const ds_arch_info *ds_arch_get(ds_arch arch) {
    return (unsigned)arch < DS_ARCH_COUNT ? &archs[arch] : NULL;
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
    ds_builder b;
    ds_builder_init(&b, g, binder);
    a->describe(&b, h, w);
    if (b.status == DS_OK && (g->input < 0 || g->output < 0))
        ds_b_error(&b, DS_ERR_INTERNAL, "%s: description has no input or output", a->name);
    if (b.status != DS_OK)
        ds_graph_free(g);
    return b.status;
}
