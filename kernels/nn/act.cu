/* act.cu: y = act(x) (DS_OP_ACT, ds_ref_act) and y = x * scale (DS_OP_SCALE,
 * ds_ref_scale), elementwise. */
#include "graph/tensor.h" /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the n elements. */
static __global__ void act_kernel(const float *x /* (n) */, float *y /* (n) */, int64_t n, ds_act act) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = ds_apply_act(act, x[i]);
}

ds_status op_act(const kern_ctx *k, const gpu_op *op) {
    const int64_t *s = op->node->shape; /* (N, H, W, C) */
    DS_TRY(need_shape("act", "x", op->x, s));
    DS_TRY(need_shape("act", "y", op->y, s));
    const int64_t n = ds_shape_numel(s);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(act_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, n,
                     op->node->a.act);
}

/* grid.x: blocks of a grid-stride loop over the n elements. */
static __global__ void scale_kernel(const float *x /* (n) */, float *y /* (n) */, int64_t n, float s) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = x[i] * s;
}

ds_status op_scale(const kern_ctx *k, const gpu_op *op) {
    const int64_t *s = op->node->shape; /* (N, H, W, C) */
    DS_TRY(need_shape("scale", "x", op->x, s));
    DS_TRY(need_shape("scale", "y", op->y, s));
    const int64_t n = ds_shape_numel(s);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(scale_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, n,
                     op->node->a.scale);
}

} // namespace DS_CUDA_NS
