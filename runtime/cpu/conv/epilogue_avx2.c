/* cpu/conv/epilogue_avx2.c: the epilogue passes of cpu/conv/epilogue.c with AVX2. */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

DS_AVX2 void ds_conv_prefill_avx2(float *y, const float *r, const float *bias, size_t rows,
                                  size_t o, ds_act res_act) {
    for (size_t i = 0; i < rows; i++) {
        float *yr = y + i * o;
        const float *rr = r + i * o;
        size_t j = 0;
        for (; j + 8 <= o; j += 8) {
            __m256 v = ds_act8(res_act, _mm256_loadu_ps(rr + j));
            if (bias)
                v = _mm256_add_ps(_mm256_loadu_ps(bias + j), v);
            _mm256_storeu_ps(yr + j, v);
        }
        for (; j < o; j++) {
            float v = ds_apply_act(res_act, rr[j]);
            yr[j] = bias ? bias[j] + v : v;
        }
    }
}

DS_AVX2 void ds_conv_finish_avx2(float *y, const float *bias, size_t rows, size_t o, ds_act act) {
    for (size_t i = 0; i < rows; i++) {
        float *yr = y + i * o;
        size_t j = 0;
        for (; j + 8 <= o; j += 8) {
            __m256 v = _mm256_loadu_ps(yr + j);
            if (bias)
                v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(yr + j, ds_act8(act, v));
        }
        for (; j < o; j++)
            yr[j] = ds_apply_act(act, bias ? yr[j] + bias[j] : yr[j]);
    }
}
