/*
 * cpu/fast/maxpool_avx2.c: one output row of max-pool with AVX2, 8 channels at a
 * time: a value replaces the running max when it is greater or NaN, as in
 * the reference (so NaN propagates); the last C % 8 channels go scalar.
 */
#include <math.h>

#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

DS_AVX2 void ds_maxpool_row_avx2(const ds_cpu_op *op, int64_t nb, int64_t oy) {
    const ds_pool_attr *a = &op->node->a.pool;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], C8 = C / 8 * 8;
    int ky0, ky1;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, 1, a->kh, H, &ky0, &ky1);
    for (int64_t ox = 0; ox < OW; ox++) {
        int kx0, kx1;
        ds_conv_tap_range(ox, a->stride_w, a->pad_l, 1, a->kw, W, &kx0, &kx1);
        float *y = op->y->data + ((nb * OH + oy) * OW + ox) * C;
        for (int64_t c = 0; c < C; c += 8) {
            const int vec = c < C8;
            __m256 m = _mm256_set1_ps(-INFINITY);
            float ms[8];
            for (int l = 0; l < 8; l++)
                ms[l] = -INFINITY;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const int64_t iy = oy * a->stride_h - a->pad_t + ky;
                    const int64_t ix = ox * a->stride_w - a->pad_l + kx;
                    const float *x = op->x->data + ((nb * H + iy) * W + ix) * C + c;
                    if (vec) {
                        __m256 v = _mm256_loadu_ps(x);
                        __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                                   _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                        m = _mm256_blendv_ps(m, v, take);
                        continue;
                    }
                    for (int64_t l = 0; l < C - c; l++)
                        ms[l] = x[l] > ms[l] || isnan(x[l]) ? x[l] : ms[l];
                }
            if (vec)
                _mm256_storeu_ps(y + c, m);
            else
                for (int64_t l = 0; l < C - c; l++)
                    y[c + l] = ms[l];
        }
    }
}
