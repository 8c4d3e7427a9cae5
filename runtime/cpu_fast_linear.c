/*
 * cpu_fast_linear.c: y = act(x W^T + b + r) with one OpenBLAS sgemm.
 *
 * The sgemm is called outside any parallel region, so OpenBLAS (OpenMP build)
 * spreads it over the engine's threads. Bias and residual go in around it in
 * one pass over y: with a residual, y = r + b is written first and the sgemm
 * accumulates onto it (beta = 1), which is also right when the planner put y
 * on top of r; without one, the sgemm writes y and the pass adds the bias and
 * applies the activation. A residual with an activation takes a second pass.
 */
/* cblas.h pulls in complex.h: no variable may be called I */
#include <cblas.h>

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

void ds_fast_linear(const ds_cpu_op *op) {
    const int64_t cin = op->x->shape[3], cout = op->y->shape[3];
    const int64_t rows = ds_shape_numel(op->x->shape) / cin;
    const ds_act act = op->node->a.linear.act;
    float *y = op->y->data; /* (rows, cout) */
    float beta = 0.0f;
    if (op->r) {
        if (op->b || y != op->r->data)
            epilogue(op, y, op->r->data, rows, cout, op->b, DS_ACT_NONE);
        beta = 1.0f;
    }
    set_blas_threads(op->ctx->n_threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)cout, (blasint)cin,
                1.0f, op->x->data, (blasint)cin, op->w, (blasint)cin, beta, y, (blasint)cout);
    if (!op->r && (op->b || act != DS_ACT_NONE))
        epilogue(op, y, y, rows, cout, op->b, act);
    else if (op->r && act != DS_ACT_NONE)
        epilogue(op, y, y, rows, cout, NULL, act);
}
