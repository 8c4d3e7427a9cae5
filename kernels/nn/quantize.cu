/* quantize.cu: depth to 8- or 16-bit PNG values as run.py's write_depth
 * computes them (ds_depth_quantize: float32 arithmetic, clamped, truncated),
 * with the range read from device memory. */
#include <float.h>
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the n values. */
template <class T>
static __global__ void quantize_kernel(const float *depth /* (n) */, int64_t n, const float *range /* (2) lo, hi */,
                                       float max_val, T *out /* (n) */) {
    const float lo = range[0], hi = range[1];
    const bool flat = !((double)hi - (double)lo > DBL_EPSILON);
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float d = isfinite(depth[i]) ? depth[i] : 0.0f;
        float v = flat ? 0.0f : max_val * (d - lo) / (hi - lo);
        v = v < 0.0f ? 0.0f : (v > max_val ? max_val : v);
        out[i] = (T)v;
    }
}

template <class T>
static ds_status quantize(const kern_ctx *k, const float *depth, int64_t n, const float *range, float max_val,
                          T *out) {
    if (n < 0 || !range)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "quantize: %lld values, range %p", (long long)n, (const void *)range);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(quantize_kernel<T>, grid_1d(n, block), block, 0, k->stream, depth, n, range, max_val, out);
}

ds_status op_quantize_u8(const kern_ctx *k, const float *depth, int64_t n, const float *range, uint8_t *out) {
    return quantize(k, depth, n, range, 255.0f, out);
}

ds_status op_quantize_u16(const kern_ctx *k, const float *depth, int64_t n, const float *range, uint16_t *out) {
    return quantize(k, depth, n, range, 65535.0f, out);
}

} // namespace DS_CUDA_NS
