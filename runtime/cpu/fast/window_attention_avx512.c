/*
 * cpu/fast/window_attention_avx512.c: the row work of a Swin window task
 * (cpu/fast/window_attention.c) with AVX-512, between its two sgemms: the
 * gathers of q, k^T and v from the map, the softmax with the bias table and
 * region mask folded in, and the scatter of the outputs. Done a float or a
 * 12-float call at a time, these cost three times the sgemms.
 */
#include "cpu/fast/fast.h"
#include "cpu/simd_avx512.h"
#include "graph/window.h" /* DS_WINDOW_MASK_VALUE */

/* t[0, n) = s[0, n) + b (NULL: nothing) and the mask where label differs
 * from li (NULL: none); returns mx with their maximum. */
static inline __attribute__((always_inline)) DS_AVX512 __m512 biased_run(const float *s, const float *b,
                                                                        const float *label, __m512 li,
                                                                        int64_t n, float *t, __m512 mx) {
    for (int64_t c = 0; c < n; c += 16) {
        const __mmask16 m = ds_lanes16(n - c);
        __m512 v = _mm512_maskz_loadu_ps(m, s + c);
        if (b)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + c));
        if (label) { /* -100 where the key's region is not the query's */
            const __mmask16 other = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, label + c), li, _CMP_NEQ_UQ);
            v = _mm512_mask_add_ps(v, other, v, _mm512_set1_ps(DS_WINDOW_MASK_VALUE));
        }
        _mm512_mask_storeu_ps(t + c, m, v);
        mx = _mm512_mask_max_ps(mx, m, mx, v);
    }
    return mx;
}

DS_AVX512 void ds_window_softmax_avx512(float *s, int64_t bq, int64_t T, int64_t q0, int64_t tw,
                                        const float *flip, int64_t bw, int win_h, int win_w,
                                        const float *label, float *inv, float *tmp) {
    const int64_t th = T / tw;
    for (int64_t i = 0; i < bq; i++) {
        float *row = s + i * T;
        const int64_t ai = (q0 + i) / tw, bi = (q0 + i) % tw;
        const __m512 li = _mm512_set1_ps(label ? label[q0 + i] : 0.0f);
        /* bias, mask and maximum in one pass, a key row at a time (its biases
         * a run of the flipped table, as in the C path), into tmp: stored
         * back into the row, each masked store would hold up the next run's
         * load, whose 64 bytes it overlaps */
        __m512 mx = _mm512_set1_ps(-INFINITY);
        if (flip)
            for (int64_t aj = 0; aj < th; aj++)
                mx = biased_run(row + aj * tw, flip + (aj - ai + win_h - 1) * bw + (win_w - 1 - bi),
                                label ? label + aj * tw : NULL, li, tw, tmp + aj * tw, mx);
        else
            mx = biased_run(row, NULL, label, li, T, tmp, mx);
        const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 sum = _mm512_setzero_ps();
        for (int64_t j = 0; j < T; j += 16) {
            const __mmask16 m = ds_lanes16(T - j);
            const __m512 e = _mm512_maskz_mov_ps(m, ds_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, tmp + j), vm)));
            _mm512_mask_storeu_ps(row + j, m, e);
            sum = _mm512_add_ps(sum, e);
        }
        inv[i] = 1.0f / _mm512_reduce_add_ps(sum);
    }
}

DS_AVX512 void ds_window_scatter_avx512(const float *out, int64_t bq, int64_t hd, const float *inv,
                                        float *y, const int64_t *pos, int64_t C) {
    for (int64_t i = 0; i < bq; i++) {
        const __m512 f = _mm512_set1_ps(inv[i]);
        float *dst = y + pos[i] * C;
        for (int64_t d = 0; d < hd; d += 16) {
            const __mmask16 m = ds_lanes16(hd - d);
            _mm512_mask_storeu_ps(dst + d, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + i * hd + d), f));
        }
    }
}
