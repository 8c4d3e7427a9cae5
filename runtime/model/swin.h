/*
 * model/swin.h: what the Swin descriptions (model/swin.c) compute while they
 * build, from the weights and the fixed stage size (model/swin_bias.c):
 * position-bias tables, region labels, and the buffers a checkpoint holds.
 * Each returns a graph-owned constant (ds_b_constant) or NULL after a
 * failure; computed from weights only when the binder gave their data.
 */
#ifndef DS_MODEL_SWIN_H
#define DS_MODEL_SWIN_H

#include "graph/builder.h" /* ds_builder, ds_tensor_ref, ds_window_attr */

/* Swin v2's continuous position bias of one block: 16 * sigmoid(cpb_mlp(f))
 * over the log-spaced offsets f of a win x win window, coordinates divided
 * by `divisor` (pretrained window - 1, or win - 1), as (heads, 2win-1, 2win-1).
 * `prefix` is the block's attention module ("...blocks.1.attn"). */
const ds_tensor_ref *ds_swin2_position_bias(ds_builder *b, const char *prefix, int heads, int win, int divisor,
                                            ds_tensor_ref *out);

/* Swin v1's learned relative_position_bias_table ((2win-1)^2, heads),
 * declared and laid out as (heads, 2win-1, 2win-1). */
const ds_tensor_ref *ds_swin1_position_bias(ds_builder *b, const char *prefix, int heads, int win,
                                            ds_tensor_ref *out);

/* The region labels (res, res) of the rolled map of a shifted block:
 * bands [0, res-win), [res-win, res-shift), [res-shift, res) per axis. */
const ds_tensor_ref *ds_swin_region_labels(ds_builder *b, int res, int win, int shift, ds_tensor_ref *out);

/* The checkpoint buffers of a block, declared with the values the model
 * computes (listing binders only): attn_mask (windows, win^2, win^2) from
 * `labels` when shifted, and relative_position_index (win^2, win^2) when
 * `with_index` (Swin v1). `block` is "...layers.S.blocks.J". */
void ds_swin_buffers(ds_builder *b, const char *block, const ds_window_attr *a, int res,
                     const ds_tensor_ref *labels, bool with_index);

#endif
