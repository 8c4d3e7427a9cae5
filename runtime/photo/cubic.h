/*
 * cubic.h: the cubic interpolation weights of the two resizes a photo goes
 * through, shared by the C path (photo/preprocess.c) and the CUDA kernels
 * (kernels/photo/): OpenCV's INTER_CUBIC on the way in, PyTorch's bicubic
 * (align_corners=False) on the way out. Both use a = -0.75, in float as
 * the originals compute them; taps outside the image are clamped to the edge.
 */
#ifndef DS_CUBIC_H
#define DS_CUBIC_H

#include <math.h>

#include "base/bicubic.h" /* ds_bicubic_weights: PyTorch's cubic_convolution1/2 */
#include "base/hd.h"      /* DS_HD */

/* OpenCV's interpolateCubic. */
DS_HD void ds_cubic_coeffs_cv(float x, float c[4]) {
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* Source indices and the four tap weights of output index d (cv::resize's
 * generic path; scale = in / out in double). */
DS_HD void ds_cv_taps(int d, double scale, int size, int idx[4], float w[4]) {
    float f = (float)((d + 0.5) * scale - 0.5);
    int s = (int)floorf(f);
    f -= (float)s;
    ds_cubic_coeffs_cv(f, w);
    for (int k = 0; k < 4; k++) {
        int i = s - 1 + k;
        idx[k] = i < 0 ? 0 : (i >= size ? size - 1 : i);
    }
}

/* Source indices and tap weights of output index d for PyTorch's bicubic,
 * align_corners=False (scale = in / out in float; no clamp of the source
 * coordinate at 0, unlike bilinear). */
DS_HD void ds_torch_taps(int d, float scale, int size, int idx[4], float w[4]) {
    float real = scale * ((float)d + 0.5f) - 0.5f;
    int s = (int)floorf(real);
    ds_bicubic_weights(real - (float)s, w);
    for (int k = 0; k < 4; k++) {
        int i = s - 1 + k;
        idx[k] = i < 0 ? 0 : (i >= size ? size - 1 : i);
    }
}

#endif
