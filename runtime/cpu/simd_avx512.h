/*
 * cpu/simd_avx512.h: what the *_avx512.c kernels share; include only from
 * them. Their functions carry DS_AVX512, so that they build with or without
 * -mavx512* on the command line (the fuzz build has only -mavx2), and may
 * inline the AVX2 helpers of simd_avx2.h (a subset of this target).
 */
#ifndef DS_CPU_SIMD_AVX512_H
#define DS_CPU_SIMD_AVX512_H

#include "cpu/simd_avx2.h"

#define DS_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")))

/* The epilogues apply these to a dozen registers at once: inlined, their
 * chains overlap; called, each ran alone (GELU cost a ViT fc1 80%). */
#define DS_AVX512_INLINE static inline __attribute__((always_inline)) DS_AVX512

/* ds_gelu8 on 16 lanes, operation for operation (the same bits). */
DS_AVX512_INLINE __m512 ds_gelu16(__m512 v) {
    const __m512 sign_bit = _mm512_set1_ps(-0.0f);
    const __m512 z = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    const __m512 a = _mm512_min_ps(_mm512_set1_ps(4.0f), _mm512_andnot_ps(sign_bit, z)); /* NaN passes */
    const __m512 kf = _mm512_min_ps(
        _mm512_set1_ps(7.0f), _mm512_roundscale_ps(_mm512_add_ps(a, a), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    const __m512i k = _mm512_cvtps_epi32(kf); /* NaN: 0x80000000, whose low bits pick piece 0 */
    const __m512 u = _mm512_fnmadd_ps(kf, _mm512_set1_ps(0.5f), _mm512_sub_ps(a, _mm512_set1_ps(0.25f)));
    /* k <= 7: the permutes read the 8 floats of a row only */
    __m512 e = _mm512_permutexvar_ps(k, _mm512_zextps256_ps512(_mm256_load_ps(DS_GELU_R[6])));
    for (int i = 5; i >= 0; i--)
        e = _mm512_fmadd_ps(e, u, _mm512_permutexvar_ps(k, _mm512_zextps256_ps512(_mm256_load_ps(DS_GELU_R[i]))));
    const __m512 one_plus = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_xor_ps(e, _mm512_and_ps(z, sign_bit)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), one_plus);
}

/* ds_act8 on 16 lanes: ReLU and GELU (the ViT MLPs') whole, the others as
 * two halves (once per output, in the epilogues). The same bits as ds_act8. */
DS_AVX512_INLINE __m512 ds_act16(ds_act act, __m512 v) {
    if (act == DS_ACT_NONE)
        return v;
    if (act == DS_ACT_RELU)
        return _mm512_max_ps(_mm512_setzero_ps(), v);
    if (act == DS_ACT_GELU)
        return ds_gelu16(v);
    __m256 lo = ds_act8(act, _mm512_castps512_ps256(v));
    __m256 hi = ds_act8(act, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* exp8 (cpu/fast/fast_avx2.h) on 16 lanes, operation for operation but the
 * last (the same bits): the softmaxes' exp. */
DS_AVX512_INLINE __m512 ds_exp16(__m512 x) {
    static const float S[5] = {0.49999988079071045f, 0.166665181517601f, 0.04166964814066887f,
                               0.008368944749236107f, 0.0013745303731411695f};
    x = _mm512_max_ps(_mm512_set1_ps(-87.3f), x);
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147182464599609f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-1.9046542121259336e-09f), r);
    __m512 p = _mm512_set1_ps(S[4]);
    for (int i = 3; i >= 0; i--)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(S[i]));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r), _mm512_set1_ps(1.0f));
    /* p 2^n in one instruction where exp8 builds 2^n's bits and multiplies:
     * n is an integer in [-126, 127] and the clamps keep p 2^n normal, so
     * both are exact */
    return _mm512_scalef_ps(p, n);
}

/* r[c] = column c of the 16 x 16 block of rows r[0..15], in registers:
 * three rounds of shuffles (pairs, quads, then 128-bit lanes). */
DS_AVX512_INLINE void ds_transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int c = 0; c < 16; c += 2) {
        t[c] = _mm512_unpacklo_ps(r[c], r[c + 1]);
        t[c + 1] = _mm512_unpackhi_ps(r[c], r[c + 1]);
    }
    for (int c = 0; c < 16; c += 4) {
        r[c] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[c]), _mm512_castps_pd(t[c + 2])));
        r[c + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[c]), _mm512_castps_pd(t[c + 2])));
        r[c + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[c + 1]), _mm512_castps_pd(t[c + 3])));
        r[c + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[c + 1]), _mm512_castps_pd(t[c + 3])));
    }
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
        t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xDD);
        t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
        t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xDD);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
        r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xDD);
        r[c + 4] = _mm512_shuffle_f32x4(t[c + 4], t[c + 12], 0x88);
        r[c + 12] = _mm512_shuffle_f32x4(t[c + 4], t[c + 12], 0xDD);
    }
}

/* The first n of 16 lanes (n clamped to 0..16). */
static inline __mmask16 ds_lanes16(int64_t n) {
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

#endif