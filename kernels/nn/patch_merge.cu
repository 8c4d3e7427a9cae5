/* patch_merge.cu: Swin's 2x2 gather (DS_OP_PATCH_MERGE, ds_ref_patch_merge), a plain copy:
 * output channel block k of (i, j) is input (2i + k % 2, 2j + k / 2), zero past an odd edge. */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (n, i, j, k, c), c fastest. */
static __global__ void patch_merge_kernel(const float *x /* (N, H, W, C) */, float *y /* (N, OH, OW, 4C) */,
                                          int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW) {
    const int64_t total = N * OH * OW * 4 * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        const int64_t c = e % C, k = e / C % 4, pix = e / (4 * C);
        const int64_t j = pix % OW, i = pix / OW % OH, n = pix / (OW * OH);
        const int64_t sy = 2 * i + k % 2, sx = 2 * j + k / 2;
        y[e] = sy < H && sx < W ? x[((n * H + sy) * W + sx) * C + c] : 0.0f;
    }
}

ds_status op_patch_merge(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, ceil(H/2), ceil(W/2), 4C) */
    if (!op->x || d[3] % 4 != 0 || d[1] != (op->x->shape[1] + 1) / 2 || d[2] != (op->x->shape[2] + 1) / 2)
        return ds_fail(DS_ERR_SHAPE, "patch_merge: the output is not (N, ceil(H/2), ceil(W/2), 4C) of the input");
    const int64_t xs[4] = {d[0], op->x->shape[1], op->x->shape[2], d[3] / 4};
    DS_TRY(need_shape("patch_merge", "x", op->x, xs));
    DS_TRY(need_shape("patch_merge", "y", op->y, d));
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(patch_merge_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, d[0],
                     xs[1], xs[2], xs[3], d[1], d[2]);
}

} // namespace DS_CUDA_NS
