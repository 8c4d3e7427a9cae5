/* bilinear.cuh: PyTorch's bilinear source coordinates on the device, shared
 * by the resize and the position-embedding kernels. */
#ifndef DS_KERNELS_BILINEAR_CUH
#define DS_KERNELS_BILINEAR_CUH

#include "common.cuh" /* device built-ins */

namespace DS_CUDA_NS {

/* ds_bilinear_coord (cpu_ref_basic.c), the same float arithmetic, so the
 * indices and weights match the CPU's bit for bit. */
static __device__ __forceinline__ void bilinear_coord(int64_t o, int64_t in, int64_t out, bool align_corners,
                                                      int64_t *i0, int64_t *i1, float *frac) {
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

} // namespace DS_CUDA_NS

#endif
