/* maxpool.cu: max over each window, padding never wins (DS_OP_MAXPOOL, ds_ref_maxpool). */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (n, oy, ox, c), c fastest. */
static __global__ void maxpool_kernel(const float *x /* (N, H, W, C) */, float *y /* (N, OH, OW, C) */,
                                      int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                                      ds_pool_attr a) {
    const int64_t total = N * OH * OW * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, ox = i / C % OW, oy = i / (C * OW) % OH, n = i / (C * OW * OH);
        float m = -INFINITY;
        for (int ky = 0; ky < a.kh; ky++) {
            const int64_t iy = oy * a.stride_h - a.pad_t + ky;
            if (iy < 0 || iy >= H)
                continue;
            for (int kx = 0; kx < a.kw; kx++) {
                const int64_t ix = ox * a.stride_w - a.pad_l + kx;
                if (ix < 0 || ix >= W)
                    continue;
                const float v = x[((n * H + iy) * W + ix) * C + c];
                if (v > m || isnan(v))
                    m = v;
            }
        }
        y[i] = m;
    }
}

ds_status op_maxpool(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, OH, OW, C) */
    const ds_pool_attr *a = &op->node->a.pool;
    if (!op->x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "maxpool: x is missing");
    const int64_t *s = op->x->shape; /* (N, H, W, C) */
    const int64_t span_h = s[1] + a->pad_t + a->pad_b - a->kh, span_w = s[2] + a->pad_l + a->pad_r - a->kw;
    const int64_t oh = span_h < 0 ? 0 : span_h / a->stride_h + 1, ow = span_w < 0 ? 0 : span_w / a->stride_w + 1;
    if (s[0] != d[0] || s[3] != d[3] || oh != d[1] || ow != d[2])
        return ds_fail(DS_ERR_SHAPE, "maxpool: a %lldx%lld input pools to %lldx%lld, not %lldx%lld",
                       (long long)s[1], (long long)s[2], (long long)oh, (long long)ow, (long long)d[1],
                       (long long)d[2]);
    DS_TRY(need_shape("maxpool", "y", op->y, d));
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(maxpool_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data,
                     s[0], s[1], s[2], s[3], d[1], d[2], *a);
}

} // namespace DS_CUDA_NS
