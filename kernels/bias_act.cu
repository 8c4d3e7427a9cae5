/* bias_act.cu: y = act(x + b[c] + res_act(r)), the epilogue of a library
 * convolution or GEMM (ds_ref_conv2d's and ds_ref_linear's last steps). */
#include "act.cuh"    /* act_apply */
#include "common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the n = rows * C elements. */
static __global__ void bias_act_kernel(const float *x /* (rows, C) */, const float *b /* (C) or NULL */,
                                       const float *r /* (rows, C) or NULL */, float *y /* (rows, C) */,
                                       int64_t n, int64_t C, ds_act res_act, ds_act act) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float v = x[i];
        if (b)
            v += b[i % C];
        if (r)
            v += act_apply(res_act, r[i]);
        y[i] = act_apply(act, v);
    }
}

ds_status op_bias_act(const kern_ctx *k, const ds_tensor *x, const float *b, const ds_tensor *r,
                      ds_act res_act, ds_act act, ds_tensor *y) {
    if (!x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "bias_act: x is missing");
    DS_TRY(need_shape("bias_act", "y", y, x->shape));
    if (r)
        DS_TRY(need_shape("bias_act", "r", r, x->shape));
    const int64_t n = ds_shape_numel(x->shape);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(bias_act_kernel, grid_1d(n, block), block, 0, k->stream, x->data, b,
                     r ? r->data : NULL, y->data, n, x->shape[3], res_act, act);
}

} // namespace DS_CUDA_NS
