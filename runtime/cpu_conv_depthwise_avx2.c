/*
 * cpu_conv_depthwise_avx2.c: one output row of a depthwise convolution with
 * AVX2+FMA, 32 channels (4 accumulators) at a time, then 8; the last C % 8
 * channels go to the C version.
 */
#include "cpu_conv.h"
#include "cpu_simd_avx2.h"

/* Channels c .. c + 8*nv - 1 of output pixel ox. */
static inline __attribute__((always_inline)) void pixel(int nv, const ds_cpu_op *op,
                                                        const float *p, int64_t nb, int64_t oy,
                                                        int64_t ox, int ky0, int ky1, int kx0,
                                                        int kx1, int64_t c) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    __m256 acc[4];
    for (int v = 0; v < nv; v++)
        acc[v] = _mm256_setzero_ps();
    for (int ky = ky0; ky < ky1; ky++) {
        int64_t iy = oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
        const float *xr = op->x->data + (nb * H + iy) * W * C + c;
        const float *wr = p + (int64_t)ky * a->kw * C + c;
        for (int kx = kx0; kx < kx1; kx++) {
            int64_t ix = ox * a->stride_w - a->pad_l + (int64_t)kx * a->dil_w;
            const float *xp = xr + ix * C, *wp = wr + (int64_t)kx * C;
            for (int v = 0; v < nv; v++) {
                __m256 xv = ds_act8(a->in_act, _mm256_loadu_ps(xp + 8 * v));
                acc[v] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp + 8 * v), acc[v]);
            }
        }
    }
    const int64_t at = ((nb * OH + oy) * OW + ox) * C + c;
    for (int v = 0; v < nv; v++) {
        __m256 y = acc[v];
        if (op->b)
            y = _mm256_add_ps(y, _mm256_loadu_ps(op->b + c + 8 * v));
        if (op->r)
            y = _mm256_add_ps(y, ds_act8(a->res_act, _mm256_loadu_ps(op->r->data + at + 8 * v)));
        _mm256_storeu_ps(op->y->data + at + 8 * v, ds_act8(a->act, y));
    }
}

void ds_depthwise_row_avx2(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OW = op->y->shape[2];
    const int64_t C8 = C / 8 * 8;
    int ky0, ky1;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, H, &ky0, &ky1);
    for (int64_t ox = 0; ox < OW; ox++) {
        int kx0, kx1;
        ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, W, &kx0, &kx1);
        int64_t c = 0;
        for (; c + 32 <= C8; c += 32)
            pixel(4, op, p, nb, oy, ox, ky0, ky1, kx0, kx1, c);
        for (; c < C8; c += 8)
            pixel(1, op, p, nb, oy, ox, ky0, ky1, kx0, kx1, c);
    }
    if (C8 < C)
        ds_depthwise_row_c(op, p, nb, oy, C8, C);
}
