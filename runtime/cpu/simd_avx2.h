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

/* ds_apply_act on 8 lanes. max/min take the value second so that NaN passes
 * through as in the scalar version; GELU and the sigmoid (never fused into a
 * conv by the graphs) go lane by lane. */
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
    case DS_ACT_GELU:
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
