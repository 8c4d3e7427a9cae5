/*
 * cpu/conv/transpose.c: transposed convolution with kernel == stride (DPT's
 * reassemble), no padding: every input pixel paints its own kh x kw patch, so
 * it is one sgemm, T (P, kh*kw*O) = x (P, I) W (I, kh*kw*O), then a scatter
 * of each row of T into its patch, adding the bias. Rows of input go in
 * chunks so that T stays bounded.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cpu/conv/conv.h"

enum { T_MAX_FLOATS = 1 << 21 }; /* 8 MiB of T per chunk, at least one input row */

static int64_t rows_per_chunk(const ds_node *n, int64_t w) {
    const int64_t patch = (int64_t)n->a.conv.kh * n->a.conv.kw * n->shape[3];
    int64_t rows = T_MAX_FLOATS / (w * patch);
    return rows < 1 ? 1 : rows;
}

size_t ds_fast_conv_transpose_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    const ds_conv_attr *a = &n->a.conv;
    const int64_t h = n->shape[1] / a->stride_h, w = n->shape[2] / a->stride_w;
    int64_t rows = rows_per_chunk(n, w);
    rows = rows < h ? rows : h;
    return (size_t)(rows * w * a->kh * a->kw * n->shape[3]) * sizeof(float);
}

void ds_fast_conv_transpose(const ds_cpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t N = op->x->shape[0], H = op->x->shape[1], W = op->x->shape[2];
    const int64_t CI = op->x->shape[3], OH = op->y->shape[1], OW = op->y->shape[2];
    const int64_t O = op->y->shape[3], patch = (int64_t)a->kh * a->kw * O;
    const int64_t chunk = rows_per_chunk(op->node, W);
    const size_t need = ds_fast_conv_transpose_scratch(op->node, op->ctx->n_threads);
    if (OH != H * a->stride_h || OW != W * a->stride_w || a->kh != a->stride_h ||
        a->kw != a->stride_w || op->ctx->scratch_bytes < need) {
        ds_ref_conv_transpose(op); /* not the DPT form, or a workspace sized for another */
        return;
    }
    float *t = op->ctx->scratch; /* (rows * W, kh*kw*O) */
    for (int64_t r0 = 0; r0 < N * H; r0 += chunk) {
        const int64_t rows = N * H - r0 < chunk ? N * H - r0 : chunk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(rows * W), (int)patch, (int)CI,
                    1.0f, op->x->data + r0 * W * CI, (int)CI, op->w, (int)patch, 0.0f, t,
                    (int)patch);
#pragma omp parallel for collapse(2) num_threads(op->ctx->n_threads) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t ky = 0; ky < a->kh; ky++) {
                const int64_t nb = (r0 + r) / H, iy = (r0 + r) % H;
                float *y = op->y->data + ((nb * OH + iy * a->kh + ky) * OW) * O; /* output row */
                for (int64_t ix = 0; ix < W; ix++) {
                    const float *src = t + (r * W + ix) * patch + ky * a->kw * O;
                    float *dst = y + ix * a->kw * O; /* kw pixels, contiguous */
                    for (int64_t k = 0; k < a->kw * O; k++)
                        dst[k] = op->b ? src[k] + op->b[k % O] : src[k];
                }
            }
    }
}
