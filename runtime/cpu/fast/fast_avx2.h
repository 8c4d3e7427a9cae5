/*
 * cpu/fast/fast_avx2.h: inline AVX2+FMA helpers shared by the *_avx2.c kernels;
 * include it only from files built with -mavx2 -mfma.
 */
#ifndef DS_CPU_FAST_AVX2_H
#define DS_CPU_FAST_AVX2_H

#include <immintrin.h>
#include <stddef.h>

/* lanes [0, n) set, n < 8 */
static inline __m256i tail_mask(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256 load_tail(const float *p, __m256i m) { return _mm256_maskload_ps(p, m); }

/* e^x = 2^n * e^r, r = x - n ln2 in [-ln2/2, ln2/2], e^r = 1 + r + r^2 S(r). */
static inline __m256 exp8(__m256 x) {
    static const float S[5] = {0.49999988079071045f, 0.166665181517601f, 0.04166964814066887f,
                               0.008368944749236107f, 0.0013745303731411695f};
    /* below -87.3 the scale 2^n would leave the normal range; NaN passes (second operand) */
    x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147182464599609f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-1.9046542121259336e-09f), r);
    __m256 p = _mm256_set1_ps(S[4]);
    for (int i = 3; i >= 0; i--)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(S[i]));
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

#endif
