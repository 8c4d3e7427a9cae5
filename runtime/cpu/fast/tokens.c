/* cpu/fast/tokens.c: Depth Anything 3's token plumbing (CONCAT, SET_TOKEN,
 * SLICE, CONSTANT) as row copies split over threads. */
#include <string.h>

#include "cpu/fast/fast.h"

void ds_fast_concat(const ds_cpu_op *op) {
    const int64_t P = op->x->shape[0] * op->x->shape[1] * op->x->shape[2];
    const int64_t C0 = op->x->shape[3], C1 = op->r->shape[3];
    const float *a = op->x->data, *b = op->r->data;
    float *y = op->y->data;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)(P * (C0 + C1)))) schedule(static)
    for (int64_t p = 0; p < P; p++) {
        memcpy(y + p * (C0 + C1), a + p * C0, (size_t)C0 * sizeof(float));
        memcpy(y + p * (C0 + C1) + C0, b + p * C1, (size_t)C1 * sizeof(float));
    }
}

void ds_fast_set_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->x->shape[3];
    const float *x = op->x->data;
    float *y = op->y->data;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)(N * T * C))) schedule(static)
    for (int64_t nt = 0; nt < N * T; nt++) {
        const float *src = nt % T ? x + nt * C : op->w;
        if (y + nt * C != src)
            memcpy(y + nt * C, src, (size_t)C * sizeof(float));
    }
}

void ds_fast_slice(const ds_cpu_op *op) {
    const int64_t *xs = op->x->shape, *ys = op->y->shape;
    const int64_t w0 = op->node->a.slice.w0, c0 = op->node->a.slice.c0;
    const int64_t rows = ys[0] * ys[1] * ys[2];
    const float *x = op->x->data;
    float *y = op->y->data;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)(rows * ys[3]))) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t nh = r / ys[2], col = r % ys[2];
        memcpy(y + r * ys[3], x + (nh * xs[2] + col + w0) * xs[3] + c0, (size_t)ys[3] * sizeof(float));
    }
}

void ds_fast_constant(const ds_cpu_op *op) {
    const size_t n = (size_t)ds_shape_numel(op->y->shape);
    memcpy(op->y->data, op->w, n * sizeof(float));
}
