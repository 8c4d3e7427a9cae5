/* fold.c: BatchNorm and weight-standardization folding, layout permutation. */
#include "fold.h"

#include <math.h>

void ds_fold_batchnorm(float *w, int64_t out_ch, int64_t per_out, float *bias,
                       const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps) {
    for (int64_t o = 0; o < out_ch; o++) {
        double a = (double)gamma[o] / sqrt((double)var[o] + eps);
        float *row = w + o * per_out;
        for (int64_t i = 0; i < per_out; i++)
            row[i] = (float)((double)row[i] * a);
        bias[o] = (float)(((double)bias[o] - (double)mean[o]) * a + (double)beta[o]);
    }
}

void ds_fold_weight_std(float *w, int64_t out_ch, int64_t per_out, double eps) {
    for (int64_t o = 0; o < out_ch; o++) {
        float *row = w + o * per_out;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < per_out; i++)
            sum += row[i];
        double mean = sum / (double)per_out;
        for (int64_t i = 0; i < per_out; i++)
            sq += ((double)row[i] - mean) * ((double)row[i] - mean);
        double inv = 1.0 / sqrt(sq / (double)per_out + eps);
        for (int64_t i = 0; i < per_out; i++)
            row[i] = (float)(((double)row[i] - mean) * inv);
    }
}

void ds_permute_channels_last(const float *src, float *dst, int64_t d0, int64_t d1, int64_t kh,
                              int64_t kw) {
    for (int64_t a = 0; a < d0; a++)
        for (int64_t c = 0; c < d1; c++)
            for (int64_t y = 0; y < kh; y++)
                for (int64_t x = 0; x < kw; x++)
                    dst[((a * kh + y) * kw + x) * d1 + c] = src[((a * d1 + c) * kh + y) * kw + x];
}
