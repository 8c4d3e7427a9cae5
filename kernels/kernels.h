/*
 * kernels.h: the op entries of our own CUDA kernels (kernels/<op>.cu).
 *
 * Each entry checks shapes, picks a grid and launches on k->stream. Tensors
 * are device memory in the CPU backend's layout (NHWC float32, see cpu/ops.h),
 * and each op computes what its reference in runtime/cpu_ref_*.c (or the
 * function named) computes, with the same attributes (graph.h). Elementwise
 * ops may write in place (y == x, or y == r where the planner allows it).
 *
 * k->block sets the threads per block (0: the op's own choice); the
 * reductions (layernorm, groupnorm, minmax) need a multiple of 32.
 * Two-dimensional kernels use (32, block / 32) threads, or (block, 1) below 32.
 *
 * The graph ops share ds_cpu_op's shape (gpu_op); the image and depth-map
 * ops around the network have their own signatures.
 */
#ifndef DS_KERNELS_H
#define DS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_fp16.h> /* __half */

#include "graph/graph.h"  /* ds_node, ds_act */
#include "graph/tensor.h" /* ds_tensor */
#include "gpu/gpu_rt.h"  /* DS_CUDA_NS, cudaStream_t */

namespace DS_CUDA_NS {

struct kern_ctx {
    cudaStream_t stream;
    int block; /* threads per block; 0: the op's choice */
};

/* One node's execution, as ds_cpu_op, with device pointers. */
struct gpu_op {
    const ds_node *node;
    const ds_tensor *x; /* input 0 */
    const ds_tensor *r; /* input 1 (residual, second operand) or NULL */
    ds_tensor *y;       /* output, shape = node->shape */
    const float *w;     /* weight or NULL */
    const float *b;     /* bias or NULL */
    const float *w2 = NULL, *w3 = NULL; /* the node's weight slots 2 and 3 (graph.h), or NULL */
};

/* ---- graph ops (ds_ref_*) ---- */
ds_status op_add(const kern_ctx *k, const gpu_op *op);       /* DS_OP_ADD: act(x + r) */
ds_status op_act(const kern_ctx *k, const gpu_op *op);       /* DS_OP_ACT: act(x) */
ds_status op_resize(const kern_ctx *k, const gpu_op *op);    /* DS_OP_RESIZE: bilinear */
ds_status op_maxpool(const kern_ctx *k, const gpu_op *op);   /* DS_OP_MAXPOOL */
ds_status op_layernorm(const kern_ctx *k, const gpu_op *op); /* DS_OP_LAYERNORM: w, b (C) */
ds_status op_groupnorm(const kern_ctx *k, const gpu_op *op); /* DS_OP_GROUPNORM: w, b (C), r optional */

/* DS_OP_CONV2D when groups == C == O (depthwise): ds_ref_conv2d with every
 * attribute (kernel size, stride, dilation, asymmetric padding, in_act, bias,
 * residual with res_act, act). */
ds_status op_conv_depthwise(const kern_ctx *k, const gpu_op *op);
ds_status op_conv_transpose(const kern_ctx *k, const gpu_op *op); /* DS_OP_CONV_TRANSPOSE, any kernel/stride/padding */
/* DS_OP_ATTENTION: flash-style, online softmax over key blocks; no T x T
 * score matrix exists in memory at any token count; head_dim up to
 * ATTENTION_MAX_HEAD_DIM. */
enum { ATTENTION_MAX_HEAD_DIM = 128 };
ds_status op_attention(const kern_ctx *k, const gpu_op *op);
/* DS_OP_WINDOW_ATTENTION: w = bias table, b = region labels, w2 = head
 * scales (graph.h), each optional; flash-style within each window, read
 * and written in place in the maps; head_dim up to WINDOW_ATTENTION_MAX_HEAD_DIM. */
enum { WINDOW_ATTENTION_MAX_HEAD_DIM = 128 };
ds_status op_window_attention(const kern_ctx *k, const gpu_op *op);
ds_status op_patch_merge(const kern_ctx *k, const gpu_op *op);   /* DS_OP_PATCH_MERGE */
ds_status op_pos_embed(const kern_ctx *k, const gpu_op *op);     /* DS_OP_POS_EMBED */
ds_status op_prepend_token(const kern_ctx *k, const gpu_op *op); /* DS_OP_PREPEND_TOKEN */
ds_status op_readout_cat(const kern_ctx *k, const gpu_op *op);   /* DS_OP_READOUT_CAT */
/* DS_OP_LEVIT_ATTENTION: x = in[0], r = the queries (in[1]) or NULL, w = the
 * bias (heads, Tq, Tk) or NULL; a warp per query, the scores in shared
 * memory (up to 48 KiB: (block / 32) * Tk floats). */
ds_status op_levit_attention(const kern_ctx *k, const gpu_op *op);
ds_status op_pos_embed_bicubic(const kern_ctx *k, const gpu_op *op); /* DS_OP_POS_EMBED_BICUBIC */
ds_status op_drop_token(const kern_ctx *k, const gpu_op *op);   /* DS_OP_DROP_TOKEN */
ds_status op_scale(const kern_ctx *k, const gpu_op *op);        /* DS_OP_SCALE: x * scale */
ds_status op_qk_rope(const kern_ctx *k, const gpu_op *op);      /* DS_OP_QK_ROPE: norms w, b | w2, w3 */
ds_status op_concat(const kern_ctx *k, const gpu_op *op);       /* DS_OP_CONCAT: x | r over channels */
ds_status op_set_token(const kern_ctx *k, const gpu_op *op);    /* DS_OP_SET_TOKEN: token 0 = w */
ds_status op_slice(const kern_ctx *k, const gpu_op *op);        /* DS_OP_SLICE */
ds_status op_constant(const kern_ctx *k, const gpu_op *op);     /* DS_OP_CONSTANT: y = w */

/* ---- epilogue of a library convolution or GEMM ---- */
/* y = act(x + b[c] + res_act(r)) with x, r, y (N, H, W, C) and b (C); b and r
 * may be NULL. With x the bias-free output of a convolution (a GEMM), y is
 * what ds_ref_conv2d (ds_ref_linear) computes. */
ds_status op_bias_act(const kern_ctx *k, const ds_tensor *x, const float *b, const ds_tensor *r,
                      ds_act res_act, ds_act act, ds_tensor *y);
/* The same with x half, shaped `shape` (N, H, W, C): the epilogue of an
 * fp16-mode convolution, whose output cuDNN writes in half. */
ds_status op_bias_act_half(const kern_ctx *k, const __half *x, const int64_t shape[4], const float *b,
                           const ds_tensor *r, ds_act res_act, ds_act act, ds_tensor *y);

/* ---- operands of the fp16 mode (--precision fp16) ---- */
/* y = half(in_act(x)) rounded to nearest, with x (rows, C) float32 and
 * y (rows, Cp) half, Cp >= C, channels C..Cp-1 zero (tensor cores want
 * channel counts that are multiples of 8). */
ds_status op_to_half(const kern_ctx *k, const float *x, int64_t rows, int64_t C, ds_act in_act, int64_t Cp,
                     __half *y);

/* ---- image in, depth out ---- */
struct rgb_norm {
    float mean[3], std[3];
};
/* ds_preprocess_rgb8 on the device: rgb (height rows of `stride` bytes, RGB8)
 * -> OpenCV INTER_CUBIC to net_w x net_h, (v - mean) / std, as float32
 * (3, net_h, net_w) NCHW, or (net_h, net_w, 3) NHWC when nhwc != 0. */
ds_status op_preprocess_rgb8(const kern_ctx *k, const uint8_t *rgb, int width, int height,
                             size_t stride, int net_w, int net_h, const rgb_norm *norm, int nhwc,
                             float *out);
/* ds_resize_bilinear_aligned (align_corners 1; 0: PyTorch's default) on the
 * device: one (in_h, in_w) map -> (out_h, out_w); the kernel of op_resize. */
ds_status op_resize_bilinear_map(const kern_ctx *k, const float *in, int in_w, int in_h, float *out, int out_w,
                                 int out_h, int align_corners);
/* ds_resize_bicubic_torch on the device: (in_h, in_w) -> (out_h, out_w). */
ds_status op_resize_bicubic(const kern_ctx *k, const float *in, int in_w, int in_h, float *out,
                            int out_w, int out_h);
/* ds_depth_range on the device: range = (lo, hi) of the n values, NaN and
 * infinities counting as 0; (0, 0) when n == 0. `workspace` holds
 * op_minmax_workspace_bytes() of device memory. */
size_t op_minmax_workspace_bytes(void);
ds_status op_minmax(const kern_ctx *k, const float *x, int64_t n, void *workspace, float *range);
/* The PNG values of run.py's write_depth: ds_depth_quantize(d, lo, hi, 255
 * or 65535), truncated, with (lo, hi) read from device memory (op_minmax's
 * range, or a fixed range written there). */
ds_status op_quantize_u8(const kern_ctx *k, const float *depth, int64_t n, const float *range,
                         uint8_t *out);
ds_status op_quantize_u16(const kern_ctx *k, const float *depth, int64_t n, const float *range,
                          uint16_t *out);

} // namespace DS_CUDA_NS

#endif
