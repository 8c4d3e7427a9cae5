/*
 * cpu/sgemm_tile_avx512.h: the end of a register tile of the AVX-512 GEMMs
 * (cpu/sgemm_avx512.c, cpu/sgemm_bf16_avx512.c), shared so that the two
 * finish their sums the same way. Include only from *_avx512.c files.
 */
#ifndef DS_CPU_SGEMM_TILE_AVX512_H
#define DS_CPU_SGEMM_TILE_AVX512_H

#include "cpu/simd_avx512.h"

/* y (mr, cols) = act(from + c + bias) for a tile of mr rows by 32 columns in
 * c0 (the first 16) and c1: from (rows ldf apart: y itself when
 * accumulating, a residual, or NULL), bias (at the tile's first column) or
 * NULL; m0, m1 the columns of each half that exist. */
DS_AVX512_INLINE void ds_sgemm_tile_store(int mr, __m512 c0[], __m512 c1[], float *y, int64_t ldy,
                                          __mmask16 m0, __mmask16 m1, const float *from, int64_t ldf,
                                          const float *bias, ds_act act) {
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        float *row = y + r * ldy;
        if (from) {
            c0[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, from + r * ldf), c0[r]);
            c1[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, from + r * ldf + 16), c1[r]);
        }
        if (bias) {
            c0[r] = _mm512_add_ps(c0[r], b0);
            c1[r] = _mm512_add_ps(c1[r], b1);
        }
        if (act != DS_ACT_NONE) {
            c0[r] = ds_act16(act, c0[r]);
            c1[r] = ds_act16(act, c1[r]);
        }
        _mm512_mask_storeu_ps(row, m0, c0[r]);
        _mm512_mask_storeu_ps(row + 16, m1, c1[r]);
    }
}

#endif
