/* resize_bicubic.cu: PyTorch's bicubic interpolate (a = -0.75,
 * align_corners=False, borders clamped) of the depth map back to the
 * photo's size (ds_resize_bicubic_torch, in float). */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */
#include "photo/cubic.h"      /* ds_torch_taps */

namespace DS_CUDA_NS {

/* grid.x: output columns, grid.y: output rows; one thread per output value. */
static __global__ void resize_bicubic_kernel(const float *in /* (in_h, in_w) */, int in_w, int in_h,
                                             float *out /* (out_h, out_w) */, int out_w, int out_h, float sx,
                                             float sy) {
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x), y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= out_w || y >= out_h)
        return;
    int ry[4], rx[4];
    float wy[4], wx[4];
    ds_torch_taps(y, sy, in_h, ry, wy);
    ds_torch_taps(x, sx, in_w, rx, wx);
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
