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

/* ds_act8 on 16 lanes, as two halves (the epilogues run once per output). */
static inline DS_AVX512 __m512 ds_act16(ds_act act, __m512 v) {
    if (act == DS_ACT_NONE)
        return v;
    if (act == DS_ACT_RELU)
        return _mm512_max_ps(_mm512_setzero_ps(), v);
    __m256 lo = ds_act8(act, _mm512_castps512_ps256(v));
    __m256 hi = ds_act8(act, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

#endif
