/*
 * cpu_fast_linear.c: y = act(x W^T + b + r) with one OpenBLAS sgemm.
 *
 * The sgemm is called outside any parallel region, so OpenBLAS (OpenMP build)
 * spreads it over the engine's threads. Bias and residual go in around it in
 * one pass over y: with a residual, y = r + b is written first and the sgemm
 * accumulates onto it (beta = 1), which is also right when the planner put y
 * on top of r; without one, the sgemm writes y and the pass adds the bias and
 * applies the activation. A residual with an activation takes a second pass.
 *
 * When every row ends in the same cin/2 values, as the DPT readout's
 * [patch token, class token] rows do, that half's product is the same for
 * all rows: y = x_l W_l^T + (x_r W_r^T + b), one matrix-vector product
 * folded into the bias, and the sgemm does half the work.
 */
/* cblas.h pulls in complex.h: no variable may be called I */
#include <cblas.h>
#include <string.h>

#include "cpu_fast.h"

/* rows x cols of y, each row y = act(a + bias), a = y or r */
static void epilogue(const ds_cpu_op *op, float *y, const float *a, int64_t rows, int64_t cols,
                     const float *bias, ds_act act) {
    const ds_vec_ops *v = ds_vec();
    int nt = ds_fast_threads(op, (double)rows * (double)cols);
    if (!bias) {
        size_t n = (size_t)(rows * cols), chunk = (n + 4095) / 4096;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (size_t c = 0; c < chunk; c++) {
            size_t i0 = c * 4096, len = n - i0 < 4096 ? n - i0 : 4096;
            v->add_act(y + i0, a + i0, NULL, NULL, len, act);
        }
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < rows; t++)
        v->add_act(y + t * cols, a + t * cols, bias, NULL, (size_t)cols, act);
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
    float beta = 0.0f;
    if (op->r) {
        if (bias || y != op->r->data)
            epilogue(op, y, op->r->data, rows, cout, bias, DS_ACT_NONE);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)cout, (blasint)k,
                1.0f, x, (blasint)cin, op->w, (blasint)cin, beta, y, (blasint)cout);
    if (!op->r && (bias || act != DS_ACT_NONE))
        epilogue(op, y, y, rows, cout, bias, act);
    else if (op->r && act != DS_ACT_NONE)
        epilogue(op, y, y, rows, cout, NULL, act);
}
