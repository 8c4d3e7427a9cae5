/* cpu/fast/kernels.c: the CPU backend's fast op tables: float32, and
 * precision bf16 (the same but for the linear layers). */
#include "cpu/conv/conv.h" /* ds_fast_conv2d, ds_fast_conv_transpose, ds_fast_maxpool */
#include "cpu/fast/fast.h" /* the fast ViT, norm, resize and elementwise kernels */
#include "cpu/ops.h"

/* every op's fast kernel but the linear's */
#define FAST_KERNELS_BUT_LINEAR \
    [DS_OP_INPUT] = {.run = ds_fast_copy}, \
    [DS_OP_CONV2D] = {.run = ds_fast_conv2d, \
                      .scratch_bytes = ds_fast_conv2d_scratch, \
                      .pack = ds_fast_conv2d_pack, \
                      .pack_key = ds_fast_conv2d_pack_key}, \
    [DS_OP_CONV_TRANSPOSE] = {.run = ds_fast_conv_transpose, \
                              .scratch_bytes = ds_fast_conv_transpose_scratch}, \
    [DS_OP_MAXPOOL] = {.run = ds_fast_maxpool}, \
    [DS_OP_RESIZE] = {.run = ds_fast_resize}, \
    [DS_OP_ADD] = {.run = ds_fast_add}, \
    [DS_OP_ACT] = {.run = ds_fast_act}, \
    [DS_OP_GROUPNORM] = {.run = ds_fast_groupnorm, .scratch_bytes = ds_fast_groupnorm_scratch}, \
    [DS_OP_LAYERNORM] = {.run = ds_fast_layernorm}, \
    [DS_OP_ATTENTION] = {.run = ds_fast_attention, .scratch_bytes = ds_fast_attention_scratch}, \
    [DS_OP_POS_EMBED] = {.run = ds_fast_pos_embed}, \
    [DS_OP_PREPEND_TOKEN] = {.run = ds_fast_prepend_token}, \
    [DS_OP_READOUT_CAT] = {.run = ds_fast_readout_cat}, \
    [DS_OP_RESHAPE] = {.run = ds_fast_copy}, \
    [DS_OP_WINDOW_ATTENTION] = {.run = ds_fast_window_attention, \
                                .scratch_bytes = ds_fast_window_attention_scratch}, \
    [DS_OP_PATCH_MERGE] = {.run = ds_fast_patch_merge}, \
    [DS_OP_LEVIT_ATTENTION] = {.run = ds_fast_levit_attention, .scratch_bytes = ds_fast_levit_attention_scratch}, \
    [DS_OP_POS_EMBED_BICUBIC] = {.run = ds_fast_pos_embed_bicubic}, \
    [DS_OP_DROP_TOKEN] = {.run = ds_fast_drop_token}, \
    [DS_OP_SCALE] = {.run = ds_fast_scale}, \
    [DS_OP_QK_ROPE] = {.run = ds_fast_qk_rope, .scratch_bytes = ds_fast_qk_rope_scratch}, \
    [DS_OP_CONCAT] = {.run = ds_fast_concat}, \
    [DS_OP_SET_TOKEN] = {.run = ds_fast_set_token}, \
    [DS_OP_SLICE] = {.run = ds_fast_slice}, \
    [DS_OP_CONSTANT] = {.run = ds_fast_constant},

const ds_cpu_kernel ds_cpu_fast_kernels[DS_OP_COUNT] = {
    FAST_KERNELS_BUT_LINEAR
    [DS_OP_LINEAR] = {.run = ds_fast_linear,
                      .scratch_bytes = ds_fast_linear_scratch,
                      .pack = ds_fast_linear_pack,
                      .pack_key = ds_fast_linear_pack_key},
};

const ds_cpu_kernel ds_cpu_fast_bf16_kernels[DS_OP_COUNT] = {
    FAST_KERNELS_BUT_LINEAR
    [DS_OP_LINEAR] = {.run = ds_fast_linear_bf16,
                      .scratch_bytes = ds_fast_linear_bf16_scratch,
                      .pack = ds_fast_linear_bf16_pack,
                      .pack_key = ds_fast_linear_bf16_pack_key},
};
