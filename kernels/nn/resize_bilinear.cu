/* resize_bilinear.cu: PyTorch's bilinear interpolate, align_corners true or
 * false (DS_OP_RESIZE, ds_ref_resize), and the same on one map (a depth map
 * back to the photo's size, ds_resize_bilinear_aligned). */
#include "base/bilinear.h" /* ds_bilinear_coord */
#include "kernels/common.cuh"   /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (n, oy, ox, c), c fastest. */
static __global__ void resize_bilinear_kernel(const float *x /* (N, H, W, C) */, float *y /* (N, OH, OW, C) */,
                                              int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH,
                                              int64_t OW, bool align_corners) {
    const int64_t total = N * OH * OW * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, ox = i / C % OW, oy = i / (C * OW) % OH, n = i / (C * OW * OH);
        int64_t y0, y1, x0, x1;
        float fy, fx;
        ds_bilinear_coord(oy, H, OH, align_corners, &y0, &y1, &fy);
        ds_bilinear_coord(ox, W, OW, align_corners, &x0, &x1, &fx);
        const float *img = x + n * H * W * C + c;
        const float p00 = img[(y0 * W + x0) * C], p01 = img[(y0 * W + x1) * C];
        const float p10 = img[(y1 * W + x0) * C], p11 = img[(y1 * W + x1) * C];
        y[i] = (1.0f - fy) * ((1.0f - fx) * p00 + fx * p01) + fy * ((1.0f - fx) * p10 + fx * p11);
    }
}

ds_status op_resize(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, OH, OW, C) */
    if (!op->x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "resize: x is missing");
    const int64_t *s = op->x->shape; /* (N, H, W, C) */
    if (s[0] != d[0] || s[3] != d[3] || s[1] < 1 || s[2] < 1)
        return ds_fail(DS_ERR_SHAPE, "resize: input %lldx%lldx%lldx%lld does not resize to N and C of the output",
                       (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3]);
    DS_TRY(need_shape("resize", "y", op->y, d));
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(resize_bilinear_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data,
                     op->y->data, s[0], s[1], s[2], s[3], d[1], d[2], op->node->a.resize.align_corners);
}

ds_status op_resize_bilinear_map(const kern_ctx *k, const float *in, int in_w, int in_h, float *out, int out_w,
                                 int out_h, int align_corners) {
    if (!in || !out || in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "resize_bilinear_map: %dx%d -> %dx%d", in_w, in_h, out_w, out_h);
    const int64_t n = (int64_t)out_w * out_h;
    const int block = block_size(k, 256);
    return DS_LAUNCH(resize_bilinear_kernel, grid_1d(n, block), block, 0, k->stream, in, out, (int64_t)1,
                     (int64_t)in_h, (int64_t)in_w, (int64_t)1, (int64_t)out_h, (int64_t)out_w, align_corners != 0);
}

} // namespace DS_CUDA_NS
