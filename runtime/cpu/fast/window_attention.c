/*
 * cpu/fast/window_attention.c: Swin's window attention (graph.h,
 * ds_window_attr) straight from the (N, H, W, 3C) map: no partitioned,
 * rolled or reversed copy of the map is ever made.
 *
 * A task is one head of one window, handed to the threads in turn. It
 * gathers its window's q (scaled, and normalized for cosine attention), k
 * and v into the thread's workspace (T x head_dim each, T the window's
 * tokens), then per block of up to 64 queries: scores = q k^T (sgemm), plus
 * the head's bias table (flipped once per task so that a query's biases
 * along a key row are contiguous) and, in a window that spans regions, the
 * -100 region mask; exp, then probabilities x v (sgemm) scattered back to
 * the queries' places and divided by the softmax sums there. The
 * scores of a block (64 x 576 floats for Swin v2's largest windows) stay in
 * the thread's L2. The sgemms are single-threaded OpenBLAS calls inside our
 * tasks, or on an AVX-512 engine our own unpacked ones (cpu/sgemm_avx512.c:
 * ds_sgemm_small_avx512) over q, k transposed once per task, and v, with
 * the row work between them in AVX-512 too (cpu/fast/window_attention_avx512.c,
 * cpu/fast/gather_avx512.c).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial, ds_sgemm_small_avx512 */
#include "cpu/fast/fast.h"
#include "graph/window.h" /* ds_window_*: windows, rolled coordinates, bias index */

enum { BQ = 64 }; /* queries per block */

typedef struct task_ws {
    int64_t *pos;   /* (T) map position of each token */
    float *label;   /* (T) region label of each token, if masked */
    float *flip;    /* (2 win_h - 1, 2 win_w - 1) the head's table, both axes reversed */
    float *q, *k, *v; /* (T, hd) each */
    float *s;       /* (BQ, T) scores, then probabilities */
    float *out;     /* (BQ, hd) */
    float *inv;     /* (BQ) 1 / each query's softmax sum */
    float *kt;      /* (hd, T) k transposed, for ds_sgemm_small_avx512; NULL: OpenBLAS */
    float *row;     /* (T) a biased score row (ds_window_softmax_avx512) */
} task_ws;

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

static size_t task_floats(const ds_node *n, size_t *parts) {
    const ds_window_attr *a = &n->a.win;
    const size_t T = (size_t)a->win_h * (size_t)a->win_w, hd = (size_t)(n->shape[3] / a->heads);
    const size_t sizes[9] = {2 * T, T, (size_t)(2 * a->win_h - 1) * (size_t)(2 * a->win_w - 1), 3 * T * hd,
                             BQ * T, BQ * hd, BQ, T * hd, T};
    size_t total = 0;
    for (int i = 0; i < 9; i++) {
        if (parts)
            parts[i] = total;
        total += align16(sizes[i]);
    }
    return total;
}

size_t ds_fast_window_attention_scratch(const ds_node *n, int n_threads) {
    return task_floats(n, NULL) * (size_t)(n_threads > 0 ? n_threads : 1) * sizeof(float);
}

static task_ws carve(const ds_node *n, float *base, int avx512) {
    size_t at[9];
    task_floats(n, at);
    const int64_t T = (int64_t)n->a.win.win_h * n->a.win.win_w, hd = n->shape[3] / n->a.win.heads;
    task_ws w = {(int64_t *)(base + at[0]), base + at[1], base + at[2], base + at[3], NULL, NULL,
                 base + at[4], base + at[5], base + at[6], avx512 ? base + at[7] : NULL, base + at[8]};
    w.k = w.q + T * hd;
    w.v = w.k + T * hd;
    return w;
}

/* Copies n floats times f into dst; f = 1/max(||src||, eps) * scale when normalizing. */
static void load_row(float *dst, const float *src, int64_t n, int normalize, float scale) {
    float f = scale;
    if (normalize) {
        double s = 0;
        for (int64_t d = 0; d < n; d++)
            s += (double)src[d] * src[d];
        s = sqrt(s);
        f = (float)(scale / (s > DS_WINDOW_COSINE_EPS ? s : DS_WINDOW_COSINE_EPS));
    }
    for (int64_t d = 0; d < n; d++)
        dst[d] = src[d] * f;
}

/* Head h of window (wy, wx) of one item: qkv (H, W, 3C) -> y (H, W, C). */
static void window_task(const ds_cpu_op *op, const float *qkv, float *y, int64_t wy, int64_t wx, int h,
                        const task_ws *w) {
    const ds_window_attr *a = &op->node->a.win;
    const int64_t H = op->y->shape[1], W = op->y->shape[2], C = op->y->shape[3], hd = C / a->heads;
    const int64_t th = ds_window_len(H, wy, a->win_h), tw = ds_window_len(W, wx, a->win_w), T = th * tw;
    const int64_t bw = 2 * a->win_w - 1, bh = 2 * a->win_h - 1;
    const float scale = op->w2 ? op->w2[h] : a->scale;
    const ds_vec_ops *vec = ds_vec();
    int masked = 0; /* a window whose tokens all share one region needs no mask */
    for (int64_t t = 0; t < T; t++) {
        const int64_t r = ds_window_first(wy, a->win_h) + t / tw, c = ds_window_first(wx, a->win_w) + t % tw;
        w->pos[t] = ds_window_unroll(r, H, a->shift_h) * W + ds_window_unroll(c, W, a->shift_w);
        if (op->b) {
            w->label[t] = op->b[r * W + c];
            masked |= w->label[t] != w->label[0];
        }
    }
    const float *head = qkv + h * hd; /* token p's q at head + p * 3C, k C and v 2C further */
    if (w->kt && !a->cosine) {
        ds_rows_gather_avx512(head, w->pos, 3 * C, T, hd, scale, w->q);
        ds_rows_gather_transposed_avx512(head + C, w->pos, 3 * C, T, hd, 1.0f, w->kt, T);
    } else if (w->kt) { /* normalized rows, then k transposed (times 1: exact) */
        ds_rows_gather_normalized_avx512(head, w->pos, 3 * C, T, hd, DS_WINDOW_COSINE_EPS, scale, w->q);
        ds_rows_gather_normalized_avx512(head + C, w->pos, 3 * C, T, hd, DS_WINDOW_COSINE_EPS, 1.0f, w->k);
        ds_rows_gather_transposed_avx512(w->k, NULL, hd, T, hd, 1.0f, w->kt, T);
    } else {
        for (int64_t t = 0; t < T; t++) {
            load_row(w->q + t * hd, head + w->pos[t] * 3 * C, hd, a->cosine, scale);
            load_row(w->k + t * hd, head + w->pos[t] * 3 * C + C, hd, a->cosine, 1.0f);
        }
    }
    if (w->kt)
        ds_rows_gather_avx512(head + 2 * C, w->pos, 3 * C, T, hd, 1.0f, w->v);
    else
        for (int64_t t = 0; t < T; t++)
            memcpy(w->v + t * hd, head + w->pos[t] * 3 * C + 2 * C, (size_t)hd * sizeof(float));
    if (op->w) { /* flip[u][v] = table[bh-1-u][bw-1-v]: biases of a key row run forward */
        const float *table = op->w + (int64_t)h * bh * bw;
        for (int64_t u = 0; u < bh * bw; u++)
            w->flip[u] = table[bh * bw - 1 - u];
    }
    for (int64_t q0 = 0; q0 < T; q0 += BQ) {
        const int64_t bq = T - q0 < BQ ? T - q0 : BQ;
        if (w->kt) {
            ds_sgemm_small_avx512(bq, T, hd, w->q + q0 * hd, hd, w->kt, T, w->s, T);
            ds_window_softmax_avx512(w->s, bq, T, q0, tw, op->w ? w->flip : NULL, bw, a->win_h, a->win_w,
                                     masked ? w->label : NULL, w->inv, w->row);
            ds_sgemm_small_avx512(bq, hd, T, w->s, T, w->v, hd, w->out, hd);
            ds_window_scatter_avx512(w->out, bq, hd, w->inv, y + h * hd, w->pos + q0, C);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)bq, (blasint)T, (blasint)hd, 1.0f,
                    w->q + q0 * hd, (blasint)hd, w->k, (blasint)hd, 0.0f, w->s, (blasint)T);
        for (int64_t i = 0; i < bq; i++) {
            float *row = w->s + i * T;
            const int64_t ai = (q0 + i) / tw, bi = (q0 + i) % tw;
            if (op->w) /* flipped index of (ai - aj, bi - bj) = (aj - ai + win_h - 1, bj - bi + win_w - 1) */
                for (int64_t aj = 0; aj < th; aj++) {
                    float *sr = row + aj * tw;
                    vec->add_act(sr, sr, w->flip + (aj - ai + a->win_h - 1) * bw + (a->win_w - 1 - bi), NULL,
                                 (size_t)tw, DS_ACT_NONE);
                }
            if (masked) {
                const float li = w->label[q0 + i];
                for (int64_t j = 0; j < T; j++)
                    row[j] += w->label[j] != li ? DS_WINDOW_MASK_VALUE : 0.0f;
            }
            w->inv[i] = 1.0f / vec->exp_sum(row, (size_t)T);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)bq, (blasint)hd, (blasint)T, 1.0f,
                    w->s, (blasint)T, w->v, (blasint)hd, 0.0f, w->out, (blasint)hd);
        for (int64_t i = 0; i < bq; i++) { /* the softmax's division, on hd values instead of T */
            float *dst = y + w->pos[q0 + i] * C + h * hd;
            memcpy(dst, w->out + i * hd, (size_t)hd * sizeof(float));
            vec->scale(dst, (size_t)hd, w->inv[i]);
        }
    }
}

typedef struct window_job {
    const ds_cpu_op *op;
    int64_t nwy, nwx; /* windows down and across */
    size_t per;       /* workspace floats per thread */
    int avx512;       /* our sgemm instead of OpenBLAS's */
} window_job;

static void window_one(void *ctx, int64_t t, int thread) {
    const window_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_window_attr *a = &op->node->a.win;
    const int64_t H = op->y->shape[1], W = op->y->shape[2], C = op->y->shape[3];
    const task_ws w = carve(op->node, op->ctx->scratch + (size_t)thread * j->per, j->avx512);
    const int h = (int)(t % a->heads);
    const int64_t win = t / a->heads, n = win / (j->nwy * j->nwx), wy = win / j->nwx % j->nwy, wx = win % j->nwx;
    ds_blas_serial();
    window_task(op, op->x->data + n * H * W * 3 * C, op->y->data + n * H * W * C, wy, wx, h, &w);
}

void ds_fast_window_attention(const ds_cpu_op *op) {
    const ds_window_attr *a = &op->node->a.win;
    const int64_t N = op->y->shape[0], H = op->y->shape[1], W = op->y->shape[2];
    const int64_t nwy = ds_window_count(H, a->win_h), nwx = ds_window_count(W, a->win_w);
    const int64_t tasks = N * nwy * nwx * a->heads;
    const size_t per = task_floats(op->node, NULL);
    const int nt = ds_fast_scratch_threads(op, per, tasks);
    window_job j = {op, nwy, nwx, per, ds_fast_avx512()};
    /* consecutive tasks share a window: its tokens stay in cache */
    ds_parallel_for(nt, tasks, window_one, &j);
}
