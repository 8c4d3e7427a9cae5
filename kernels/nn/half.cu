/* half.cu: y = half(in_act(x)), channels zero-padded: the operands of
 * the fp16 mode's library convolutions and GEMMs (kernels.h, op_to_half). */
#include "graph/tensor.h" /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the rows * Cp outputs. */
static __global__ void to_half_kernel(const float *x /* (rows, C) */, __half *y /* (rows, Cp) */, int64_t n,
                                      int64_t C, int64_t Cp, ds_act in_act) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int64_t row = i / Cp, c = i % Cp;
        y[i] = __float2half_rn(c < C ? ds_apply_act(in_act, x[row * C + c]) : 0.0f);
    }
}

ds_status op_to_half(const kern_ctx *k, const float *x, int64_t rows, int64_t C, ds_act in_act, int64_t Cp,
                     __half *y) {
    if (rows < 0 || C < 0 || Cp < C)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "to_half: %lld rows of %lld channels padded to %lld",
                       (long long)rows, (long long)C, (long long)Cp);
    const int64_t n = rows * Cp;
    if (n == 0)
        return DS_OK;
    if (!y || (C > 0 && !x))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "to_half: missing pointer");
    const int block = block_size(k, 256);
    return DS_LAUNCH(to_half_kernel, grid_1d(n, block), block, 0, k->stream, x, y, n, C, Cp, in_act);
}

} // namespace DS_CUDA_NS
