/* cpu_fast_kernels.c: the CPU backend's fast op table. */
#include "cpu_conv.h" /* ds_fast_conv2d, ds_fast_conv_transpose, ds_fast_maxpool */
#include "cpu_fast.h" /* the fast ViT, norm, resize and elementwise kernels */
#include "cpu_ops.h"

const ds_cpu_kernel ds_cpu_fast_kernels[DS_OP_COUNT] = {
    [DS_OP_INPUT] = {ds_fast_copy, 0, 0},
    [DS_OP_CONV2D] = {ds_fast_conv2d, ds_fast_conv2d_scratch, ds_fast_conv2d_pack},
    [DS_OP_CONV_TRANSPOSE] = {ds_fast_conv_transpose, ds_fast_conv_transpose_scratch, 0},
    [DS_OP_MAXPOOL] = {ds_fast_maxpool, 0, 0},
    [DS_OP_RESIZE] = {ds_fast_resize, 0, 0},
    [DS_OP_ADD] = {ds_fast_add, 0, 0},
    [DS_OP_ACT] = {ds_fast_act, 0, 0},
    [DS_OP_GROUPNORM] = {ds_fast_groupnorm, ds_fast_groupnorm_scratch, 0},
    [DS_OP_LAYERNORM] = {ds_fast_layernorm, 0, 0},
    [DS_OP_LINEAR] = {ds_fast_linear, ds_fast_linear_scratch, 0},
    [DS_OP_ATTENTION] = {ds_fast_attention, ds_fast_attention_scratch, 0},
    [DS_OP_POS_EMBED] = {ds_fast_pos_embed, 0, 0},
    [DS_OP_PREPEND_TOKEN] = {ds_fast_prepend_token, 0, 0},
    [DS_OP_READOUT_CAT] = {ds_fast_readout_cat, 0, 0},
    [DS_OP_RESHAPE] = {ds_fast_copy, 0, 0},
};
