/* da3_tokens.cu: Depth Anything 3's token plumbing, plain copies: two maps
 * side by side over channels (DS_OP_CONCAT, ds_ref_concat), token 0 set to
 * a learned token (DS_OP_SET_TOKEN, ds_ref_set_token; may run in place), a
 * window of columns and channels (DS_OP_SLICE, ds_ref_slice), and a
 * graph-owned constant as a value (DS_OP_CONSTANT, ds_ref_constant). */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (p, c), c fastest. */
static __global__ void concat_kernel(const float *a /* (P, C0) */, const float *b /* (P, C1) */,
                                     float *y /* (P, C0 + C1) */, int64_t P, int64_t C0, int64_t C1) {
    const int64_t C = C0 + C1, total = P * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, p = i / C;
        y[i] = c < C0 ? a[p * C0 + c] : b[p * C1 + c - C0];
    }
}

/* grid.x: over the elements (n, t, c); token 0 from w, the rest from x (skipped in place). */
static __global__ void set_token_kernel(const float *x, const float *w, float *y, int64_t N, int64_t T, int64_t C) {
    const int64_t total = N * T * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, t = i / C % T;
        if (t == 0)
            y[i] = w[c];
        else if (y != x)
            y[i] = x[i];
    }
}

/* grid.x: over the output elements (r, col, c) of (R, W, Cy) from (R, Wx, Cx). */
static __global__ void slice_kernel(const float *x, float *y, int64_t R, int64_t W, int64_t Cy, int64_t Wx,
                                    int64_t Cx, int64_t w0, int64_t c0) {
    const int64_t total = R * W * Cy, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % Cy, col = i / Cy % W, r = i / (Cy * W);
        y[i] = x[(r * Wx + col + w0) * Cx + c + c0];
    }
}

/* grid.x: over the elements. */
static __global__ void copy_kernel(const float *w, float *y, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = w[i];
}

ds_status op_concat(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, H, W, C0 + C1) */
    if (!op->r)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "concat: the second input is missing");
    const int64_t C0 = op->x->shape[3], C1 = op->r->shape[3];
    const int64_t xs[4] = {d[0], d[1], d[2], C0}, rs[4] = {d[0], d[1], d[2], C1};
    DS_TRY(need_shape("concat", "x", op->x, xs));
    DS_TRY(need_shape("concat", "r", op->r, rs));
    DS_TRY(need_shape("concat", "y", op->y, d));
    if (C0 + C1 != d[3])
        return ds_fail(DS_ERR_SHAPE, "concat: %lld + %lld channels are not %lld", (long long)C0, (long long)C1,
                       (long long)d[3]);
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(concat_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->r->data, op->y->data,
                     d[0] * d[1] * d[2], C0, C1);
}

ds_status op_set_token(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, 1, T, C) */
    DS_TRY(need_shape("set_token", "x", op->x, d));
    DS_TRY(need_shape("set_token", "y", op->y, d));
    if (d[1] != 1)
        return ds_fail(DS_ERR_SHAPE, "set_token: the input is not a token sequence (N, 1, T, C)");
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "set_token: the token weight is missing");
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(set_token_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->w, op->y->data,
                     d[0], d[2], d[3]);
}

ds_status op_slice(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape, *xs = op->x->shape;
    const ds_slice_attr *a = &op->node->a.slice;
    DS_TRY(need_shape("slice", "y", op->y, d));
    if (xs[0] != d[0] || xs[1] != d[1] || a->w0 < 0 || a->c0 < 0 || a->w0 + d[2] > xs[2] || a->c0 + d[3] > xs[3])
        return ds_fail(DS_ERR_SHAPE, "slice: columns %d+%lld, channels %d+%lld are not inside %lldx%lldx%lldx%lld",
                       a->w0, (long long)d[2], a->c0, (long long)d[3], (long long)xs[0], (long long)xs[1],
                       (long long)xs[2], (long long)xs[3]);
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(slice_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, d[0] * d[1],
                     d[2], d[3], xs[2], xs[3], (int64_t)a->w0, (int64_t)a->c0);
}

ds_status op_constant(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape;
    DS_TRY(need_shape("constant", "y", op->y, d));
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "constant: the tensor is missing");
    const int64_t n = ds_shape_numel(d);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(copy_kernel, grid_1d(n, block), block, 0, k->stream, op->w, op->y->data, n);
}

} // namespace DS_CUDA_NS
