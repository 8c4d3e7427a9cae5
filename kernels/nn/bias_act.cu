/* bias_act.cu: y = act(x + b[c] + res_act(r)), the epilogue of a library
 * convolution or GEMM (ds_ref_conv2d's and ds_ref_linear's last steps). */
#include "graph/tensor.h" /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

static __device__ __forceinline__ float widen(float v) { return v; }
static __device__ __forceinline__ float widen(__half v) { return __half2float(v); }

/* grid.x: blocks of a grid-stride loop over the n = rows * C elements;
 * T is float, or __half for the fp16 mode's library outputs. */
template <typename T>
static __global__ void bias_act_kernel(const T *x /* (rows, C) */, const float *b /* (C) or NULL */,
                                       const float *r /* (rows, C) or NULL */, float *y /* (rows, C) */,
                                       int64_t n, int64_t C, ds_act res_act, ds_act act) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float v = widen(x[i]);
        if (b)
            v += b[i % C];
        if (r)
            v += ds_apply_act(res_act, r[i]);
        y[i] = ds_apply_act(act, v);
    }
}

template <typename T>
static ds_status bias_act(const kern_ctx *k, const T *x, const int64_t shape[4], const float *b, const ds_tensor *r,
                          ds_act res_act, ds_act act, ds_tensor *y) {
    DS_TRY(need_shape("bias_act", "y", y, shape));
    if (r)
        DS_TRY(need_shape("bias_act", "r", r, shape));
    const int64_t n = ds_shape_numel(shape);
    if (n == 0)
        return DS_OK;
    if (!x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "bias_act: x is missing");
    const int block = block_size(k, 256);
    return DS_LAUNCH(bias_act_kernel<T>, grid_1d(n, block), block, 0, k->stream, x, b, r ? r->data : NULL, y->data,
                     n, shape[3], res_act, act);
}

ds_status op_bias_act(const kern_ctx *k, const ds_tensor *x, const float *b, const ds_tensor *r,
                      ds_act res_act, ds_act act, ds_tensor *y) {
    if (!x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "bias_act: x is missing");
    return bias_act(k, x->data, x->shape, b, r, res_act, act, y);
}

ds_status op_bias_act_half(const kern_ctx *k, const __half *x, const int64_t shape[4], const float *b,
                           const ds_tensor *r, ds_act res_act, ds_act act, ds_tensor *y) {
    return bias_act(k, x, shape, b, r, res_act, act, y);
}

} // namespace DS_CUDA_NS
