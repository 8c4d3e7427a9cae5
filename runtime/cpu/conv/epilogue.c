/* cpu/conv/epilogue.c: bias, residual and activation over blocks of GEMM output rows. */
#include "cpu/conv/conv.h"

void ds_conv_prefill(float *y, const float *r, const float *bias, size_t rows, size_t o,
                     ds_act res_act, int simd) {
    if (simd) {
        ds_conv_prefill_avx2(y, r, bias, rows, o, res_act);
        return;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < o; j++) {
            float v = ds_apply_act(res_act, r[i * o + j]);
            y[i * o + j] = bias ? bias[j] + v : v;
        }
}

void ds_conv_finish(float *y, const float *bias, size_t rows, size_t o, ds_act act, int simd) {
    if (!bias && act == DS_ACT_NONE)
        return;
    if (simd) {
        ds_conv_finish_avx2(y, bias, rows, o, act);
        return;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < o; j++) {
            float v = y[i * o + j];
            y[i * o + j] = ds_apply_act(act, bias ? v + bias[j] : v);
        }
}
