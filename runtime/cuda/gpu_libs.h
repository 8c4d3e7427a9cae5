/*
 * gpu_libs.h: the one seam between the CUDA backend and NVIDIA's libraries.
 *
 * Convolutions (cuDNN) and matrix products (cuBLAS / cuBLASLt) of the
 * backend go through these calls and nowhere else. The real build will
 * implement them with cuDNN and cuBLAS; the emulated build (runtime/cuda/emu/
 * gpu_libs_emu.cc) runs the CPU reference ops in stream order, so that the
 * backend around them is checked end to end without a GPU.
 *
 * Both compute what the CPU reference computes, with the same attributes:
 *  - gpu_conv is ds_ref_conv2d. cuDNN has no input activation, no separate
 *    residual activation and no asymmetric (TF "SAME") padding: the real
 *    implementation applies in_act and pads into a workspace first, and may
 *    run op_bias_act (kernels.h) as its epilogue.
 *  - gpu_gemm is a row-major GEMM with transposes and a bias + activation
 *    epilogue; with trans_b and B the (O, I) weight it is ds_ref_linear
 *    without a residual. DS_ACT_GELU is the exact (erf) GELU: cuBLASLt's GELU
 *    epilogue is the tanh approximation, so the real implementation must use
 *    op_bias_act for it.
 * Pointers are device memory; calls are asynchronous in stream `s` and may be
 * captured into a graph.
 */
#ifndef DS_GPU_LIBS_H
#define DS_GPU_LIBS_H

#include <stdint.h>

#include "cpu_ops.h" /* ds_tensor */
#include "graph.h"   /* ds_conv_attr, ds_act */
#include "gpu_rt.h"  /* DS_CUDA_NS, cudaStream_t */

namespace DS_CUDA_NS {

/* Library handles and their workspace (one per stream that uses them). */
struct gpu_libs;

ds_status gpu_libs_create(gpu_libs **out);
void gpu_libs_free(gpu_libs *libs); /* NULL-safe */

/* y = act(conv(in_act(x), w) + b + res_act(r)), NHWC:
 * x (N, H, W, C), w (O, kh, kw, C / groups), b (O) or NULL,
 * r (N, OH, OW, O) or NULL, y (N, OH, OW, O). */
ds_status gpu_conv(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x,
                   const float *w, const float *b, const ds_tensor *r, ds_tensor *y);

/* C = act(op(A) op(B) + bias), row-major, leading dimensions in elements:
 * op(A) (M, K) is A (M, K), or A stored (K, M) when trans_a;
 * op(B) (K, N) is B (K, N), or B stored (N, K) when trans_b;
 * bias (N) or NULL; C (M, N). */
ds_status gpu_gemm(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N,
                   int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                   ds_act act, float *C, int64_t ldc);

} // namespace DS_CUDA_NS

#endif
