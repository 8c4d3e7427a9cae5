/*
 * fold.h: the arithmetic of conversion, done in double and rounded once.
 * Weights are (O, per_out) row-major: O output channels of per_out values.
 */
#ifndef DS_FOLD_H
#define DS_FOLD_H

#include <stdint.h>

/* Eval-mode BatchNorm after a conv: a[o] = gamma[o] / sqrt(var[o] + eps);
 * the weights' rows are scaled by a (ds_fold_rows, ds_fold_channels_last),
 * and bias[o] = (bias[o] - mean[o]) * a[o] + beta[o], where `bias` holds the
 * conv's own bias on entry (zeros if it has none). */
void ds_batchnorm_scales(int64_t out_ch, const float *gamma, const float *var, double eps,
                         double *a);
void ds_fold_batchnorm_bias(float *bias, int64_t out_ch, const double *a, const float *beta,
                            const float *mean);

/* Weight standardization (timm StdConv2d): per output channel,
 * w = (w - mean) / sqrt(var + eps), biased variance. In place. */
void ds_fold_weight_std(float *w, int64_t out_ch, int64_t per_out, double eps);

/* dst row o = src row o * scale[o] (scale NULL: a copy). One pass over the
 * weights: the converter reads them where the checkpoint is mapped, so `src`
 * (f32 values) need not be aligned. */
void ds_fold_rows(const void *src, float *dst, int64_t out_ch, int64_t per_out,
                  const double *scale);

/* The same from (d0, d1, kh, kw) into (d0, kh, kw, d1), the stored layout of
 * 4-D weights; scale multiplies each value by its index along d0
 * (scale_axis 0: a conv's output channel) or d1 (1: a transposed conv's);
 * NULL: a plain permutation. */
void ds_fold_channels_last(const void *src, float *dst, int64_t d0, int64_t d1, int64_t kh,
                           int64_t kw, const double *scale, int scale_axis);

#endif
