/*
 * cpu/fast/linear.c: y = act(x W^T + b + r) with one OpenBLAS sgemm.
 *
 * The sgemm is called outside any parallel region, so OpenBLAS (OpenMP build)
 * spreads it over the engine's threads. Bias and residual go in first: y is
 * filled with b (or r + b) and the sgemm accumulates onto it (beta = 1),
 * which is also right when the planner put y on top of r, and costs no more
 * than the pass in which OpenBLAS would clear y for beta = 0. The
 * activation, if any, takes one pass after.
 *
 * When every row ends in the same cin/2 values, as the DPT readout's
 * [patch token, class token] rows do, that half's product is the same for
 * all rows: y = x_l W_l^T + (x_r W_r^T + b), one matrix-vector product
 * folded into the bias, and the sgemm does half the work.
 */
/* cblas.h pulls in complex.h: no variable may be called I */
#include <cblas.h>
#include <string.h>

#include "cpu/fast/fast.h"

/* y (rows, cols) = a + bias per row (a or bias may be NULL, not both), or act(y). */
static void fill(const ds_cpu_op *op, float *y, const float *a, const float *bias, int64_t rows,
                 int64_t cols, ds_act act) {
    const ds_vec_ops *v = ds_vec();
#pragma omp parallel for num_threads(ds_fast_threads(op, (double)rows * (double)cols)) \
    schedule(static)
    for (int64_t t = 0; t < rows; t++) {
        float *row = y + t * cols;
        if (a || act != DS_ACT_NONE)
            v->add_act(row, a ? a + t * cols : row, bias, NULL, (size_t)cols, act);
        else
            memcpy(row, bias, (size_t)cols * sizeof(float));
    }
}

static void set_blas_threads(int n) {
    if (n >= 1 && openblas_get_num_threads() != n)
        openblas_set_num_threads(n);
}

/* Whether rows 1.. end in the same cin/2 floats as row 0 (bitwise). */
static int shared_right_half(const float *x, int64_t rows, int64_t cin) {
    if (rows < 2 || cin % 2)
        return 0;
    const size_t h = (size_t)cin / 2;
    for (int64_t t = 1; t < rows; t++)
        if (memcmp(x + t * cin + h, x + h, h * sizeof(float)))
            return 0;
    return 1;
}

size_t ds_fast_linear_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    return (size_t)n->shape[3] * sizeof(float); /* the folded bias */
}

void ds_fast_linear(const ds_cpu_op *op) {
    const int64_t cin = op->x->shape[3], cout = op->y->shape[3];
    const int64_t rows = ds_shape_numel(op->x->shape) / cin;
    const ds_act act = op->node->a.linear.act;
    const float *x = op->x->data, *bias = op->b;
    int64_t k = cin; /* the inner dimension the sgemm runs over */
    float *y = op->y->data; /* (rows, cout) */
    set_blas_threads(op->ctx->n_threads);
    if (op->ctx->scratch_bytes >= (size_t)cout * sizeof(float) &&
        shared_right_half(x, rows, cin)) {
        float *folded = op->ctx->scratch; /* (cout) W_r x_r + b */
        k = cin / 2;
        if (bias)
            memcpy(folded, bias, (size_t)cout * sizeof(float));
        else
            memset(folded, 0, (size_t)cout * sizeof(float));
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)cout, (blasint)k, 1.0f, op->w + k,
                    (blasint)cin, x + k, 1, 1.0f, folded, 1);
        bias = folded;
    }
    const float *r = op->r ? op->r->data : NULL;
    if (bias || (r && r != y))
        fill(op, y, r, bias, rows, cout, DS_ACT_NONE);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)cout, (blasint)k,
                1.0f, x, (blasint)cin, op->w, (blasint)cin, bias || r ? 1.0f : 0.0f, y,
                (blasint)cout);
    if (act != DS_ACT_NONE)
        fill(op, y, NULL, NULL, rows, cout, act);
}
