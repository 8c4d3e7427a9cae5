/*
 * cpu/fast/attention.c: multi-head self-attention, softmax(q k^T * scale) v,
 * over the packed (T, 3C) q|k|v tokens (channels (3, heads, head_dim)).
 *
 * Work is split into tasks of one head and a block of up to 64 queries,
 * handed to the threads in turn. A task needs the scores of its queries
 * against all T keys, at most 64 x T floats (258 KB for the 1009 tokens of a
 * 384x672 input): they stay in the thread's L2, so no head's T x T matrix
 * ever goes to memory, and a plain two-pass softmax (max, then exp and sum)
 * runs on them. With AVX2+FMA the task is cpu/fast/attention_avx2.c's
 * register-tiled kernel; otherwise two single-threaded sgemm calls on
 * strided views of q, k and v (the first adds to the scores, which start as
 * the bias rows).
 */
#include <cblas.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial */
#include "cpu/fast/fast.h"

enum { BQ = DS_ATTENTION_BLOCK }; /* queries per task */

static size_t align16(size_t n) { return (n + 15) / 16 * 16; } /* floats: 64 bytes */

/* Workspace: the AVX2 path's copies of q, k and v, shared; then one part per thread. */
static size_t shared_floats(const ds_node *n) {
    return align16(ds_attention_avx2_shared_floats(n->shape[2], n->shape[3], n->a.attn.heads));
}

static size_t per_thread_floats(int64_t T) {
    /* sgemm path: scores (BQ, T) and the row sums (BQ) */
    size_t sgemm = (size_t)(BQ * T) + BQ, avx2 = ds_attention_avx2_floats(T);
    return align16(sgemm > avx2 ? sgemm : avx2);
}

size_t ds_fast_attention_scratch(const ds_node *n, int n_threads) {
    return (shared_floats(n) + per_thread_floats(n->shape[2]) *
                                   (size_t)(n_threads > 0 ? n_threads : 1)) *
           sizeof(float);
}

/* scores (bq, T) = the bias rows of queries [q0, q0 + bq) of one head. */
static void bias_rows(float *scores, int64_t T, int64_t q0, int64_t bq, const float *bias,
                      const int32_t *index) {
    for (int64_t i = 0; i < bq; i++) {
        float *row = scores + i * T;
        if (!index) {
            memcpy(row, bias + (q0 + i) * T, (size_t)T * sizeof *row);
            continue;
        }
        const int32_t *ir = index + (q0 + i) * T;
        for (int64_t j = 0; j < T; j++)
            row[j] = bias[ir[j]];
    }
}

static void task_sgemm(const ds_cpu_op *op, const float *qkv, int64_t h, int64_t q0, int64_t bq,
                       const float *bias, float *y, float *ws) {
    const int64_t T = op->x->shape[2], C = op->y->shape[3];
    const int64_t hd = C / op->node->a.attn.heads;
    const ds_vec_ops *v = ds_vec();
    float *scores = ws, *sums = ws + BQ * T; /* (bq, T), (bq) */
    ds_blas_serial();
    const float *q = qkv + q0 * 3 * C + h * hd, *k = qkv + C + h * hd, *vv = qkv + 2 * C + h * hd;
    if (bias)
        bias_rows(scores, T, q0, bq, bias, (const int32_t *)op->w2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bq, (blasint)T, (blasint)hd,
                op->node->a.attn.scale, q, (blasint)(3 * C), k, (blasint)(3 * C), bias ? 1.0f : 0.0f,
                scores, (blasint)T);
    for (int64_t i = 0; i < bq; i++)
        sums[i] = v->exp_sum(scores + i * T, (size_t)T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)bq, (blasint)hd, (blasint)T,
                1.0f, scores, (blasint)T, vv, (blasint)(3 * C), 0.0f, y, (blasint)C);
    for (int64_t i = 0; i < bq; i++)
        v->scale(y + i * C, (size_t)hd, 1.0f / sums[i]);
}

typedef struct attn_job {
    const ds_cpu_op *op;
    const float *qkv; /* (T, 3C) of one item */
    float *y;         /* (T, C) of one item */
    int64_t blocks;
    size_t shared, per; /* floats: the shared copies, each thread's part */
    int64_t per_head;   /* floats of the bias per head: (T, T), or (R) with op->w2's index */
    int avx2, avx512;
} attn_job;

static void attn_pack(void *ctx, int64_t b, int thread) {
    (void)thread;
    const attn_job *j = ctx;
    const ds_cpu_op *op = j->op;
    (j->avx512 ? ds_attention_pack_avx512 : ds_attention_pack_avx2)(
        j->qkv, op->x->shape[2], op->y->shape[3], op->node->a.attn.heads, op->node->a.attn.scale, b,
        op->ctx->scratch);
}

/* task t: head t / blocks, query block t % blocks (consecutive tasks share a
 * head, so its k and v stay in cache) */
static void attn_task(void *ctx, int64_t t, int thread) {
    const attn_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const int64_t T = op->x->shape[2], C = op->y->shape[3];
    const int heads = op->node->a.attn.heads;
    const int64_t hd = C / heads;
    const int h = (int)(t / j->blocks);
    const int64_t b = t % j->blocks, q0 = b * BQ, bq = T - q0 < BQ ? T - q0 : BQ;
    float *ws = op->ctx->scratch + j->shared + (size_t)thread * j->per;
    float *y = j->y + q0 * C + h * hd;
    const float *bias = op->w ? op->w + h * j->per_head : NULL; /* (T, T) or (R) */
    const int32_t *index = (const int32_t *)op->w2;
    const int grid_w = op->node->a.attn.grid_w;
    if (j->avx512)
        ds_attention_task_avx512(op->ctx->scratch, T, C, heads, h, b, bias, index, grid_w, y, ws);
    else if (j->avx2)
        ds_attention_task_avx2(op->ctx->scratch, T, C, heads, h, b, bias, index, grid_w, y, ws);
    else
        task_sgemm(op, j->qkv, h, q0, bq, bias, y, ws);
}

void ds_fast_attention(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->y->shape[3];
    const int heads = op->node->a.attn.heads;
    const int64_t blocks = (T + BQ - 1) / BQ, tasks = heads * blocks;
    const size_t shared = shared_floats(op->node), per = per_thread_floats(T);
    const int avx2 = ds_vec() != ds_vec_portable();
    size_t room = op->ctx->scratch_bytes / sizeof(float);
    int nt = op->ctx->n_threads;
    if (room >= shared + per && (size_t)nt > (room - shared) / per)
        nt = (int)((room - shared) / per);
    if (nt > tasks)
        nt = (int)tasks;
    if (nt < 1)
        nt = 1;
    for (int64_t n = 0; n < N; n++) {
        attn_job j = {op, op->x->data + n * T * 3 * C, op->y->data + n * T * C, blocks, shared, per,
                      ds_attn_bias_per_head(op->node), avx2,
                      ds_fast_avx512()};
        if (avx2)
            ds_parallel_for(nt, blocks, attn_pack, &j);
        ds_parallel_for(nt, tasks, attn_task, &j);
    }
}
