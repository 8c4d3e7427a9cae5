/* model/da_head.h: Depth Anything's DPT head up to the last fusion block,
 * shared by V2 (DPTHead) and 3 (DPT, DualDPT's main branch). */
#ifndef DS_MODEL_DA_HEAD_H
#define DS_MODEL_DA_HEAD_H

#include "model/arch.h" /* ds_arch_info, ds_builder */

typedef struct ds_da_head {
    const char *scope;   /* the head module: "depth_head" (V2), "model.head" (DA3) */
    const char *norm;    /* a LayerNorm (eps norm_eps) on every tap before projects (DualDPT), or NULL */
    float norm_eps;
    /* DualDPT's UV position embedding after each projects[i], for an image
     * of w x h pixels; 0: none */
    int uv_w, uv_h;
    bool deepest_unit1;  /* refinenet4 holds an unused resConfUnit1 (V2) */
} ds_da_head;

/* taps (1, gh, gw, C) -> projects[i] -> [UV] -> resize_layers[i] (ConvTranspose
 * k4 -> 4g, k2 -> 2g, none, 3x3 stride-2 conv -> ceil(g/2)), marked
 * head_project1..4 -> <scope>.scratch.layerN_rn -> refinenet4 .. 1 (each
 * resized to the next skip, the last x2 to 8g): the last fusion output
 * (1, 8gh, 8gw, features). */
ds_val ds_da_head_fuse(ds_builder *b, const ds_val taps[4], const ds_arch_info *cfg, const ds_da_head *h);

/* x + 0.1 * DualDPT's UV embedding (create_uv_grid, position_grid_to_embed
 * with omega_0 100) for a map x (1, h, w, C), C a multiple of 4, of an
 * image of aspect image_w / image_h. */
ds_val ds_da_uv_add(ds_builder *b, ds_val x, int image_w, int image_h);

#endif
