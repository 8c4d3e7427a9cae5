/*
 * cpu/fast/rope.c: QK-norm + 2-D RoPE (DS_OP_QK_ROPE) over threads: the
 * cos/sin of every (position, pair) once into the scratch, then each token's
 * heads normalized by the vector LayerNorm row and rotated in place.
 */
#include <math.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"
#include "graph/rope.h" /* ds_rope_pos, ds_rope_angle */

/* Largest position + 1 any token takes. */
static int positions(const ds_rope_attr *a) { return (a->gh > a->gw ? a->gh : a->gw) + 1; }

size_t ds_fast_qk_rope_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    const int quarter = (int)(n->shape[3] / 3 / n->a.rope.heads / 4);
    return (size_t)positions(&n->a.rope) * quarter * 2 * sizeof(float);
}

static void rotate(float *v, int quarter, const float *cs) {
    const float *c = cs, *s = cs + quarter;
    for (int j = 0; j < quarter; j++) {
        const float x0 = v[j], x1 = v[j + quarter];
        v[j] = x0 * c[j] - x1 * s[j];
        v[j + quarter] = x1 * c[j] + x0 * s[j];
    }
}

typedef struct rope_job {
    const ds_cpu_op *op;
    const float *table; /* per position: cos[quarter], sin[quarter] */
    int hd, quarter;    /* head dim, a quarter of it */
} rope_job;

/* token nt: its q and k heads normalized and rotated in place */
static void rope_token(void *ctx, int64_t nt, int thread) {
    (void)thread;
    const rope_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_rope_attr *a = &op->node->a.rope;
    const int64_t T = op->x->shape[2], C3 = op->x->shape[3], C = C3 / 3;
    const int hd = j->hd, quarter = j->quarter;
    const ds_vec_ops *v = ds_vec();
    int row, col;
    ds_rope_pos(a->flat, a->gw, nt % T, &row, &col);
    float *yt = op->y->data + nt * C3; /* (3C): q, k, v */
    if (yt != op->x->data + nt * C3)
        memcpy(yt, op->x->data + nt * C3, (size_t)C3 * sizeof(float));
    for (int part = 0; part < 2; part++)
        for (int h = 0; h < a->heads; h++) {
            float *q = yt + part * C + (int64_t)h * hd;
            if (op->w)
                v->layernorm(q, q, part ? op->w2 : op->w, part ? op->w3 : op->b, (size_t)hd, a->eps);
            rotate(q, quarter, j->table + (size_t)row * 2 * quarter);
            rotate(q + 2 * quarter, quarter, j->table + (size_t)col * 2 * quarter);
        }
}

void ds_fast_qk_rope(const ds_cpu_op *op) {
    const ds_rope_attr *a = &op->node->a.rope;
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C3 = op->x->shape[3], C = C3 / 3;
    const int hd = (int)(C / a->heads), quarter = hd / 4, npos = positions(a);
    float *table = op->ctx->scratch; /* per position: cos[quarter], sin[quarter] */
    for (int p = 0; p < npos; p++)
        for (int j = 0; j < quarter; j++) {
            float *t = table + (size_t)p * 2 * quarter;
            ds_rope_cos_sin(ds_rope_angle(a->base, quarter, j, p), &t[j], &t[quarter + j]);
        }
    rope_job j = {op, table, hd, quarter};
    ds_parallel_for(ds_fast_threads(op, (double)(N * T * C * 8)), N * T, rope_token, &j);
}
