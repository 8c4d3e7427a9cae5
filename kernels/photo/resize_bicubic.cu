/* resize_bicubic.cu: PyTorch's bicubic interpolate (a = -0.75,
 * align_corners=False, borders clamped) of the depth map back to the
 * photo's size (ds_resize_bicubic_torch, in float). */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* PyTorch's cubic_convolution1/2 (preprocess.c: cubic_coeffs_torch). */
static __device__ __forceinline__ void cubic_coeffs_torch(float t, float c[4]) {
    const float A = -0.75f;
    float x1 = t + 1.0f, x2 = 1.0f - t, x3 = x2 + 1.0f;
    c[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
    c[3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
}

static __device__ __forceinline__ void torch_taps(int d, float scale, int size, int idx[4], float w[4]) {
    float real = scale * ((float)d + 0.5f) - 0.5f; /* no clamp at 0 for cubic */
    int s = (int)floorf(real);
    cubic_coeffs_torch(real - (float)s, w);
    for (int k = 0; k < 4; k++) {
        int i = s - 1 + k;
        idx[k] = i < 0 ? 0 : (i >= size ? size - 1 : i);
    }
}

/* grid.x: output columns, grid.y: output rows; one thread per output value. */
static __global__ void resize_bicubic_kernel(const float *in /* (in_h, in_w) */, int in_w, int in_h,
                                             float *out /* (out_h, out_w) */, int out_w, int out_h, float sx,
                                             float sy) {
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x), y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= out_w || y >= out_h)
        return;
    int ry[4], rx[4];
    float wy[4], wx[4];
    torch_taps(y, sy, in_h, ry, wy);
    torch_taps(x, sx, in_w, rx, wx);
    float rows[4];
    for (int j = 0; j < 4; j++) {
        const float *r = in + (int64_t)ry[j] * in_w;
        rows[j] = r[rx[0]] * wx[0] + r[rx[1]] * wx[1] + r[rx[2]] * wx[2] + r[rx[3]] * wx[3];
    }
    out[(int64_t)y * out_w + x] = rows[0] * wy[0] + rows[1] * wy[1] + rows[2] * wy[2] + rows[3] * wy[3];
}

ds_status op_resize_bicubic(const kern_ctx *k, const float *in, int in_w, int in_h, float *out,
                            int out_w, int out_h) {
    if (in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1)
        return ds_fail(DS_ERR_SHAPE, "resize_bicubic: %dx%d to %dx%d", in_w, in_h, out_w, out_h);
    const dim3 block = block_2d(block_size(k, 128));
    const dim3 grid((out_w + block.x - 1) / block.x, (out_h + block.y - 1) / block.y);
    return DS_LAUNCH(resize_bicubic_kernel, grid, block, 0, k->stream, in, in_w, in_h, out, out_w, out_h,
                     (float)in_w / (float)out_w, (float)in_h / (float)out_h);
}

} // namespace DS_CUDA_NS
