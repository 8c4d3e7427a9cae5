/* act.cuh: ds_apply_act on the device (cpu_ops.h), NaN passing through as in PyTorch. */
#ifndef DS_KERNELS_ACT_CUH
#define DS_KERNELS_ACT_CUH

#include "common.cuh" /* DS_LAUNCH, device built-ins */

namespace DS_CUDA_NS {

static __device__ __forceinline__ float act_apply(ds_act act, float v) {
    switch (act) {
    case DS_ACT_NONE: return v;
    case DS_ACT_RELU: return v < 0.0f ? 0.0f : v;
    case DS_ACT_RELU6: return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case DS_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
    return v;
}

} // namespace DS_CUDA_NS

#endif
