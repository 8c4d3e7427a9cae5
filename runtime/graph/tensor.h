/*
 * tensor.h: an activation as every backend's ops see it, and the
 * elementwise activations of graph.h computed the same way everywhere
 * (CPU reference, CPU fast, CUDA kernels).
 */
#ifndef DS_TENSOR_H
#define DS_TENSOR_H

#include <math.h>
#include <stdint.h>

#include "base/hd.h"     /* DS_HD */
#include "graph/graph.h" /* ds_act */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_tensor {
    float *data;      /* (N, H, W, C) contiguous, host or device memory */
    int64_t shape[4];
} ds_tensor;

/* act(v), written so that NaN passes through, as in PyTorch. GELU is the
 * exact erf form; Hardswish multiplies, then divides, in torch's order. */
DS_HD float ds_apply_act(ds_act act, float v) {
    switch (act) {
    case DS_ACT_NONE: return v;
    case DS_ACT_RELU: return v < 0.0f ? 0.0f : v;
    case DS_ACT_RELU6: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case DS_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case DS_ACT_HARDSWISH: {
        const float r = v + 3.0f;
        return v * (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
    }
    case DS_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case DS_ACT_EXP: return expf(v);
    case DS_ACT_EXP1: return expf(v) + 1.0f;
    }
    return v;
}

/* (C, H, W) planes <-> (H, W, C) interleaved, hw = H * W. */
void ds_nchw_to_nhwc(const float *src, float *dst, int64_t c, int64_t hw);
void ds_nhwc_to_nchw(const float *src, float *dst, int64_t c, int64_t hw);

#ifdef __cplusplus
}
#endif

#endif
