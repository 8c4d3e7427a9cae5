/*
 * cpu_fast_attention.c: multi-head self-attention, softmax(q k^T * scale) v,
 * over the packed (T, 3C) q|k|v tokens (channels (3, heads, head_dim)).
 *
 * Work is split into tasks of one head and a block of BQ queries; each thread
 * takes tasks in turn. A task computes its BQ x T score block with one sgemm
 * on strided views of q and k (no copies), turns it into exp(s - max) in
 * place, multiplies by v with a second sgemm straight into the output, and
 * divides each output row by its sum. The score block (BQ x T floats, 258 KB
 * for the 1009 tokens of a 384x672 input) stays in the thread's L2, so the
 * full T x T matrix of a head is never written to memory. The sgemm calls run
 * inside the parallel loop, where OpenMP OpenBLAS runs them on the calling
 * thread.
 */
#include <cblas.h>
#include <omp.h>

#include "cpu_fast.h"

enum { BQ = 64 }; /* queries per task */

static size_t per_thread_floats(int64_t T) {
    /* scores (BQ, T), rounded to a 64-byte multiple; then the row sums (BQ) */
    return ((size_t)(BQ * T) + 15) / 16 * 16 + BQ;
}

size_t ds_fast_attention_scratch(const ds_node *n, int n_threads) {
    return per_thread_floats(n->shape[2]) * (size_t)(n_threads > 0 ? n_threads : 1) * sizeof(float);
}

static void task(const ds_cpu_op *op, const ds_vec_ops *v, int64_t n, int h, int64_t q0,
                 float *scores, float *sums) {
    const int64_t T = op->x->shape[2], C = op->y->shape[3];
    const int64_t hd = C / op->node->a.attn.heads;
    const int64_t bq = T - q0 < BQ ? T - q0 : BQ;
    const float *qkv = op->x->data + n * T * 3 * C; /* (T, 3C) */
    const float *q = qkv + q0 * 3 * C + h * hd, *k = qkv + C + h * hd, *vv = qkv + 2 * C + h * hd;
    float *y = op->y->data + (n * T + q0) * C + h * hd; /* (bq, hd) rows of stride C */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bq, (blasint)T, (blasint)hd,
                op->node->a.attn.scale, q, (blasint)(3 * C), k, (blasint)(3 * C), 0.0f, scores,
                (blasint)T);
    for (int64_t i = 0; i < bq; i++)
        sums[i] = v->exp_sum(scores + i * T, (size_t)T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)bq, (blasint)hd, (blasint)T,
                1.0f, scores, (blasint)T, vv, (blasint)(3 * C), 0.0f, y, (blasint)C);
    for (int64_t i = 0; i < bq; i++)
        v->scale(y + i * C, (size_t)hd, 1.0f / sums[i]);
}

void ds_fast_attention(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2];
    const int heads = op->node->a.attn.heads;
    const int64_t blocks = (T + BQ - 1) / BQ, tasks = N * heads * blocks;
    const size_t per = per_thread_floats(T);
    int nt = op->ctx->n_threads;
    if ((size_t)nt * per * sizeof(float) > op->ctx->scratch_bytes)
        nt = (int)(op->ctx->scratch_bytes / (per * sizeof(float)));
    if (nt < 1)
        nt = 1;
    if (nt > tasks)
        nt = (int)tasks;
    const ds_vec_ops *v = ds_vec();
#pragma omp parallel num_threads(nt)
    {
        float *scores = op->ctx->scratch + (size_t)omp_get_thread_num() * per;
        float *sums = scores + per - BQ;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tasks; t++) {
            int64_t b = t % blocks, nh = t / blocks;
            task(op, v, nh / heads, (int)(nh % heads), b * BQ, scores, sums);
        }
    }
}
