/* tensor.c: layout conversions of activations. */
#include "graph/tensor.h"

void ds_nchw_to_nhwc(const float *src, float *dst, int64_t c, int64_t hw) {
    for (int64_t p = 0; p < hw; p++)
        for (int64_t k = 0; k < c; k++)
            dst[p * c + k] = src[k * hw + p];
}

void ds_nhwc_to_nchw(const float *src, float *dst, int64_t c, int64_t hw) {
    for (int64_t k = 0; k < c; k++)
        for (int64_t p = 0; p < hw; p++)
            dst[k * hw + p] = src[p * c + k];
}
