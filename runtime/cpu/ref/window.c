/* cpu/ref/window.c: reference window attention and patch merging (Swin). */
#include <math.h>
#include <string.h>

#include "cpu/ops.h"
#include "graph/window.h" /* ds_window_*: windows, rolled coordinates, bias index */

/* The map position (y * W + x) of token t of window (wy, wx). */
static int64_t token_pos(const ds_window_attr *a, int64_t H, int64_t W, int64_t wy, int64_t wx,
                         int64_t tw, int64_t t, int64_t *rolled) {
    const int64_t r = ds_window_first(wy, a->win_h) + t / tw, c = ds_window_first(wx, a->win_w) + t % tw;
    *rolled = r * W + c;
    return ds_window_unroll(r, H, a->shift_h) * W + ds_window_unroll(c, W, a->shift_w);
}

static double norm_or_eps(const float *v, int64_t n) {
    double s = 0;
    for (int64_t d = 0; d < n; d++)
        s += (double)v[d] * v[d];
    s = sqrt(s);
    return s > DS_WINDOW_COSINE_EPS ? s : DS_WINDOW_COSINE_EPS;
}

/* One head of one window: every query against every key of the window. */
static void window_head(const ds_cpu_op *op, const float *qkv, float *y, int64_t wy, int64_t wx, int h,
                        double *p) {
    const ds_window_attr *a = &op->node->a.win;
    const int64_t H = op->y->shape[1], W = op->y->shape[2], C = op->y->shape[3], hd = C / a->heads;
    const int64_t th = ds_window_len(H, wy, a->win_h), tw = ds_window_len(W, wx, a->win_w), T = th * tw;
    const float *table = op->w ? op->w + (int64_t)h * (2 * a->win_h - 1) * (2 * a->win_w - 1) : NULL;
    const float *labels = op->b; /* (H, W) of the rolled map */
    const double scale = op->w2 ? op->w2[h] : a->scale;
    for (int64_t i = 0; i < T; i++) {
        int64_t ri, rj;
        const int64_t pi = token_pos(a, H, W, wy, wx, tw, i, &ri);
        const float *q = qkv + pi * 3 * C + h * hd;
        const double qn = a->cosine ? norm_or_eps(q, hd) : 1.0;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < T; j++) {
            const int64_t pj = token_pos(a, H, W, wy, wx, tw, j, &rj);
            const float *k = qkv + pj * 3 * C + C + h * hd;
            double s = 0;
            for (int64_t d = 0; d < hd; d++)
                s += (double)q[d] * k[d];
            if (a->cosine)
                s /= qn * norm_or_eps(k, hd);
            s *= scale;
            if (table)
                s += table[ds_window_bias_index(a->win_h, a->win_w, i / tw, i % tw, j / tw, j % tw)];
            if (labels && labels[ri] != labels[rj])
                s += DS_WINDOW_MASK_VALUE;
            p[j] = s;
            if (s > mx)
                mx = s;
        }
        for (int64_t j = 0; j < T; j++)
            sum += (p[j] = exp(p[j] - mx));
        for (int64_t d = 0; d < hd; d++) {
            double acc = 0;
            for (int64_t j = 0; j < T; j++)
                acc += p[j] * qkv[token_pos(a, H, W, wy, wx, tw, j, &rj) * 3 * C + 2 * C + h * hd + d];
            y[pi * C + h * hd + d] = (float)(acc / sum);
        }
    }
}

void ds_ref_window_attention(const ds_cpu_op *op) {
    const ds_window_attr *a = &op->node->a.win;
    const int64_t N = op->y->shape[0], H = op->y->shape[1], W = op->y->shape[2], C = op->y->shape[3];
    double *p = (double *)op->ctx->scratch; /* one query's scores, see ds_ref_window_attention_scratch */
    for (int64_t n = 0; n < N; n++)
        for (int64_t wy = 0; wy < ds_window_count(H, a->win_h); wy++)
            for (int64_t wx = 0; wx < ds_window_count(W, a->win_w); wx++)
                for (int h = 0; h < a->heads; h++)
                    window_head(op, op->x->data + n * H * W * 3 * C, op->y->data + n * H * W * C, wy, wx, h, p);
}

size_t ds_ref_window_attention_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    return (size_t)n->a.win.win_h * (size_t)n->a.win.win_w * sizeof(double);
}

/* Output channels [k * C, (k+1) * C) of (i, j) come from (2i + k % 2, 2j + k / 2). */
void ds_ref_patch_merge(const ds_cpu_op *op) {
    const int64_t *s = op->x->shape, *d = op->y->shape;
    const int64_t C = s[3];
    for (int64_t n = 0; n < d[0]; n++)
        for (int64_t i = 0; i < d[1]; i++)
            for (int64_t j = 0; j < d[2]; j++)
                for (int k = 0; k < 4; k++) {
                    const int64_t sy = 2 * i + k % 2, sx = 2 * j + k / 2;
                    float *out = op->y->data + ((n * d[1] + i) * d[2] + j) * d[3] + k * C;
                    if (sy < s[1] && sx < s[2])
                        memcpy(out, op->x->data + ((n * s[1] + sy) * s[2] + sx) * C, (size_t)C * sizeof(float));
                    else
                        memset(out, 0, (size_t)C * sizeof(float));
                }
}
