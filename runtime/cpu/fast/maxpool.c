/*
 * cpu/fast/maxpool.c: max-pool, NHWC, threads over output rows; taps outermost so
 * the channel loop runs over contiguous memory (cpu/fast/maxpool_avx2.c: 8
 * channels a vector). Padding never wins (-inf) and NaN propagates, as in
 * the reference.
 */
#include <math.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/conv/conv.h"

void ds_maxpool_row_c(const ds_cpu_op *op, int64_t nb, int64_t oy) {
    const ds_pool_attr *a = &op->node->a.pool;
    const int64_t H = op->x->shape[1], W = op->x->shape[2];
    const int64_t C = op->x->shape[3], OH = op->y->shape[1], OW = op->y->shape[2];
    int ky0, ky1;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, 1, a->kh, H, &ky0, &ky1);
    for (int64_t ox = 0; ox < OW; ox++) {
        int kx0, kx1;
        ds_conv_tap_range(ox, a->stride_w, a->pad_l, 1, a->kw, W, &kx0, &kx1);
        float *y = op->y->data + ((nb * OH + oy) * OW + ox) * C;
        for (int64_t c = 0; c < C; c++)
            y[c] = -INFINITY;
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++) {
                const int64_t iy = oy * a->stride_h - a->pad_t + ky;
                const int64_t ix = ox * a->stride_w - a->pad_l + kx;
                const float *x = op->x->data + ((nb * H + iy) * W + ix) * C;
                for (int64_t c = 0; c < C; c++)
                    y[c] = x[c] > y[c] || isnan(x[c]) ? x[c] : y[c];
            }
    }
}

static void row_avx2(void *ctx, int64_t row, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    ds_maxpool_row_avx2(op, row / op->y->shape[1], row % op->y->shape[1]);
}

static void row_c(void *ctx, int64_t row, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    ds_maxpool_row_c(op, row / op->y->shape[1], row % op->y->shape[1]);
}

static void run(const ds_cpu_op *op, int simd) {
    ds_parallel_for(op->ctx->n_threads, op->y->shape[0] * op->y->shape[1], simd ? row_avx2 : row_c,
                    (void *)op);
}

void ds_fast_maxpool(const ds_cpu_op *op) {
    run(op, ds_cpu_has_avx2_fma());
}

void ds_fast_maxpool_portable(const ds_cpu_op *op) {
    run(op, 0);
}
