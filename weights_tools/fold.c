/* fold.c: BatchNorm and weight-standardization folding, layout permutation. */
#include "weights_tools/fold.h"

#include <math.h>
#include <string.h>

void ds_batchnorm_scales(int64_t out_ch, const float *gamma, const float *var, double eps,
                         double *a) {
    for (int64_t o = 0; o < out_ch; o++)
        a[o] = (double)gamma[o] / sqrt((double)var[o] + eps);
}

void ds_fold_batchnorm_bias(float *bias, int64_t out_ch, const double *a, const float *beta,
                            const float *mean) {
    for (int64_t o = 0; o < out_ch; o++)
        bias[o] = (float)(((double)bias[o] - (double)mean[o]) * a[o] + (double)beta[o]);
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

static float f32_at(const uint8_t *p, int64_t i) {
    float v;
    memcpy(&v, p + 4 * i, sizeof v);
    return v;
}

void ds_fold_rows(const void *src, float *dst, int64_t out_ch, int64_t per_out,
                  const double *scale) {
    if (!scale) {
        memcpy(dst, src, (size_t)(out_ch * per_out) * sizeof *dst);
        return;
    }
    for (int64_t o = 0; o < out_ch; o++) {
        const uint8_t *in = (const uint8_t *)src + 4 * o * per_out;
        float *out = dst + o * per_out;
        double a = scale[o];
        for (int64_t i = 0; i < per_out; i++)
            out[i] = (float)((double)f32_at(in, i) * a);
    }
}

void ds_fold_channels_last(const void *src, float *dst, int64_t d0, int64_t d1, int64_t kh,
                           int64_t kw, const double *scale, int scale_axis) {
    int64_t taps = kh * kw;
    for (int64_t a = 0; a < d0; a++) {
        const uint8_t *in = (const uint8_t *)src + 4 * a * d1 * taps; /* (d1, taps) */
        float *out = dst + a * d1 * taps;                             /* (taps, d1) */
        for (int64_t t = 0; t < taps; t++)
            for (int64_t c = 0; c < d1; c++) {
                double s = !scale ? 1.0 : scale[scale_axis ? c : a];
                out[t * d1 + c] = (float)((double)f32_at(in, c * taps + t) * s);
            }
    }
}
