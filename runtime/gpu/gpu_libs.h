/*
 * gpu_libs.h: the one seam between the CUDA backend and NVIDIA's libraries.
 *
 * Convolutions (cuDNN) and matrix products (cuBLAS / cuBLASLt) of the
 * backend go through these calls and nowhere else. The real build will
 * implement them with cuDNN and cuBLAS; the emulated build (runtime/gpu/emu/
 * gpu_libs_emu.cc) runs the CPU reference ops in stream order, so that the
 * backend around them is checked end to end without a GPU.
 *
 * Both compute what the CPU reference computes, with the same attributes:
 *  - gpu_conv is ds_ref_conv2d. cuDNN has no input activation and no
 *    separate residual activation: the real implementation applies in_act
 *    into the workspace first, and runs op_bias_act (kernels.h) as the
 *    epilogue where cuDNN offers no fused plan. Asymmetric (TF "SAME")
 *    padding is cuDNN's own (pre and post paddings of the graph API).
 *  - gpu_gemm is a row-major GEMM with transposes and a bias + activation
 *    epilogue; with trans_b and B the (O, I) weight it is ds_ref_linear
 *    without a residual. DS_ACT_GELU is the exact (erf) GELU: cuBLASLt's GELU
 *    epilogue is the tanh approximation, so the real implementation uses
 *    op_bias_act for it (and for ReLU6 and Hardswish), which needs ldc == N.
 * Pointers are device memory; calls are asynchronous in stream `s` and may be
 * captured into a graph once their shape is prepared.
 *
 * Planning: the first call of a shape (or its *_prepare, which takes the
 * same arguments and runs nothing) chooses the library's algorithm for it,
 * timing the candidates when autotuning is on, and grows the one workspace
 * to the largest need. The backend prepares every node before it captures a
 * graph: a capture must not allocate, and a workspace that grows later
 * moves, which invalidates graphs captured before (prepare every input size
 * first, or capture again). Autotuning may overwrite y (never x,
 * w, b or r). The real build keeps the choices in a cache file per GPU and
 * cuDNN version (gpu_tuning); the emulated build only checks the arguments.
 */
#ifndef DS_GPU_LIBS_H
#define DS_GPU_LIBS_H

#include <stdint.h>

#include <cuda_fp16.h> /* __half */

#include "graph/tensor.h" /* ds_tensor */
#include "graph/graph.h"   /* ds_conv_attr, ds_act */
#include "gpu/gpu_rt.h"  /* DS_CUDA_NS, cudaStream_t */

namespace DS_CUDA_NS {

/* Library handles and their workspace (one per stream that uses them). */
struct gpu_libs;

ds_status gpu_libs_create(gpu_libs **out);
void gpu_libs_free(gpu_libs *libs); /* NULL-safe */

struct gpu_tuning {
    bool autotune;          /* time up to max_plans plans per convolution (false: the heuristics' first) */
    int max_plans;          /* 8 */
    const char *cache_file; /* NULL: $XDG_CACHE_HOME (or ~/.cache)/depthsolve/cudnn-<gpu>-<cudnn>.txt;
                               "": no file. Copied. */
    bool tf32;              /* TF32 tensor cores for convolutions and GEMMs (false: float32 math) */
};
gpu_tuning gpu_tuning_default(void);
/* Before the first call; choices already made are kept. */
ds_status gpu_libs_set_tuning(gpu_libs *libs, const gpu_tuning *t);
/* Device bytes the libraries' one workspace holds now. */
size_t gpu_libs_workspace_bytes(const gpu_libs *libs);

/* y = act(conv(in_act(x), w) + b + res_act(r)), NHWC:
 * x (N, H, W, C), w (O, kh, kw, C / groups), b (O) or NULL,
 * r (N, OH, OW, O) or NULL, y (N, OH, OW, O). */
ds_status gpu_conv(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x,
                   const float *w, const float *b, const ds_tensor *r, ds_tensor *y);

ds_status gpu_conv_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x,
                           const float *w, const float *b, const ds_tensor *r, ds_tensor *y);

/* C = act(op(A) op(B) + bias), row-major, leading dimensions in elements:
 * op(A) (M, K) is A (M, K), or A stored (K, M) when trans_a;
 * op(B) (K, N) is B (K, N), or B stored (N, K) when trans_b;
 * bias (N) or NULL; C (M, N). */
ds_status gpu_gemm(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N,
                   int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                   ds_act act, float *C, int64_t ldc);
ds_status gpu_gemm_prepare(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N,
                           int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                           ds_act act, float *C, int64_t ldc);

/* ---- the fp16 mode (--precision fp16): half operands on tensor cores,
 * float32 accumulation; the backend keeps float32 activations between
 * layers and converts a library call's operands (op_to_half). ---- */

/* y = conv(x, w) in half: x (N, H, W, C) half, w (O, kh, kw, C / groups)
 * half, y (N, OH, OW, O) half, xs and ys those shapes. Only the geometry of
 * `a` counts (kernel, stride, dilation, padding, groups): its in_act, bias,
 * residual and act are the caller's (op_to_half before, op_bias_act_half
 * after), as cuDNN fuses epilogues only into all-half graphs. */
ds_status gpu_conv_f16(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4], const __half *x,
                       const __half *w, const int64_t ys[4], __half *y);
ds_status gpu_conv_f16_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4],
                               const __half *x, const __half *w, const int64_t ys[4], __half *y);

/* C = act(A B^T + bias) with A (M, K) and B (N, K) half, row-major with
 * leading dimension K; bias (N) or NULL and C (M, N) (ldc) float32: the
 * linear layers of gpu_gemm(trans_a false, trans_b true). */
ds_status gpu_gemm_f16(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                       const __half *B, const float *bias, ds_act act, float *C, int64_t ldc);
ds_status gpu_gemm_f16_prepare(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                               const __half *B, const float *bias, ds_act act, float *C, int64_t ldc);

} // namespace DS_CUDA_NS

#endif
