/* cpu/fast/tokens.c: Depth Anything 3's token plumbing (CONCAT, SET_TOKEN,
 * SLICE, CONSTANT) as row copies split over threads. */
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"

static void concat_row(void *ctx, int64_t p, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t C0 = op->x->shape[3], C1 = op->r->shape[3];
    float *y = op->y->data + p * (C0 + C1); /* (C0 + C1) */
    memcpy(y, op->x->data + p * C0, (size_t)C0 * sizeof(float));
    memcpy(y + C0, op->r->data + p * C1, (size_t)C1 * sizeof(float));
}

void ds_fast_concat(const ds_cpu_op *op) {
    const int64_t P = op->x->shape[0] * op->x->shape[1] * op->x->shape[2];
    const int64_t C = op->x->shape[3] + op->r->shape[3];
    ds_parallel_for(ds_fast_threads(op, (double)(P * C)), P, concat_row, (void *)op);
}

static void set_token_row(void *ctx, int64_t nt, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t T = op->x->shape[2], C = op->x->shape[3];
    const float *src = nt % T ? op->x->data + nt * C : op->w;
    float *y = op->y->data + nt * C; /* (C) */
    if (y != src)
        memcpy(y, src, (size_t)C * sizeof(float));
}

void ds_fast_set_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->x->shape[3];
    ds_parallel_for(ds_fast_threads(op, (double)(N * T * C)), N * T, set_token_row, (void *)op);
}

/* Rows of the output per slice task: enough floats that a task is not
 * mostly its hand-off (a one-channel slice is one float a row). */
static int64_t slice_rows_per_task(int64_t c) { return c >= 4096 ? 1 : 4096 / c; }

static void slice_rows(void *ctx, int64_t task, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t *xs = op->x->shape, *ys = op->y->shape;
    const int64_t w0 = op->node->a.slice.w0, c0 = op->node->a.slice.c0;
    const int64_t per = slice_rows_per_task(ys[3]), rows = ys[0] * ys[1] * ys[2];
    const int64_t end = (task + 1) * per < rows ? (task + 1) * per : rows;
    for (int64_t r = task * per; r < end; r++) {
        const int64_t nh = r / ys[2], col = r % ys[2];
        memcpy(op->y->data + r * ys[3], op->x->data + (nh * xs[2] + col + w0) * xs[3] + c0,
               (size_t)ys[3] * sizeof(float));
    }
}

void ds_fast_slice(const ds_cpu_op *op) {
    const int64_t *ys = op->y->shape;
    const int64_t rows = ys[0] * ys[1] * ys[2], per = slice_rows_per_task(ys[3]);
    ds_parallel_for(ds_fast_threads(op, (double)(rows * ys[3])), (rows + per - 1) / per, slice_rows,
                    (void *)op);
}

void ds_fast_constant(const ds_cpu_op *op) {
    const size_t n = (size_t)ds_shape_numel(op->y->shape);
    memcpy(op->y->data, op->w, n * sizeof(float));
}
