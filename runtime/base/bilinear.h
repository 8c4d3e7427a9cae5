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

/* PyTorch's area_pixel_compute_source_index for linear modes: for output
 * index o of `out` samples over `in`, the left index, the right index and
 * the weight of the right one. The scale is a float, as in PyTorch; the
 * source coordinate is formed in double (what torch 1.13's CPU kernels
 * compute: in float, 700 -> 211 with align_corners would land exactly on
 * column 699 where PyTorch gives column 698 a weight of 2.3e-5), and the
 * weight is rounded to float once. */
DS_HD void ds_bilinear_coord(int64_t o, int64_t in, int64_t out, int align_corners, int64_t *i0,
                             int64_t *i1, float *frac) {
    double src;
    if (align_corners) {
        const float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = (double)scale * (double)o;
    } else {
        const float scale = (float)in / (float)out;
        src = (double)scale * ((double)o + 0.5) - 0.5;
        if (src < 0.0)
            src = 0.0;
    }
    int64_t lo = (int64_t)src;
    if (lo > in - 1)
        lo = in - 1;
    const float f = (float)(src - (double)lo);
    *i0 = lo;
    *i1 = lo < in - 1 ? lo + 1 : lo;
    *frac = f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
}

#endif
