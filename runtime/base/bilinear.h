/*
 * bilinear.h: PyTorch's bilinear source coordinates (F.interpolate, mode
 * "bilinear"), shared by every resize and position-embedding path (CPU
 * reference, CPU fast, CUDA kernels) so that indices and weights match bit
 * for bit.
 */
#ifndef DS_BILINEAR_H
#define DS_BILINEAR_H

#include <stdint.h>

#include "base/hd.h" /* DS_HD */

/* PyTorch's area_pixel_compute_source_index for linear modes, in float: for
 * output index o of `out` samples over `in`, the left index, the right index
 * and the weight of the right one. */
DS_HD void ds_bilinear_coord(int64_t o, int64_t in, int64_t out, int align_corners, int64_t *i0,
                             int64_t *i1, float *frac) {
    float src;
    if (align_corners) {
        float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = scale * (float)o;
    } else {
        float scale = (float)in / (float)out;
        src = scale * ((float)o + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
    }
    int64_t lo = (int64_t)src;
    if (lo > in - 1)
        lo = in - 1;
    float f = src - (float)lo;
    *i0 = lo;
    *i1 = lo < in - 1 ? lo + 1 : lo;
    *frac = f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
}

#endif
