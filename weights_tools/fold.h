/*
 * fold.h: the arithmetic of conversion, done in double and rounded once.
 * Weights are (O, per_out) row-major: O output channels of per_out values.
 */
#ifndef DS_FOLD_H
#define DS_FOLD_H

#include <stdint.h>

/* Eval-mode BatchNorm after a conv: with a = gamma / sqrt(var + eps),
 * w[o] *= a[o]; bias[o] = (bias[o] - mean[o]) * a[o] + beta[o].
 * `bias` holds the conv's own bias on entry (zeros if it has none). */
void ds_fold_batchnorm(float *w, int64_t out_ch, int64_t per_out, float *bias,
                       const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps);

/* Weight standardization (timm StdConv2d): per output channel,
 * w = (w - mean) / sqrt(var + eps), biased variance. */
void ds_fold_weight_std(float *w, int64_t out_ch, int64_t per_out, double eps);

/* (d0, d1, kh, kw) -> (d0, kh, kw, d1): the stored layout of 4-D weights. */
void ds_permute_channels_last(const float *src, float *dst, int64_t d0, int64_t d1, int64_t kh,
                              int64_t kw);

#endif
