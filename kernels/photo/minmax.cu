/* minmax.cu: the depth map's range (ds_depth_range: NaN and infinities
 * count as 0), in two launches: per-block (min, max) pairs, then one block
 * over the pairs. Exact, so the order of the reduction does not matter. */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */
#include "kernels/reduce.cuh" /* block_reduce */

namespace DS_CUDA_NS {

static const unsigned MINMAX_MAX_BLOCKS = 1024;

/* grid.x: blocks of a grid-stride loop over the n values; one pair per block. */
static __global__ void minmax_partial_kernel(const float *x /* (n) */, int64_t n, float2 *part /* (gridDim.x) */) {
    __shared__ float scratch[32];
    float mn = INFINITY, mx = -INFINITY;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = isfinite(x[i]) ? x[i] : 0.0f;
        mn = fminf(mn, v);
        mx = fmaxf(mx, v);
    }
    mn = block_reduce(mn, scratch, op_min(), INFINITY);
    mx = block_reduce(mx, scratch, op_max(), -INFINITY);
    if (threadIdx.x == 0)
        part[blockIdx.x] = make_float2(mn, mx);
}

/* One block: the pairs of every block of the first launch to (lo, hi). */
static __global__ void minmax_final_kernel(const float2 *part /* (parts) */, int parts, int64_t n,
                                           float *range /* (2) lo, hi */) {
    __shared__ float scratch[32];
    float mn = INFINITY, mx = -INFINITY;
    for (int i = threadIdx.x; i < parts; i += blockDim.x) {
        mn = fminf(mn, part[i].x);
        mx = fmaxf(mx, part[i].y);
    }
    mn = block_reduce(mn, scratch, op_min(), INFINITY);
    mx = block_reduce(mx, scratch, op_max(), -INFINITY);
    if (threadIdx.x == 0) {
        range[0] = n ? mn : 0.0f;
        range[1] = n ? mx : 0.0f;
    }
}

size_t op_minmax_workspace_bytes(void) { return MINMAX_MAX_BLOCKS * sizeof(float2); }

ds_status op_minmax(const kern_ctx *k, const float *x, int64_t n, void *workspace, float *range) {
    if (n < 0 || !workspace || !range)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "minmax: %lld values, workspace %p, range %p", (long long)n,
                       workspace, (void *)range);
    const int block = block_size(k, 256);
    DS_TRY(need_warps("minmax", block));
    const unsigned blocks = grid_1d(n, block) < MINMAX_MAX_BLOCKS ? grid_1d(n, block) : MINMAX_MAX_BLOCKS;
    float2 *part = (float2 *)workspace;
    DS_TRY(DS_LAUNCH(minmax_partial_kernel, blocks, block, 0, k->stream, x, n, part));
    return DS_LAUNCH(minmax_final_kernel, 1, block, 0, k->stream, part, (int)blocks, n, range);
}

} // namespace DS_CUDA_NS
