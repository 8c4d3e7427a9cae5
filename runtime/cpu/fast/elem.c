/*
 * cpu/fast/elem.c: elementwise ops (ADD, ACT, SCALE) and the token
 * bookkeeping copies (PREPEND_TOKEN, READOUT_CAT, DROP_TOKEN, RESHAPE/INPUT
 * when not aliased), split over threads in chunks. ADD, ACT and SCALE may
 * run with y on top of x.
 */
#include <string.h>

#include "cpu/fast/fast.h"

enum { CHUNK = 16384 }; /* floats per piece of work: 64 KB */

/* y = act(a + b) over n floats, b optional */
static void elementwise(const ds_cpu_op *op, float *y, const float *a, const float *b, size_t n,
                        ds_act act) {
    const ds_vec_ops *v = ds_vec();
    const size_t pieces = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)n)) schedule(static)
    for (size_t p = 0; p < pieces; p++) {
        size_t i = p * CHUNK, len = n - i < CHUNK ? n - i : CHUNK;
        v->add_act(y + i, a + i, b ? b + i : NULL, NULL, len, act);
    }
}

/* dst and src must not overlap */
static void copy(const ds_cpu_op *op, float *dst, const float *src, size_t n) {
    const size_t pieces = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)n)) schedule(static)
    for (size_t p = 0; p < pieces; p++) {
        size_t i = p * CHUNK, len = n - i < CHUNK ? n - i : CHUNK;
        memcpy(dst + i, src + i, len * sizeof(float));
    }
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

/* (N, 1, 1+T, C) -> (N, gh, gw, 2C): [patch token t, class token]. */
void ds_fast_readout_cat(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T1 = op->x->shape[2], C = op->x->shape[3];
    const int64_t T = T1 - 1;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)(N * T * 2 * C))) schedule(static)
    for (int64_t nt = 0; nt < N * T; nt++) {
        const int64_t n = nt / T, t = nt % T;
        const float *x = op->x->data + n * T1 * C; /* (1+T, C) */
        float *y = op->y->data + nt * 2 * C;
        memcpy(y, x + (t + 1) * C, (size_t)C * sizeof(float));
        memcpy(y + C, x, (size_t)C * sizeof(float));
    }
}

/* (N, 1, 1+T, C) -> (N, gh, gw, C): the patch tokens, token 0 left out. */
void ds_fast_drop_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T1 = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++)
        copy(op, op->y->data + n * (T1 - 1) * C, op->x->data + (n * T1 + 1) * C, (size_t)((T1 - 1) * C));
}

void ds_fast_scale(const ds_cpu_op *op) {
    const size_t n = (size_t)ds_shape_numel(op->y->shape), pieces = (n + CHUNK - 1) / CHUNK;
    const float s = op->node->a.scale, *x = op->x->data;
    float *y = op->y->data;
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)n)) schedule(static)
    for (size_t p = 0; p < pieces; p++) {
        const size_t end = p * CHUNK + CHUNK < n ? p * CHUNK + CHUNK : n;
        for (size_t i = p * CHUNK; i < end; i++)
            y[i] = x[i] * s;
    }
}
