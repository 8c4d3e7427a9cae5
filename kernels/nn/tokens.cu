/* tokens.cu: the ViT's token bookkeeping, plain copies: the class token put
 * first (DS_OP_PREPEND_TOKEN, ds_ref_prepend_token), DPT's readout
 * "project" input, every patch token beside the class token
 * (DS_OP_READOUT_CAT, ds_ref_readout_cat), and the patch tokens alone as a
 * map, the class token left out (DS_OP_DROP_TOKEN, ds_ref_drop_token). */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (n, t, c), c fastest. */
static __global__ void prepend_token_kernel(const float *x /* (N, T, C) */, const float *w /* (C) */,
                                            float *y /* (N, T + 1, C) */, int64_t N, int64_t T, int64_t C) {
    const int64_t total = N * (T + 1) * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, t = i / C % (T + 1), n = i / (C * (T + 1));
        y[i] = t == 0 ? w[c] : x[(n * T + t - 1) * C + c];
    }
}

/* grid.x: blocks of a grid-stride loop over the output elements (n, t, c2), c2 < 2C fastest. */
static __global__ void readout_cat_kernel(const float *x /* (N, 1 + T, C) */, float *y /* (N, T, 2C) */,
                                          int64_t N, int64_t T, int64_t C) {
    const int64_t total = N * T * 2 * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c2 = i % (2 * C), t = i / (2 * C) % T, n = i / (2 * C * T);
        const float *tokens = x + n * (1 + T) * C;
        y[i] = c2 < C ? tokens[(1 + t) * C + c2] : tokens[c2 - C];
    }
}

/* grid.x: blocks of a grid-stride loop over the output elements (n, t, c), c fastest. */
static __global__ void drop_token_kernel(const float *x /* (N, 1 + T, C) */, float *y /* (N, T, C) */,
                                         int64_t N, int64_t T, int64_t C) {
    const int64_t total = N * T * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t n = i / (T * C);
        y[i] = x[i + (n + 1) * C]; /* token t of item n sits one token further on, per item */
    }
}

ds_status op_prepend_token(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, 1, T + 1, C) */
    if (d[2] < 1)
        return ds_fail(DS_ERR_SHAPE, "prepend_token: an output of %lld tokens has no room for the token",
                       (long long)d[2]);
    const int64_t xs[4] = {d[0], 1, d[2] - 1, d[3]};
    DS_TRY(need_shape("prepend_token", "x", op->x, xs));
    DS_TRY(need_shape("prepend_token", "y", op->y, d));
    if (d[1] != 1)
        return ds_fail(DS_ERR_SHAPE, "prepend_token: the output is not a token sequence (N, 1, T, C)");
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepend_token: the token weight is missing");
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(prepend_token_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->w,
                     op->y->data, d[0], xs[2], d[3]);
}

ds_status op_readout_cat(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, gh, gw, 2C) */
    if (d[3] % 2 != 0)
        return ds_fail(DS_ERR_SHAPE, "readout_cat: %lld output channels are not 2C", (long long)d[3]);
    const int64_t T = d[1] * d[2], C = d[3] / 2, xs[4] = {d[0], 1, 1 + T, C};
    DS_TRY(need_shape("readout_cat", "x", op->x, xs));
    DS_TRY(need_shape("readout_cat", "y", op->y, d));
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(readout_cat_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data,
                     d[0], T, C);
}

ds_status op_drop_token(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, gh, gw, C) */
    const int64_t T = d[1] * d[2], xs[4] = {d[0], 1, 1 + T, d[3]};
    DS_TRY(need_shape("drop_token", "x", op->x, xs));
    DS_TRY(need_shape("drop_token", "y", op->y, d));
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(drop_token_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, d[0],
                     T, d[3]);
}

} // namespace DS_CUDA_NS
