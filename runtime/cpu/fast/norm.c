/*
 * cpu/fast/norm.c: LayerNorm over the channels of each token, and GroupNorm
 * (+ residual, activation) over NHWC maps.
 *
 * GroupNorm splits the pixels over the threads: each sums its pixels and
 * their squares per channel, in double, so that one pass gives both the
 * mean and the variance (E[x^2] - mean^2 loses nothing that matters in
 * double for float data); the caller folds them into group statistics; then
 * the threads normalize blocks of pixels with per-channel mean, scale
 * (inv_std * gamma) and shift (beta). Two parallel loops in all.
 */
#include <math.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"

enum { LN_ROWS = 8 }; /* tokens per task */

static void layernorm_rows(void *ctx, int64_t task, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t C = op->x->shape[3], rows = ds_shape_numel(op->x->shape) / C;
    const ds_vec_ops *v = ds_vec();
    for (int64_t t = task * LN_ROWS; t < rows && t < (task + 1) * LN_ROWS; t++)
        v->layernorm(op->y->data + t * C, op->x->data + t * C, op->w, op->b, (size_t)C,
                     op->node->a.norm.eps); /* y may be x */
}

void ds_fast_layernorm(const ds_cpu_op *op) {
    const int64_t C = op->x->shape[3], rows = ds_shape_numel(op->x->shape) / C;
    ds_parallel_for(ds_fast_threads(op, (double)(rows * C)), (rows + LN_ROWS - 1) / LN_ROWS,
                    layernorm_rows, (void *)op);
}

size_t ds_fast_groupnorm_scratch(const ds_node *n, int n_threads) {
    size_t C = (size_t)n->shape[3];
    /* per thread 2C doubles of partial sums, then mean, scale, shift (C floats
     * each, padded to a whole double) */
    return (size_t)(n_threads > 0 ? n_threads : 1) * 2 * C * sizeof(double) +
           (3 * C + (C & 1)) * sizeof(float);
}

/* Sum over the threads' rows of part (nt, 2C), from column c0 to c1. */
static double group_total(const double *part, int nt, int64_t C, int64_t c0, int64_t c1) {
    double s = 0;
    for (int t = 0; t < nt; t++)
        for (int64_t c = c0; c < c1; c++)
            s += part[(size_t)t * 2 * (size_t)C + (size_t)c];
    return s;
}

typedef struct gn_job {
    const ds_cpu_op *op;
    const float *x, *r; /* (HW, C) of one item; r may be NULL */
    float *y;           /* (HW, C), may be r */
    double *part;       /* (nt, 2C) sums | squares */
    const float *mean, *scale, *shift; /* (C) each */
    int64_t HW, C, n_parts, block;
} gn_job;

/* part t: the statistics of pixels HW t / n_parts .. HW (t+1) / n_parts */
static void gn_stats(void *ctx, int64_t t, int thread) {
    (void)thread;
    const gn_job *j = ctx;
    const int64_t p0 = j->HW * t / j->n_parts, p1 = j->HW * (t + 1) / j->n_parts;
    double *mine = j->part + (size_t)t * 2 * (size_t)j->C;
    memset(mine, 0, 2 * (size_t)j->C * sizeof *mine);
    ds_vec()->chan_stats(mine, mine + j->C, j->x + p0 * j->C, (size_t)(p1 - p0), (size_t)j->C);
}

static void gn_apply(void *ctx, int64_t b, int thread) {
    (void)thread;
    const gn_job *j = ctx;
    const ds_vec_ops *v = ds_vec();
    const int64_t C = j->C, p1 = (b + 1) * j->block < j->HW ? (b + 1) * j->block : j->HW;
    for (int64_t p = b * j->block; p < p1; p++)
        v->norm_apply(j->y + p * C, j->x + p * C, j->r ? j->r + p * C : NULL, j->mean, j->scale,
                      j->shift, (size_t)C, j->op->node->a.norm.act);
}

enum { GN_BLOCK_FLOATS = 16384 }; /* floats normalized per task */

static void groupnorm_item(const ds_cpu_op *op, int64_t n, int nt) {
    const ds_norm_attr *a = &op->node->a.norm;
    const int64_t HW = op->x->shape[1] * op->x->shape[2], C = op->x->shape[3];
    const int64_t cg = C / a->groups;
    double *part = (double *)op->ctx->scratch;                  /* (nt, 2C) sums | squares */
    float *mean = (float *)(part + (size_t)nt * 2 * (size_t)C); /* (C) group mean per channel */
    float *scale = mean + C, *shift = scale + C;                /* (C) each */
    const double count = (double)(HW * cg);
    int64_t block = GN_BLOCK_FLOATS / C;
    block = block < 1 ? 1 : block;
    gn_job j = {op, op->x->data + n * HW * C, op->r ? op->r->data + n * HW * C : NULL,
                op->y->data + n * HW * C, part, mean, scale, shift, HW, C, nt, block};
    ds_parallel_for(nt, nt, gn_stats, &j);
    for (int g = 0; g < a->groups; g++) {
        const int64_t c0 = g * cg, c1 = c0 + cg;
        double m = group_total(part, nt, C, c0, c1) / count;
        double var = group_total(part, nt, C, C + c0, C + c1) / count - m * m;
        double inv = 1.0 / sqrt((var > 0 ? var : 0) + a->eps);
        float hi = (float)m;
        /* (x - m) s + b with m = hi + lo is (x - hi) s + (b - lo s): the part
         * of the mean a float misses goes into the shift */
        double lo = m - hi;
        for (int64_t c = c0; c < c1; c++) {
            mean[c] = hi;
            scale[c] = (float)(inv * op->w[c]);
            shift[c] = (float)(op->b[c] - lo * scale[c]);
        }
    }
    ds_parallel_for(nt, (HW + block - 1) / block, gn_apply, &j);
}

void ds_fast_groupnorm(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0];
    int nt = ds_fast_threads(op, (double)(ds_shape_numel(op->x->shape) / N));
    for (int64_t n = 0; n < N; n++)
        groupnorm_item(op, n, nt);
}
