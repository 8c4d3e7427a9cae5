/* cpu/ref/tokens.c: reference copies of Depth Anything 3's token plumbing:
 * CONCAT, SET_TOKEN, SLICE and CONSTANT. */
#include <string.h>

#include "cpu/ops.h"

/* (N, H, W, C0), (N, H, W, C1) -> (N, H, W, C0 + C1), x's channels first. */
void ds_ref_concat(const ds_cpu_op *op) {
    const int64_t P = op->x->shape[0] * op->x->shape[1] * op->x->shape[2];
    const int64_t C0 = op->x->shape[3], C1 = op->r->shape[3];
    for (int64_t p = 0; p < P; p++) {
        memcpy(op->y->data + p * (C0 + C1), op->x->data + p * C0, (size_t)C0 * sizeof(float));
        memcpy(op->y->data + p * (C0 + C1) + C0, op->r->data + p * C1, (size_t)C1 * sizeof(float));
    }
}

/* (N, 1, T, C): a copy with token 0 of every item set to w[0 .. C). */
void ds_ref_set_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->x->shape[3];
    if (op->y->data != op->x->data)
        memcpy(op->y->data, op->x->data, (size_t)ds_shape_numel(op->x->shape) * sizeof(float));
    for (int64_t n = 0; n < N; n++)
        memcpy(op->y->data + n * T * C, op->w, (size_t)C * sizeof(float));
}

/* (N, H, W, C) -> (N, H, w, c) from column w0 and channel c0. */
void ds_ref_slice(const ds_cpu_op *op) {
    const int64_t *xs = op->x->shape, *ys = op->y->shape;
    const int64_t w0 = op->node->a.slice.w0, c0 = op->node->a.slice.c0;
    for (int64_t nh = 0; nh < ys[0] * ys[1]; nh++)
        for (int64_t x = 0; x < ys[2]; x++)
            for (int64_t c = 0; c < ys[3]; c++)
                op->y->data[(nh * ys[2] + x) * ys[3] + c] = op->x->data[(nh * xs[2] + x + w0) * xs[3] + c + c0];
}

void ds_ref_constant(const ds_cpu_op *op) {
    memcpy(op->y->data, op->w, (size_t)ds_shape_numel(op->y->shape) * sizeof(float));
}
