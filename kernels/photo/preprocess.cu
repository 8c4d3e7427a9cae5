/* preprocess.cu: the image upload path in one kernel: RGB8 -> OpenCV
 * INTER_CUBIC resize -> (v - mean) / std -> NCHW or NHWC float32
 * (ds_preprocess_rgb8: float tap weights, double accumulation). */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */
#include "photo/cubic.h"      /* ds_cv_taps */

namespace DS_CUDA_NS {

/* grid.x: output columns, grid.y: output rows; one thread per pixel, all three channels. */
static __global__ void preprocess_rgb8_kernel(const uint8_t *rgb /* (height, stride) RGB8 rows */, int width,
                                              int height, int64_t stride, int net_w, int net_h, double sx,
                                              double sy, rgb_norm norm, int nhwc,
                                              float *out /* (3, net_h, net_w) or (net_h, net_w, 3) */) {
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x), y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= net_w || y >= net_h)
        return;
    int ry[4], rx[4];
    float wy[4], wx[4];
    ds_cv_taps(y, sy, height, ry, wy);
    ds_cv_taps(x, sx, width, rx, wx);
    const int64_t plane = (int64_t)net_w * net_h, pixel = (int64_t)y * net_w + x;
    for (int c = 0; c < 3; c++) {
        double v = 0;
        for (int j = 0; j < 4; j++) {
            const uint8_t *row = rgb + (int64_t)ry[j] * stride;
            double h = 0; /* as on run.py's float64 image in [0, 1] */
            for (int i = 0; i < 4; i++)
                h += (row[rx[i] * 3 + c] / 255.0) * wx[i];
            v += h * wy[j];
        }
        out[nhwc ? pixel * 3 + c : c * plane + pixel] = (float)((v - norm.mean[c]) / norm.std[c]);
    }
}

ds_status op_preprocess_rgb8(const kern_ctx *k, const uint8_t *rgb, int width, int height,
                             size_t stride, int net_w, int net_h, const rgb_norm *norm, int nhwc,
                             float *out) {
    if (width < 1 || height < 1 || net_w < 1 || net_h < 1 || stride < (size_t)width * 3)
        return ds_fail(DS_ERR_SHAPE, "preprocess: a %dx%d image (stride %zu) to %dx%d", width, height,
                       stride, net_w, net_h);
    const dim3 block = block_2d(block_size(k, 128));
    const dim3 grid((net_w + block.x - 1) / block.x, (net_h + block.y - 1) / block.y);
    return DS_LAUNCH(preprocess_rgb8_kernel, grid, block, 0, k->stream, rgb, width, height,
                     (int64_t)stride, net_w, net_h, (double)width / net_w, (double)height / net_h, *norm,
                     nhwc, out);
}

} // namespace DS_CUDA_NS
