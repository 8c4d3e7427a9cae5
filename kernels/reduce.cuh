/* reduce.cuh: warp and block reductions with shuffles (blockDim.x a multiple of 32). */
#ifndef DS_KERNELS_REDUCE_CUH
#define DS_KERNELS_REDUCE_CUH

#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, device built-ins */

namespace DS_CUDA_NS {

struct op_sum {
    __device__ float operator()(float a, float b) const { return a + b; }
};
struct op_min {
    __device__ float operator()(float a, float b) const { return fminf(a, b); }
};
struct op_max {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

/* Butterfly: every lane ends with the same result, bit for bit. */
template <class Op> static __device__ __forceinline__ float warp_reduce(float v, Op op) {
    for (int offset = 16; offset > 0; offset >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/* Over the block, returned to every thread. `scratch`: 32 floats of shared
 * memory; `identity`: op's neutral value (fills the missing warps). */
template <class Op>
static __device__ float block_reduce(float v, float *scratch, Op op, float identity) {
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = warp_reduce(v, op);
    __syncthreads(); /* a previous call may still read scratch */
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    v = lane < blockDim.x / 32 ? scratch[lane] : identity;
    return warp_reduce(v, op);
}

} // namespace DS_CUDA_NS

#endif
