/* rope.cu: Depth Anything 3's QK-norm and 2-D RoPE on packed q|k|v
 * (DS_OP_QK_ROPE, ds_ref_qk_rope): per token and head, q and k through their
 * LayerNorms (w, b for q; w2, w3 for k) when given, then their pairs (j,
 * j + hd/4) of each half rotated by the row (first half) and the column
 * (second half) of the token (graph/rope.h); v copied. May run in place. */
#include "graph/rope.h"      /* ds_rope_pos, ds_rope_angle, ds_rope_cos_sin */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* In place on one head's hd values of y: LayerNorm (two passes over memory:
 * no register array), statistics in float. */
static __device__ void head_norm(float *v, int hd, const float *w, const float *b, float eps) {
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < hd; i++)
        mean += v[i];
    mean /= (float)hd;
    for (int i = 0; i < hd; i++)
        var += (v[i] - mean) * (v[i] - mean);
    const float inv = rsqrtf(var / (float)hd + eps);
    for (int i = 0; i < hd; i++)
        v[i] = (v[i] - mean) * inv * w[i] + b[i];
}

static __device__ void rotate_half(float *v, int quarter, float base, int pos) {
    for (int j = 0; j < quarter; j++) {
        float c, s;
        ds_rope_cos_sin(ds_rope_angle(base, quarter, j, pos), &c, &s);
        const float x0 = v[j], x1 = v[j + quarter];
        v[j] = x0 * c - x1 * s;
        v[j + quarter] = x1 * c + x0 * s;
    }
}

/* grid.x: blocks of a grid-stride loop over (n, t, head). */
static __global__ void qk_rope_kernel(const float *x /* (N, T, 3C) */, float *y /* (N, T, 3C) */,
                                      const float *qw, const float *qb, const float *kw, const float *kb,
                                      ds_rope_attr a, int64_t N, int64_t T, int64_t C) {
    const int hd = (int)(C / a.heads), quarter = hd / 4;
    const int64_t total = N * T * a.heads, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int h = (int)(i % a.heads);
        const int64_t nt = i / a.heads;
        int row, col;
        ds_rope_pos(a.flat, a.gw, nt % T, &row, &col);
        const float *xt = x + nt * 3 * C;
        float *yt = y + nt * 3 * C;
        for (int part = 0; part < 3; part++) { /* q, k, v */
            const float *src = xt + part * C + (int64_t)h * hd;
            float *v = yt + part * C + (int64_t)h * hd;
            if (v != src)
                for (int d = 0; d < hd; d++)
                    v[d] = src[d];
            if (part == 2)
                break;
            if (qw)
                head_norm(v, hd, part ? kw : qw, part ? kb : qb, a.eps);
            rotate_half(v, quarter, a.base, row);
            rotate_half(v + 2 * quarter, quarter, a.base, col);
        }
    }
}

ds_status op_qk_rope(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, 1, T, 3C) */
    const ds_rope_attr *a = &op->node->a.rope;
    DS_TRY(need_shape("qk_rope", "x", op->x, d));
    DS_TRY(need_shape("qk_rope", "y", op->y, d));
    const int64_t C = d[3] / 3;
    if (d[1] != 1 || d[3] % 3 || a->heads < 1 || C % a->heads || (C / a->heads) % 4 ||
        d[2] != 1 + (int64_t)a->gh * a->gw)
        return ds_fail(DS_ERR_SHAPE, "qk_rope: %lld tokens of %lld channels do not fit %d heads on %dx%d patches",
                       (long long)d[2], (long long)d[3], a->heads, a->gh, a->gw);
    if (op->w && (!op->b || !op->w2 || !op->w3))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "qk_rope: the q or k norm lacks a tensor");
    const int64_t n = d[0] * d[2] * a->heads;
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 128);
    return DS_LAUNCH(qk_rope_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->y->data, op->w, op->b,
                     op->w2, op->w3, *a, d[0], d[2], C);
}

} // namespace DS_CUDA_NS
