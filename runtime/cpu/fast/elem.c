/*
 * cpu/fast/elem.c: elementwise ops (ADD, ACT, SCALE) and the token
 * bookkeeping copies (PREPEND_TOKEN, READOUT_CAT, DROP_TOKEN, RESHAPE/INPUT
 * when not aliased), split over threads in chunks. ADD, ACT and SCALE may
 * run with y on top of x.
 */
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"

enum { CHUNK = 16384 }; /* floats per piece of work: 64 KB */

typedef struct elem_job {
    float *y;
    const float *a, *b; /* b optional */
    size_t n;
    ds_act act;
    float scale; /* ds_fast_scale's factor */
} elem_job;

static void elem_piece(void *ctx, int64_t p, int thread) {
    (void)thread;
    const elem_job *j = ctx;
    size_t i = (size_t)p * CHUNK, len = j->n - i < CHUNK ? j->n - i : CHUNK;
    ds_vec()->add_act(j->y + i, j->a + i, j->b ? j->b + i : NULL, NULL, len, j->act);
}

static void copy_piece(void *ctx, int64_t p, int thread) {
    (void)thread;
    const elem_job *j = ctx;
    size_t i = (size_t)p * CHUNK, len = j->n - i < CHUNK ? j->n - i : CHUNK;
    memcpy(j->y + i, j->a + i, len * sizeof(float));
}

/* y = act(a + b) over n floats, b optional */
static void elementwise(const ds_cpu_op *op, float *y, const float *a, const float *b, size_t n,
                        ds_act act) {
    elem_job j = {y, a, b, n, act, 0.0f};
    ds_parallel_for(ds_fast_threads(op, (double)n), (int64_t)((n + CHUNK - 1) / CHUNK), elem_piece,
                    &j);
}

/* dst and src must not overlap */
static void copy(const ds_cpu_op *op, float *dst, const float *src, size_t n) {
    elem_job j = {dst, src, NULL, n, DS_ACT_NONE, 0.0f};
    ds_parallel_for(ds_fast_threads(op, (double)n), (int64_t)((n + CHUNK - 1) / CHUNK), copy_piece,
                    &j);
}

void ds_fast_add(const ds_cpu_op *op) {
    elementwise(op, op->y->data, op->x->data, op->r->data,
                (size_t)ds_shape_numel(op->y->shape), op->node->a.act);
}

void ds_fast_act(const ds_cpu_op *op) {
    elementwise(op, op->y->data, op->x->data, NULL, (size_t)ds_shape_numel(op->y->shape),
                op->node->a.act);
}

void ds_fast_copy(const ds_cpu_op *op) {
    float *y = op->y->data;
    const float *x = op->x->data;
    size_t n = (size_t)ds_shape_numel(op->y->shape);
    if (y == x)
        return;
    if (y + n <= x || x + n <= y)
        copy(op, y, x, n);
    else
        memmove(y, x, n * sizeof(float));
}

/* (N, 1, T, C) -> (N, 1, T+1, C): the learned token (1, 1, C) first. */
void ds_fast_prepend_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++) {
        float *y = op->y->data + n * (T + 1) * C;
        memcpy(y, op->w, (size_t)C * sizeof(float));
        copy(op, y + C, op->x->data + n * T * C, (size_t)(T * C));
    }
}

static void readout_row(void *ctx, int64_t nt, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t T1 = op->x->shape[2], C = op->x->shape[3], T = T1 - 1;
    const int64_t n = nt / T, t = nt % T;
    const float *x = op->x->data + n * T1 * C; /* (1+T, C) */
    float *y = op->y->data + nt * 2 * C;
    memcpy(y, x + (t + 1) * C, (size_t)C * sizeof(float));
    memcpy(y + C, x, (size_t)C * sizeof(float));
}

/* (N, 1, 1+T, C) -> (N, gh, gw, 2C): [patch token t, class token]. */
void ds_fast_readout_cat(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2] - 1, C = op->x->shape[3];
    ds_parallel_for(ds_fast_threads(op, (double)(N * T * 2 * C)), N * T, readout_row, (void *)op);
}

/* (N, 1, 1+T, C) -> (N, gh, gw, C): the patch tokens, token 0 left out. */
void ds_fast_drop_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T1 = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++)
        copy(op, op->y->data + n * (T1 - 1) * C, op->x->data + (n * T1 + 1) * C, (size_t)((T1 - 1) * C));
}

static void scale_piece(void *ctx, int64_t p, int thread) {
    (void)thread;
    const elem_job *j = ctx;
    const size_t i0 = (size_t)p * CHUNK, end = j->n - i0 < CHUNK ? j->n : i0 + CHUNK;
    for (size_t i = i0; i < end; i++)
        j->y[i] = j->a[i] * j->scale;
}

void ds_fast_scale(const ds_cpu_op *op) {
    const size_t n = (size_t)ds_shape_numel(op->y->shape);
    elem_job j = {op->y->data, op->x->data, NULL, n, DS_ACT_NONE, op->node->a.scale};
    ds_parallel_for(ds_fast_threads(op, (double)n), (int64_t)((n + CHUNK - 1) / CHUNK), scale_piece,
                    &j);
}
