/*
 * cpu/simd_avx2.h: AVX2 helpers shared by the *_avx2.c kernels; include only
 * from files built with -mavx2 -mfma.
 */
#ifndef DS_CPU_SIMD_AVX2_H
#define DS_CPU_SIMD_AVX2_H

#include <immintrin.h>

#include "cpu/ops.h" /* ds_act, ds_apply_act */

/* Every function of the *_avx2.c files carries this, so that they build with
 * or without -mavx2 -mfma on the command line (the fuzz build has none). */
#define DS_AVX2 __attribute__((target("avx2,fma")))

/* erf(z) = sign(z) * (|z| < 1 ? |z| (c0 + P(z^2)) : 1 - Q_k(|z| - 1.25 - k/2)), where
 * Q_k approximates erfc on [1 + k/2, 1.5 + k/2], k < 6, its coefficients picked per lane
 * by a permute; |z| is clamped to 4, past which erf rounds to 1 in float. c0 is 2/sqrt(pi)
 * rounded to float; P's constant term carries the rounding error. The coefficients were
 * fitted by scripts/fit_vec_math.py (least squares on Chebyshev nodes, each rounded to
 * float in turn and the rest refitted): within 7e-8 absolute over dense sweeps
 * (tests/test_ops_vit.c checks it). */
static const float DS_ERF_P[7] = {-6.533955598797547e-08f, -0.37612611055374146f,
                                  0.11283467710018158f,   -0.026849806308746338f,
                                  0.005181682761758566f,  -0.0007957256166264415f,
                                  7.691582868574187e-05f};
static _Alignas(32) const float DS_ERF_Q[7][8] = {
    {0.07709987461566925f, 0.013328328728675842f, 0.0014627167256549f,
     0.00010062190995085984f, 4.302769866626477e-06f, 1.137258891503734e-07f},
    {-0.23652122914791107f, -0.052774835377931595f, -0.00714229978621006f,
     -0.000586294278036803f, -2.9193646696512587e-05f, -8.818866490400978e-07f},
    {0.29565128684043884f, 0.09235621988773346f, 0.016070153564214706f,
     0.0016122676897794008f, 9.486931230640039e-05f, 3.306070539110806e-06f},
    {-0.16752272844314575f, -0.0901777520775795f, -0.02172698639333248f,
     -0.002758206333965063f, -0.00019521931244526058f, -7.911728062026668e-06f},
    {0.006146744359284639f, 0.04810493066906929f, 0.019088374450802803f,
     0.0032577025704085827f, 0.00028617007774300873f, 1.3785422197543085e-05f},
    {0.04677283391356468f, -0.005968545097857714f, -0.010581057518720627f,
     -0.0028258427046239376f, -0.00033261560020036995f, -2.0205261535011232e-05f},
    {-0.02073255367577076f, -0.009043983183801174f, 0.0027784258127212524f,
     0.001667918637394905f, 0.00027375263744033873f, 2.0692301404778846e-05f},
};

/* GELU's erf (ds_gelu8): erf(|z|) = R_k(|z| - 1/4 - k/2) on eight pieces of width 1/2
 * over [0, 4], k = floor(2 |z|) (7 at |z| = 4), |z| clamped to 4, the sign applied after.
 * One polynomial a lane, not ds_erf8's two (its small and large pieces) and a blend:
 * about half the work of an fc1 epilogue's GELU. Fitted by scripts/fit_vec_math.py
 * as ds_erf8's: within 6.1e-8 absolute on [0, 4] (tests/test_sgemm.c checks GELU).
 * Not for erf itself: near 0 its error is absolute, not relative. */
static _Alignas(32) const float DS_GELU_R[7][8] = {
    {0.27632638812065125f, 0.7111556529998779f, 0.9229001402854919f, 0.9866716861724854f,
     0.9985373020172119f, 0.9998993873596191f, 0.9999957084655762f, 0.9999998807907104f},
    {1.0600136518478394f, 0.6429315209388733f, 0.23652122914791107f, 0.052774835377931595f,
     0.00714229978621006f, 0.000586294278036803f, 2.9193646696512587e-05f, 8.818866490400978e-07f},
    {-0.2650028467178345f, -0.4822006821632385f, -0.29565319418907166f, -0.09235812723636627f,
     -0.016072552651166916f, -0.001613454194739461f, -9.630744898458943e-05f, -2.6041952878586017e-06f},
    {-0.3091137111186981f, 0.02672864869236946f, 0.16752272844314575f, 0.0901777520775795f,
     0.02172698639333248f, 0.002758206333965063f, 0.00019521931244526058f, 7.911728062026668e-06f},
    {0.12693122029304504f, 0.15075647830963135f, -0.006085709203034639f, -0.04804389551281929f,
     -0.0190116036683321f, -0.003219734411686659f, -0.00024014970404095948f, -3.624543023761362e-05f},
    {0.07827615737915039f, -0.05127720907330513f, -0.04677283391356468f, 0.005968545097857714f,
     0.010581057518720627f, 0.0028258427046239376f, 0.00033261560020036995f, 2.0205261535011232e-05f},
    {-0.03931090608239174f, -0.02732272818684578f, 0.02017451822757721f, 0.008485947735607624f,
     -0.0034803301095962524f, -0.00201505608856678f, -0.000694510352332145f, 0.0001846563391154632f},
};

static inline DS_AVX2 __m256 ds_erf8(__m256 z) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 sign = _mm256_and_ps(z, sign_bit);
    __m256 a = _mm256_andnot_ps(sign_bit, z);
    __m256 a2 = _mm256_mul_ps(a, a);
    __m256 p = _mm256_set1_ps(DS_ERF_P[6]);
    for (int i = 5; i >= 0; i--)
        p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(DS_ERF_P[i]));
    __m256 small = _mm256_fmadd_ps(a, _mm256_set1_ps(1.128379225730896f), _mm256_mul_ps(a, p));
    /* piece k = floor(2 (|z| - 1)) in [0, 5]; u = |z| - 1.25 - k/2 is exact */
    __m256 ac = _mm256_min_ps(_mm256_set1_ps(4.0f), a); /* NaN passes */
    __m256 kf = _mm256_round_ps(_mm256_add_ps(ac, _mm256_sub_ps(ac, _mm256_set1_ps(2.0f))),
                                _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    kf = _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(_mm256_set1_ps(5.0f), kf));
    __m256i k = _mm256_cvtps_epi32(kf);
    __m256 u = _mm256_fnmadd_ps(kf, _mm256_set1_ps(0.5f), _mm256_sub_ps(ac, _mm256_set1_ps(1.25f)));
    __m256 q = _mm256_permutevar8x32_ps(_mm256_load_ps(DS_ERF_Q[6]), k);
    for (int i = 5; i >= 0; i--)
        q = _mm256_fmadd_ps(q, u, _mm256_permutevar8x32_ps(_mm256_load_ps(DS_ERF_Q[i]), k));
    __m256 big = _mm256_sub_ps(one, q);
    __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, one, _CMP_LT_OQ));
    return _mm256_or_ps(r, sign);
}

/* GELU(v) = 0.5 v (1 + erf(v / sqrt 2)), erf from DS_GELU_R. */
static inline DS_AVX2 __m256 ds_gelu8(__m256 v) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    const __m256 z = _mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f));
    const __m256 a = _mm256_min_ps(_mm256_set1_ps(4.0f), _mm256_andnot_ps(sign_bit, z)); /* NaN passes */
    const __m256 kf = _mm256_min_ps(_mm256_set1_ps(7.0f),
                                    _mm256_round_ps(_mm256_add_ps(a, a), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    const __m256i k = _mm256_cvtps_epi32(kf); /* NaN: 0x80000000, whose low bits pick piece 0 */
    const __m256 u = _mm256_fnmadd_ps(kf, _mm256_set1_ps(0.5f), _mm256_sub_ps(a, _mm256_set1_ps(0.25f)));
    __m256 e = _mm256_permutevar8x32_ps(_mm256_load_ps(DS_GELU_R[6]), k);
    for (int i = 5; i >= 0; i--)
        e = _mm256_fmadd_ps(e, u, _mm256_permutevar8x32_ps(_mm256_load_ps(DS_GELU_R[i]), k));
    const __m256 one_plus = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_xor_ps(e, _mm256_and_ps(z, sign_bit)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), one_plus);
}

/* ds_apply_act on 8 lanes, for every AVX2 kernel's epilogue. max/min take
 * the value second so that NaN passes through as in the scalar version; GELU
 * is ds_gelu8; the sigmoid and exp (a metric head's, one per model) go lane
 * by lane, as the scalar form. */
static inline DS_AVX2 __m256 ds_act8(ds_act act, __m256 v) {
    switch (act) {
    case DS_ACT_NONE: return v;
    case DS_ACT_RELU: return _mm256_max_ps(_mm256_setzero_ps(), v);
    case DS_ACT_RELU6:
        return _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(_mm256_setzero_ps(), v));
    case DS_ACT_HARDSWISH: {
        const __m256 r = _mm256_min_ps(_mm256_set1_ps(6.0f),
                                       _mm256_max_ps(_mm256_setzero_ps(), _mm256_add_ps(v, _mm256_set1_ps(3.0f))));
        return _mm256_div_ps(_mm256_mul_ps(v, r), _mm256_set1_ps(6.0f));
    }
    case DS_ACT_GELU: return ds_gelu8(v);
    case DS_ACT_SIGMOID:
    case DS_ACT_EXP:
    case DS_ACT_EXP1: {
        float t[8];
        _mm256_storeu_ps(t, v);
        for (int i = 0; i < 8; i++)
            t[i] = ds_apply_act(act, t[i]);
        return _mm256_loadu_ps(t);
    }
    }
    return v;
}

#endif
