/*
 * cpu/fast/gather_avx512.c: rows of a token map copied, scaled, into a
 * task's workspace, as rows or transposed (16x16 register transposes): the
 * attention kernels' q, k^T and v (Swin's windows, LeViT's k, the ViT
 * attention's q^T), or normalized (Swin v2's cosine attention). The scale is
 * one multiply a float, as the C paths do it, so the values are theirs (the
 * norms' sums run in another order).
 */
#include <math.h>

#include "cpu/fast/fast.h"
#include "cpu/simd_avx512.h"

static inline const float *row_at(const float *base, const int64_t *pos, int64_t stride, int64_t t) {
    return base + (pos ? pos[t] : t) * stride;
}

DS_AVX512 void ds_rows_gather_avx512(const float *base, const int64_t *pos, int64_t stride, int64_t n,
                                     int64_t hd, float scale, float *dst) {
    const __m512 f = _mm512_set1_ps(scale);
    for (int64_t t = 0; t < n; t++) {
        const float *src = row_at(base, pos, stride, t);
        for (int64_t d = 0; d < hd; d += 16) {
            const __mmask16 m = ds_lanes16(hd - d);
            _mm512_mask_storeu_ps(dst + t * hd + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src + d), f));
        }
    }
}

DS_AVX512 void ds_rows_gather_transposed_avx512(const float *base, const int64_t *pos, int64_t stride,
                                                 int64_t n, int64_t hd, float scale, float *dst, int64_t ld) {
    const __m512 f = _mm512_set1_ps(scale);
    for (int64_t t0 = 0; t0 < n; t0 += 16) {
        const int64_t rows = n - t0 < 16 ? n - t0 : 16;
        const __mmask16 tm = ds_lanes16(rows);
        for (int64_t d0 = 0; d0 < hd; d0 += 16) {
            const __mmask16 dm = ds_lanes16(hd - d0);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < rows ? _mm512_mul_ps(_mm512_maskz_loadu_ps(dm, row_at(base, pos, stride, t0 + i) + d0), f)
                                : _mm512_setzero_ps();
            ds_transpose16(r); /* r[d]: float d0 + d of rows t0 .. t0 + 15 */
            for (int64_t d = 0; d < 16 && d0 + d < hd; d++)
                _mm512_mask_storeu_ps(dst + (d0 + d) * ld + t0, tm, r[d]);
        }
    }
}

DS_AVX512 void ds_rows_gather_normalized_avx512(const float *base, const int64_t *pos, int64_t stride, int64_t n,
                                                int64_t hd, double eps, float scale, float *dst) {
    for (int64_t t = 0; t < n; t++) {
        const float *src = row_at(base, pos, stride, t);
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        for (int64_t d = 0; d < hd; d += 16) {
            const __m512 x = _mm512_maskz_loadu_ps(ds_lanes16(hd - d), src + d);
            const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
            const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
            s0 = _mm512_fmadd_pd(lo, lo, s0);
            s1 = _mm512_fmadd_pd(hi, hi, s1);
        }
        const double norm = sqrt(_mm512_reduce_add_pd(_mm512_add_pd(s0, s1)));
        const __m512 f = _mm512_set1_ps((float)(scale / (norm > eps ? norm : eps)));
        for (int64_t d = 0; d < hd; d += 16) {
            const __mmask16 m = ds_lanes16(hd - d);
            _mm512_mask_storeu_ps(dst + t * hd + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src + d), f));
        }
    }
}
