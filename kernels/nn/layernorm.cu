/* layernorm.cu: LayerNorm over C (DS_OP_LAYERNORM, ds_ref_layernorm), two
 * passes (mean, then squared deviations) in float with block reductions. */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */
#include "kernels/reduce.cuh" /* block_reduce */

namespace DS_CUDA_NS {

/* grid.x: rows (every position n, h, w); the block's threads stride over C. */
static __global__ void layernorm_kernel(const float *x /* (rows, C) */, const float *w /* (C) */,
                                        const float *b /* (C) */, float *y /* (rows, C) */, int C, float eps) {
    __shared__ float scratch[32];
    const float *xr = x + (int64_t)blockIdx.x * C;
    float *yr = y + (int64_t)blockIdx.x * C;
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        s += xr[c];
    const float mean = block_reduce(s, scratch, op_sum(), 0.0f) / (float)C;
    float q = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float d = xr[c] - mean;
        q += d * d;
    }
    /* every read of x is before this barrier-protected sum, so y may be x */
    const float inv = 1.0f / sqrtf(block_reduce(q, scratch, op_sum(), 0.0f) / (float)C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        yr[c] = (xr[c] - mean) * inv * w[c] + b[c];
}

ds_status op_layernorm(const kern_ctx *k, const gpu_op *op) {
    const int64_t *s = op->node->shape; /* (N, H, W, C) */
    DS_TRY(need_shape("layernorm", "x", op->x, s));
    DS_TRY(need_shape("layernorm", "y", op->y, s));
    if (!op->w || !op->b)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "layernorm: weight or bias is missing");
    const int64_t rows = s[0] * s[1] * s[2];
    if (rows == 0 || s[3] == 0)
        return DS_OK;
    if (rows > 0x7fffffff || s[3] > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "layernorm: %lld rows of %lld is too large", (long long)rows,
                       (long long)s[3]);
    const int block = block_size(k, s[3] >= 1024 ? 1024 : (s[3] >= 256 ? 256 : 32));
    DS_TRY(need_warps("layernorm", block));
    return DS_LAUNCH(layernorm_kernel, (unsigned)rows, block, 0, k->stream, op->x->data, op->w, op->b,
                     op->y->data, (int)s[3], op->node->a.norm.eps);
}

} // namespace DS_CUDA_NS
