/* cpu/ref/rope.c: reference QK-norm + 2-D RoPE on packed q|k|v (DS_OP_QK_ROPE). */
#include <math.h>
#include <string.h>

#include "cpu/ops.h"
#include "graph/rope.h" /* ds_rope_pos, ds_rope_angle */

/* LayerNorm of one head's n values in place, statistics in double. */
static void head_norm(float *v, int n, const float *w, const float *b, float eps) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += v[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += ((double)v[i] - mean) * ((double)v[i] - mean);
    var /= n;
    const double inv = 1.0 / sqrt(var + (double)eps);
    for (int i = 0; i < n; i++)
        v[i] = (float)(((double)v[i] - mean) * inv * w[i] + b[i]);
}

/* Rotates the pairs (j, j + quarter) of one half of a head by position pos. */
static void rotate_half(float *v, int quarter, float base, int pos) {
    for (int j = 0; j < quarter; j++) {
        float cf, sf; /* PyTorch's float32 tables */
        ds_rope_cos_sin(ds_rope_angle(base, quarter, j, pos), &cf, &sf);
        const double c = cf, s = sf;
        const double x0 = v[j], x1 = v[j + quarter];
        v[j] = (float)(x0 * c - x1 * s);
        v[j + quarter] = (float)(x1 * c + x0 * s);
    }
}

/* y = x with q and k of every head (optionally) normalized, then rotated:
 * the first hd/2 channels by the token's row, the others by its column. */
void ds_ref_qk_rope(const ds_cpu_op *op) {
    const ds_rope_attr *a = &op->node->a.rope;
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C3 = op->x->shape[3], C = C3 / 3;
    const int hd = (int)(C / a->heads), quarter = hd / 4;
    if (op->y->data != op->x->data)
        memcpy(op->y->data, op->x->data, (size_t)ds_shape_numel(op->x->shape) * sizeof(float));
    for (int64_t n = 0; n < N; n++)
        for (int64_t t = 0; t < T; t++) {
            int row, col;
            ds_rope_pos(a->flat, a->gw, t, &row, &col);
            for (int part = 0; part < 2; part++) /* q, then k */
                for (int h = 0; h < a->heads; h++) {
                    float *v = op->y->data + (n * T + t) * C3 + part * C + (int64_t)h * hd;
                    if (op->w)
                        head_norm(v, hd, part ? op->w2 : op->w, part ? op->w3 : op->b, a->eps);
                    rotate_half(v, quarter, a->base, row);
                    rotate_half(v + 2 * quarter, quarter, a->base, col);
                }
        }
}
