/*
 * bicubic.h: PyTorch's bicubic taps (F.interpolate, mode "bicubic",
 * align_corners False, no antialias) for a coordinate scale given by the
 * caller, shared by every path of the bicubic position embedding (CPU
 * reference, CPU fast, CUDA kernel) so that indices and weights match bit
 * for bit.
 *
 * DINOv2 resizes its position embedding with a scale factor, not a size:
 * PyTorch then maps coordinates with 1 / scale_factor (as a float), not with
 * in / out, and the source coordinate (o + 0.5) * scale - 0.5 is formed in
 * double (what torch 1.13's CPU kernel computes; measured: rounding it to
 * float first costs 1e-6 relative on a 37 -> 5 resize).
 */
#ifndef DS_BICUBIC_H
#define DS_BICUBIC_H

#include <math.h>
#include <stdint.h>

#include "base/hd.h" /* DS_HD */

/* Keys' cubic convolution with A = -0.75 (PyTorch's cubic_convolution1/2),
 * the four weights of a sample at fraction t in [0, 1), in float. */
DS_HD void ds_bicubic_weights(float t, float w[4]) {
    const float A = -0.75f;
    const float x1 = t + 1.0f, x2 = 1.0f - t, x3 = x2 + 1.0f;
    w[0] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    w[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
    w[2] = ((A + 2.0f) * x2 - (A + 3.0f)) * x2 * x2 + 1.0f;
    w[3] = ((A * x3 - 5.0f * A) * x3 + 8.0f * A) * x3 - 4.0f * A;
}

/* Output index o over `in` samples at `scale` input samples per output
 * sample: the four source indices (floor - 1 .. floor + 2, clamped to
 * [0, in - 1]) and their weights. scale 1 gives the weights (0, 1, 0, 0):
 * the identity, exactly. */
DS_HD void ds_bicubic_taps(int64_t o, int64_t in, float scale, int64_t idx[4], float w[4]) {
    const double src = (double)scale * ((double)o + 0.5) - 0.5;
    const double fl = floor(src);
    ds_bicubic_weights((float)(src - fl), w);
    for (int k = 0; k < 4; k++) {
        const int64_t i = (int64_t)fl - 1 + k;
        idx[k] = i < 0 ? 0 : (i > in - 1 ? in - 1 : i);
    }
}

/* The coordinate scale PyTorch uses for a scale factor: (float)(1 / factor). */
DS_HD float ds_bicubic_factor_scale(double factor) { return (float)(1.0 / factor); }

#endif
