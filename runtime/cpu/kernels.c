/* cpu/kernels.c: the CPU backend's reference op table, and what every table's
 * pack hooks mean. */
#include "cpu/ops.h"

int ds_cpu_kernel_packs(const ds_cpu_kernel *k, const ds_node *n, int n_threads) {
    return k->pack && (!k->pack_key || k->pack_key(n, n_threads) >= 0);
}

const ds_cpu_kernel ds_cpu_ref_kernels[DS_OP_COUNT] = {
    [DS_OP_INPUT] = {.run = ds_ref_copy},
    [DS_OP_CONV2D] = {.run = ds_ref_conv2d},
    [DS_OP_CONV_TRANSPOSE] = {.run = ds_ref_conv_transpose},
    [DS_OP_MAXPOOL] = {.run = ds_ref_maxpool},
    [DS_OP_RESIZE] = {.run = ds_ref_resize},
    [DS_OP_ADD] = {.run = ds_ref_add},
    [DS_OP_ACT] = {.run = ds_ref_act},
    [DS_OP_GROUPNORM] = {.run = ds_ref_groupnorm},
    [DS_OP_LAYERNORM] = {.run = ds_ref_layernorm},
    [DS_OP_LINEAR] = {.run = ds_ref_linear},
    [DS_OP_ATTENTION] = {.run = ds_ref_attention, .scratch_bytes = ds_ref_attention_scratch},
    [DS_OP_POS_EMBED] = {.run = ds_ref_pos_embed},
    [DS_OP_PREPEND_TOKEN] = {.run = ds_ref_prepend_token},
    [DS_OP_READOUT_CAT] = {.run = ds_ref_readout_cat},
    [DS_OP_RESHAPE] = {.run = ds_ref_copy},
    [DS_OP_WINDOW_ATTENTION] = {.run = ds_ref_window_attention,
                                .scratch_bytes = ds_ref_window_attention_scratch},
    [DS_OP_PATCH_MERGE] = {.run = ds_ref_patch_merge},
    [DS_OP_LEVIT_ATTENTION] = {.run = ds_ref_levit_attention, .scratch_bytes = ds_ref_levit_attention_scratch},
    [DS_OP_POS_EMBED_BICUBIC] = {.run = ds_ref_pos_embed_bicubic},
    [DS_OP_DROP_TOKEN] = {.run = ds_ref_drop_token},
    [DS_OP_SCALE] = {.run = ds_ref_scale},
    [DS_OP_QK_ROPE] = {.run = ds_ref_qk_rope},
    [DS_OP_CONCAT] = {.run = ds_ref_concat},
    [DS_OP_SET_TOKEN] = {.run = ds_ref_set_token},
    [DS_OP_SLICE] = {.run = ds_ref_slice},
    [DS_OP_CONSTANT] = {.run = ds_ref_constant},
};
