/*
 * cpu/fast/levit_attention.c: LeViT attention (DS_OP_LEVIT_ATTENTION, graph.h):
 * act(softmax(q k^T * scale + bias) v) per head, over its head-interleaved
 * q|k|v rows (ds_levit_layout_of).
 *
 * Tasks of one head and a block of up to 64 queries are handed to the
 * threads in turn; a task's scores (64 x Tk floats, Tk = 196 at most in
 * LeViT-384: 50 KB) stay in its thread's cache. Two sgemm calls on strided
 * views of q, k and v, the bias rows added, a two-pass softmax per row. The
 * sgemm is single-threaded OpenBLAS inside our tasks, or on an AVX-512
 * engine ds_sgemm_small_avx512 on k transposed into the task's workspace
 * (no packing: OpenBLAS's copies of these small operands cost it a third).
 */
#include <cblas.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial */
#include "cpu/fast/fast.h"

enum { BQ = 64 }; /* queries per task */

/* scores (BQ, Tk), row sums (BQ), k^T (key_dim, Tk) */
static size_t per_thread_floats(const ds_levit_attn_attr *a) {
    return ((size_t)(BQ * a->keys + BQ + a->key_dim * a->keys) + 15) / 16 * 16;
}

size_t ds_fast_levit_attention_scratch(const ds_node *n, int n_threads) {
    return per_thread_floats(&n->a.levit) * (size_t)(n_threads > 0 ? n_threads : 1) * sizeof(float);
}

/* Head h, queries [q0, q0 + bq) of one item: kv (Tk, kv_row), qs (Tq, q_row), y (Tq, C). */
static void task(const ds_cpu_op *op, const ds_levit_layout *l, const float *kv, const float *qs, float *y,
                 int h, int64_t q0, int64_t bq, float *ws, int avx512) {
    const ds_levit_attn_attr *a = &op->node->a.levit;
    const int64_t Tq = op->y->shape[2], Tk = a->keys, C = op->y->shape[3];
    const ds_vec_ops *v = ds_vec();
    float *scores = ws, *sums = ws + BQ * Tk, *kt = sums + BQ; /* (bq, Tk), (bq), (key_dim, Tk) */
    const float *q = qs + q0 * l->q_row + h * l->q_head + l->q_off, *k = kv + h * l->kv_head + l->k_off;
    const float *vv = kv + h * l->kv_head + l->v_off;
    if (avx512) {
        ds_rows_gather_transposed_avx512(k, NULL, l->kv_row, Tk, a->key_dim, a->scale, kt, Tk); /* k^T scaled */
        ds_sgemm_small_avx512(bq, Tk, a->key_dim, q, l->q_row, kt, Tk, scores, Tk);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bq, (blasint)Tk, (blasint)a->key_dim, a->scale,
                    q, (blasint)l->q_row, k, (blasint)l->kv_row, 0.0f, scores, (blasint)Tk);
    }
    for (int64_t i = 0; i < bq; i++) {
        float *row = scores + i * Tk;
        if (op->w) /* the bias (heads, Tq, Tk) */
            v->add_act(row, row, op->w + ((int64_t)h * Tq + q0 + i) * Tk, NULL, (size_t)Tk, DS_ACT_NONE);
        sums[i] = v->exp_sum(row, (size_t)Tk);
    }
    float *out = y + q0 * C + (int64_t)h * a->val_dim;
    if (avx512)
        ds_sgemm_small_avx512(bq, a->val_dim, Tk, scores, Tk, vv, l->kv_row, out, C);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)bq, (blasint)a->val_dim, (blasint)Tk, 1.0f,
                    scores, (blasint)Tk, vv, (blasint)l->kv_row, 0.0f, out, (blasint)C);
    for (int64_t i = 0; i < bq; i++) {
        v->scale(out + i * C, (size_t)a->val_dim, 1.0f / sums[i]);
        if (a->act != DS_ACT_NONE)
            v->add_act(out + i * C, out + i * C, NULL, NULL, (size_t)a->val_dim, a->act);
    }
}

typedef struct levit_job {
    const ds_cpu_op *op;
    const ds_levit_layout *l;
    int64_t blocks, tasks; /* query blocks per head, tasks per item */
    size_t per;            /* workspace floats per thread */
    int avx512;            /* ds_sgemm_small_avx512, else OpenBLAS */
} levit_job;

static void levit_task(void *ctx, int64_t i, int thread) {
    const levit_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const int64_t Tq = op->y->shape[2], Tk = op->node->a.levit.keys, C = op->y->shape[3];
    const int64_t n = i / j->tasks, t = i % j->tasks;
    const float *kv = op->x->data + n * Tk * j->l->kv_row;
    const float *qs = op->r ? op->r->data + n * Tq * j->l->q_row : kv;
    const int h = (int)(t / j->blocks);
    const int64_t q0 = t % j->blocks * BQ, bq = Tq - q0 < BQ ? Tq - q0 : BQ;
    ds_blas_serial();
    task(op, j->l, kv, qs, op->y->data + n * Tq * C, h, q0, bq, op->ctx->scratch + (size_t)thread * j->per,
         j->avx512);
}

void ds_fast_levit_attention(const ds_cpu_op *op) {
    const ds_levit_attn_attr *a = &op->node->a.levit;
    const ds_levit_layout l = ds_levit_layout_of(op->node);
    const int64_t N = op->y->shape[0], Tq = op->y->shape[2];
    const int64_t blocks = (Tq + BQ - 1) / BQ, tasks = a->heads * blocks;
    const size_t per = per_thread_floats(a);
    const int nt = ds_fast_scratch_threads(op, per, N * tasks);
    levit_job j = {op, &l, blocks, tasks, per, ds_fast_avx512()};
    /* consecutive tasks share a head, so its k and v stay in cache */
    ds_parallel_for(nt, N * tasks, levit_task, &j);
}
