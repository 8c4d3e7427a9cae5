/*
 * common.cuh: what every kernel file includes. The CUDA headers; under g++
 * the emulator's device built-ins (runtime/gpu/emu/emu_device.h); and the two
 * places where nvcc's dialect needs a macro:
 *
 *   DS_LAUNCH(kernel, grid, block, smem_bytes, stream, args...)
 *       kernel<<<grid, block, smem_bytes, stream>>>(args...) under nvcc, an
 *       emulated launch under g++; either way a ds_status naming the kernel.
 *       A template kernel with several arguments needs parentheses or an alias.
 *   DS_DYNAMIC_SHARED(type, name);
 *       extern __shared__ type name[]; under nvcc. g++ cannot give an extern
 *       array a per-launch size, so the emulator hands out a pointer instead.
 *   DS_UNROLL
 *       #pragma unroll under nvcc (register arrays indexed by the loop stay
 *       in registers); nothing under g++, which warns on the pragma.
 *   DS_NO_UNROLL
 *       #pragma unroll 1 under nvcc (a loop whose unrolled copies would need
 *       more registers than the kernel's launch bound leaves); nothing under g++.
 */
#ifndef DS_KERNELS_COMMON_CUH
#define DS_KERNELS_COMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "base/error.h"   /* ds_fail, DS_TRY */
#include "gpu/gpu_rt.h"  /* DS_CUDA_NS, cuda_launch_status */
#include "kernels/kernels.h" /* kern_ctx, gpu_op */

#if defined(__CUDACC__)
#define DS_LAUNCH(kernel, grid, block, smem_bytes, stream, ...)                         \
    (kernel<<<(grid), (block), (smem_bytes), (stream)>>>(__VA_ARGS__),                  \
     ::DS_CUDA_NS::cuda_launch_status(#kernel))
#define DS_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#define DS_UNROLL _Pragma("unroll")
#define DS_NO_UNROLL _Pragma("unroll 1")
#else
#include "gpu/emu/emu_device.h" /* threadIdx, __syncthreads, __shfl_*_sync, atomics, ... */
#include "gpu/emu/emu_launch.h" /* ds_emu::launch */
#define DS_LAUNCH(kernel, grid, block, smem_bytes, stream, ...) \
    ::ds_emu::launch(#kernel, (grid), (block), (smem_bytes), (stream), kernel, ##__VA_ARGS__)
#define DS_DYNAMIC_SHARED(type, name) type *const name = (type *)::ds_emu::dynamic_shared()
#define DS_UNROLL
#define DS_NO_UNROLL
#endif

namespace DS_CUDA_NS {

/* Threads per block: the caller's (k->block) or the op's default. */
static inline int block_size(const kern_ctx *k, int fallback) { return k->block > 0 ? k->block : fallback; }

/* Blocks of a grid-stride loop over n items (the kernels loop when capped). */
static inline unsigned grid_1d(int64_t n, int block) {
    int64_t g = (n + block - 1) / block;
    return (unsigned)(g < 1 ? 1 : (g > 65535 ? 65535 : g));
}

/* (32, block / 32) threads, or (block, 1) below a warp. */
static inline dim3 block_2d(int block) { return block >= 32 ? dim3(32, (unsigned)(block / 32)) : dim3((unsigned)block, 1); }

static inline ds_status need_warps(const char *op, int block) {
    if (block % 32 != 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: %d threads per block is not a multiple of 32", op, block);
    return DS_OK;
}

/* DS_ERR_SHAPE unless t has the shape `want`. */
static inline ds_status need_shape(const char *op, const char *what, const ds_tensor *t, const int64_t want[4]) {
    if (!t || !t->data)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: %s is missing", op, what);
    for (int i = 0; i < 4; i++)
        if (t->shape[i] != want[i]) {
            char got[64], exp[64];
            ds_format_shape(got, sizeof got, 4, t->shape);
            ds_format_shape(exp, sizeof exp, 4, want);
            return ds_fail(DS_ERR_SHAPE, "%s: %s is %s, expected %s", op, what, got, exp);
        }
    return DS_OK;
}

} // namespace DS_CUDA_NS

#endif
