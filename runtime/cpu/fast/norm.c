/*
 * cpu/fast/norm.c: LayerNorm over the channels of each token, and GroupNorm
 * (+ residual, activation) over NHWC maps.
 *
 * GroupNorm splits the pixels over the threads: each sums its pixels and
 * their squares per channel, in double, so that one pass gives both the
 * mean and the variance (E[x^2] - mean^2 loses nothing that matters in
 * double for float data); one thread folds them into group statistics; then
 * every thread normalizes its pixels with per-channel mean, scale
 * (inv_std * gamma) and shift (beta). Two synchronizations in all.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu/fast/fast.h"

void ds_fast_layernorm(const ds_cpu_op *op) {
    const int64_t C = op->x->shape[3], rows = ds_shape_numel(op->x->shape) / C;
    const float eps = op->node->a.norm.eps;
    const ds_vec_ops *v = ds_vec();
    const float *x = op->x->data;
    float *y = op->y->data; /* may be x */
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)(rows * C))) schedule(static)
    for (int64_t t = 0; t < rows; t++)
        v->layernorm(y + t * C, x + t * C, op->w, op->b, (size_t)C, eps);
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

static void groupnorm_item(const ds_cpu_op *op, int64_t n, int nt) {
    const ds_norm_attr *a = &op->node->a.norm;
    const int64_t HW = op->x->shape[1] * op->x->shape[2], C = op->x->shape[3];
    const int64_t cg = C / a->groups;
    const ds_vec_ops *v = ds_vec();
    double *part = (double *)op->ctx->scratch;                  /* (nt, 2C) sums | squares */
    float *mean = (float *)(part + (size_t)nt * 2 * (size_t)C); /* (C) group mean per channel */
    float *scale = mean + C, *shift = scale + C;                /* (C) each */
    const float *x = op->x->data + n * HW * C;
    const float *r = op->r ? op->r->data + n * HW * C : NULL;
    float *y = op->y->data + n * HW * C; /* may be r */
    const double count = (double)(HW * cg);
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        const int64_t p0 = HW * t / nth, p1 = HW * (t + 1) / nth;
        double *mine = part + (size_t)t * 2 * (size_t)C;
        memset(mine, 0, 2 * (size_t)C * sizeof *mine);
        v->chan_stats(mine, mine + C, x + p0 * C, (size_t)(p1 - p0), (size_t)C);
#pragma omp barrier
#pragma omp single
        for (int g = 0; g < a->groups; g++) {
            const int64_t c0 = g * cg, c1 = c0 + cg;
            double m = group_total(part, nth, C, c0, c1) / count;
            double var = group_total(part, nth, C, C + c0, C + c1) / count - m * m;
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
        for (int64_t p = p0; p < p1; p++)
            v->norm_apply(y + p * C, x + p * C, r ? r + p * C : NULL, mean, scale, shift,
                          (size_t)C, a->act);
    }
}
void ds_fast_groupnorm(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0];
    int nt = ds_fast_threads(op, (double)(ds_shape_numel(op->x->shape) / N));
    for (int64_t n = 0; n < N; n++)
        groupnorm_item(op, n, nt);
}
