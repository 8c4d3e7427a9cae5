/*
 * arch.h: the architectures the engine knows (MiDaS, Depth Anything V2), and
 * their descriptions.
 *
 * Each description (the files of model/) mirrors the PyTorch module tree of the official
 * model: it builds the layer graph for an input size and declares every
 * parameter by its state_dict name (see builder.h).
 */
#ifndef DS_ARCH_H
#define DS_ARCH_H

#include "graph/builder.h"    /* ds_builder, ds_param_binder */
#include "depthsolve.h" /* ds_arch */

typedef struct ds_arch_info {
    ds_arch id;
    const char *name;          /* "midas_v21_small_256" */
    const char *backbone;      /* "efficientnet_lite3", ... */
    int net_size;              /* training resolution: 256 or 384 */
    const char *resize_method; /* "upper_bound" or "minimal" (run.py) */
    float mean[3], std[3];     /* input normalization */
    int multiple;              /* input sides must be multiples of this */
    int features;              /* decoder width */
    /* ViT backbones (DPT) only, else 0 */
    int vit_dim, vit_depth, vit_heads;
    int vit_hooks[4];          /* blocks read by the decoder; -1: a ResNet stem stage */
    int reassemble[4];         /* widths of the four reassembled maps */
    int patch_size, pos_grid;  /* 16, and the 24x24 grid of the trained position embedding
                                  (BEiT: of the trained relative position tables) */
    bool fixed_size;           /* only net_size x net_size inputs (Swin's windows and masks, LeViT's tables are built for it) */
    bool no_readout;           /* the class token is dropped (Depth Anything), not DPT's readout "project" */
    const char *no_bf16;       /* why precision bf16 is refused for it, or NULL: it runs */
    /* Builds the graph for an (h, w) input; h and w are already checked. */
    void (*describe)(ds_builder *b, int h, int w);
    /* What the photo path does around the network (ds_model_info) */
    ds_depth_resize depth_resize; /* back to the photo's size */
    ds_depth_quantity quantity;   /* what the output holds */
    float max_depth;              /* metric: metres at the output's top (Sigmoid x max_depth) */
    /* Architectures with the same tensors (Depth Anything V2's relative and
     * metric heads): words of the checkpoint's path that pick this one,
     * '|'-separated ("hypersim|indoor": the official file and the -hf page
     * names), or NULL for the one taken when no word says. */
    const char *file_hint;
    /* Depth Anything 3 */
    int outputs;            /* DS_OUTPUT_* bits */
    float metric_focal_ref; /* metres = output x focal / this (300); 0: not metric this way */
} ds_arch_info;

enum { DS_MAX_INPUT_SIDE = 8192 };

const ds_arch_info *ds_arch_get(ds_arch arch); /* NULL if out of range */
/* "midas_v21_small_256, midas_v21_384, ...": every architecture's name, for messages. */
void ds_arch_list(char *buf, size_t len);
/* The GGUF value of depthsolve.depth_quantity: "relative_inverse_depth", ... */
const char *ds_depth_quantity_key(ds_depth_quantity q);

/* Builds the graph of `arch` for a 1x3xHxW input. Sizes that are not
 * positive multiples of the architecture's multiple, or too large, fail
 * with DS_ERR_SHAPE and a message saying what is accepted. */
ds_status ds_arch_build(ds_arch arch, int h, int w, const ds_param_binder *binder, ds_graph *g);

/* The descriptions, one per file. */
void ds_describe_midas_v21_small(ds_builder *b, int h, int w);
void ds_describe_midas_v21_384(ds_builder *b, int h, int w);
void ds_describe_dpt_hybrid(ds_builder *b, int h, int w);
void ds_describe_dpt_large(ds_builder *b, int h, int w);
void ds_describe_dpt_swin2_large(ds_builder *b, int h, int w);
void ds_describe_dpt_swin2_base(ds_builder *b, int h, int w);
void ds_describe_dpt_swin2_tiny(ds_builder *b, int h, int w);
void ds_describe_dpt_swin_large(ds_builder *b, int h, int w);
void ds_describe_dpt_levit(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_vits(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_vitb(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_vitl(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_hypersim_vits(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_hypersim_vitb(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_hypersim_vitl(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_vkitti_vits(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_vkitti_vitb(ds_builder *b, int h, int w);
void ds_describe_depth_anything_v2_metric_vkitti_vitl(ds_builder *b, int h, int w);
void ds_describe_da3_small(ds_builder *b, int h, int w);
void ds_describe_da3mono_large(ds_builder *b, int h, int w);
void ds_describe_da3metric_large(ds_builder *b, int h, int w);
void ds_describe_beit_large_512(ds_builder *b, int h, int w);
void ds_describe_beit_large_384(ds_builder *b, int h, int w);
void ds_describe_beit_base_384(ds_builder *b, int h, int w);

#endif
