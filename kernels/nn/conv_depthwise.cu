/* conv_depthwise.cu: the depthwise convolution, groups == C == O, of the
 * small model's EfficientNet-Lite blocks (DS_OP_CONV2D, ds_ref_conv2d): any
 * kernel size, stride, dilation and asymmetric (TF "SAME") padding, with
 * in_act, bias, residual with res_act, and act. Memory-bound: one thread per
 * output, channels fastest, so a warp's reads of each tap are contiguous. */
#include <string.h>

#include "graph/tensor.h" /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (n, oy, ox, c), c fastest. */
static __global__ void conv_depthwise_kernel(const float *x /* (N, H, W, C) */, const float *w /* (C, kh, kw) */,
                                             const float *b /* (C) or NULL */,
                                             const float *r /* (N, OH, OW, C) or NULL */,
                                             float *y /* (N, OH, OW, C) */, unsigned total, int H, int W, int C,
                                             int OH, int OW, ds_conv_attr a) {
    const unsigned stride = gridDim.x * blockDim.x;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int c = (int)(i % (unsigned)C);
        unsigned t = i / (unsigned)C;
        const int ox = (int)(t % (unsigned)OW);
        t /= (unsigned)OW;
        const int oy = (int)(t % (unsigned)OH), n = (int)(t / (unsigned)OH);
        const float *wc = w + (int64_t)c * a.kh * a.kw;
        const float *xn = x + (int64_t)n * H * W * C + c;
        float acc = b ? b[c] : 0.0f;
        for (int ky = 0; ky < a.kh; ky++) {
            const int iy = oy * a.stride_h - a.pad_t + ky * a.dil_h;
            if (iy < 0 || iy >= H)
                continue;
            for (int kx = 0; kx < a.kw; kx++) {
                const int ix = ox * a.stride_w - a.pad_l + kx * a.dil_w;
                if (ix < 0 || ix >= W)
                    continue;
                acc += ds_apply_act(a.in_act, xn[((int64_t)iy * W + ix) * C]) * wc[ky * a.kw + kx];
            }
        }
        if (r) /* read before the write: y may be r */
            acc += ds_apply_act(a.res_act, r[i]);
        y[i] = ds_apply_act(a.act, acc);
    }
}

ds_status op_conv_depthwise(const kern_ctx *k, const gpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    if (!op->x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_depthwise: x is missing");
    const int64_t *s = op->x->shape, *d = op->node->shape; /* (N, H, W, C) -> (N, OH, OW, C) */
    if (a->kh < 1 || a->kw < 1 || a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 || a->dil_w < 1 ||
        a->pad_t < 0 || a->pad_b < 0 || a->pad_l < 0 || a->pad_r < 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_depthwise: kernel %dx%d, stride %dx%d, dilation %dx%d",
                       a->kh, a->kw, a->stride_h, a->stride_w, a->dil_h, a->dil_w);
    if (a->groups != s[3] || d[3] != s[3])
        return ds_fail(DS_ERR_SHAPE, "conv_depthwise: %d groups of %lld channels to %lld are not depthwise",
                       a->groups, (long long)s[3], (long long)d[3]);
    const int64_t want[4] = {s[0], (s[1] + a->pad_t + a->pad_b - (int64_t)a->dil_h * (a->kh - 1) - 1) / a->stride_h + 1,
                             (s[2] + a->pad_l + a->pad_r - (int64_t)a->dil_w * (a->kw - 1) - 1) / a->stride_w + 1,
                             s[3]};
    DS_TRY(need_shape("conv_depthwise", "y", op->y, want));
    if (memcmp(d, want, sizeof want) != 0)
        return ds_fail(DS_ERR_SHAPE, "conv_depthwise: the node's shape is not the convolution's output");
    if (op->r)
        DS_TRY(need_shape("conv_depthwise", "residual", op->r, want));
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_depthwise: the weight is missing");
    const int64_t n = ds_shape_numel(want);
    if (n <= 0)
        return DS_OK;
    if (n > 0x7fffffff || ds_shape_numel(s) > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "conv_depthwise: %lld outputs is too large", (long long)n);
    const int block = block_size(k, 256);
    return DS_LAUNCH(conv_depthwise_kernel, grid_1d(n, block), block, 0, k->stream, op->x->data, op->w, op->b,
                     op->r ? op->r->data : NULL, op->y->data, (unsigned)n, (int)s[1], (int)s[2], (int)s[3],
                     (int)d[1], (int)d[2], *a);
}

} // namespace DS_CUDA_NS
