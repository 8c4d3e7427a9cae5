/* conv_transpose.cu: the transposed convolution of DPT's reassemble, kernel
 * == stride and no padding (DS_OP_CONV_TRANSPOSE, ds_ref_conv_transpose).
 * Every input pixel paints its own kh x kw patch, so the op is one GEMM,
 * (M = N*H*W pixels, C) x (C, J = kh*kw*O) with the stored weight as the
 * right matrix, whose rows scatter to their patches. */
#include <string.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

enum {
    CT_PIX = 16, /* input pixels per block, an accumulator each per thread */
    CT_KC = 32,  /* input channels staged in shared memory per step */
};

/* grid.x: tiles of CT_PIX input pixels (n, iy, ix); grid.y: slices of
 * blockDim.x columns j = (ky, kx, o), one per thread, o fastest so that the
 * weight reads and the output writes of a warp are contiguous. */
static __global__ void conv_transpose_kernel(const float *x /* (M, C) */, const float *w /* (C, J) */,
                                             const float *b /* (O) or NULL */,
                                             float *y /* (N, H*kh, W*kw, O) */, int64_t M, int C, int H,
                                             int W, int kh, int kw, int O) {
    __shared__ float xs[CT_KC][CT_PIX + 1]; /* (c, pixel), padded: the stores hit distinct banks */
    const int J = kh * kw * O;
    const int j = (int)(blockIdx.y * blockDim.x + threadIdx.x);
    const int64_t m0 = (int64_t)blockIdx.x * CT_PIX;
    const float bias = j < J && b ? b[j % O] : 0.0f;
    float acc[CT_PIX];
    DS_UNROLL
    for (int p = 0; p < CT_PIX; p++)
        acc[p] = bias;
    for (int c0 = 0; c0 < C; c0 += CT_KC) {
        __syncthreads(); /* the previous step's readers are done */
        for (int e = threadIdx.x; e < CT_KC * CT_PIX; e += blockDim.x) {
            const int p = e / CT_KC, c = e % CT_KC; /* c fastest: a pixel's channels are contiguous */
            xs[c][p] = m0 + p < M && c0 + c < C ? x[(m0 + p) * C + c0 + c] : 0.0f;
        }
        __syncthreads();
        if (j < J) {
            const int kc = C - c0 < CT_KC ? C - c0 : CT_KC;
            const float *wc = w + (int64_t)c0 * J + j;
            for (int c = 0; c < kc; c++) {
                const float wv = wc[(int64_t)c * J];
                DS_UNROLL
                for (int p = 0; p < CT_PIX; p++)
                    acc[p] += xs[c][p] * wv;
            }
        }
    }
    if (j >= J)
        return;
    const int o = j % O, kx = j / O % kw, ky = j / (O * kw);
    const int64_t OH = (int64_t)H * kh, OW = (int64_t)W * kw;
    DS_UNROLL
    for (int p = 0; p < CT_PIX; p++) {
        const int64_t m = m0 + p;
        if (m < M) {
            const int64_t n = m / ((int64_t)H * W), iy = m / W % H, ix = m % W;
            y[((n * OH + iy * kh + ky) * OW + ix * kw + kx) * O + o] = acc[p];
        }
    }
}

ds_status op_conv_transpose(const kern_ctx *k, const gpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    if (!op->x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_transpose: x is missing");
    const int64_t *s = op->x->shape, *d = op->node->shape; /* (N, H, W, C) -> (N, H*kh, W*kw, O) */
    if (a->kh < 1 || a->kw < 1 || a->stride_h != a->kh || a->stride_w != a->kw || a->pad_t || a->pad_b ||
        a->pad_l || a->pad_r)
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "conv_transpose: only kernel == stride without padding (kernel %dx%d, stride %dx%d)", a->kh,
                       a->kw, a->stride_h, a->stride_w);
    const int64_t want[4] = {s[0], s[1] * a->kh, s[2] * a->kw, d[3]};
    DS_TRY(need_shape("conv_transpose", "y", op->y, want));
    if (memcmp(d, want, sizeof want) != 0)
        return ds_fail(DS_ERR_SHAPE, "conv_transpose: the node's shape is not the input's times the kernel");
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_transpose: the weight is missing");
    const int64_t M = s[0] * s[1] * s[2], J = (int64_t)a->kh * a->kw * d[3];
    if (M == 0 || J == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    const int64_t slices = (J + block - 1) / block, tiles = (M + CT_PIX - 1) / CT_PIX;
    if (s[3] > 0x7fffffff || J > 0x7fffffff || s[1] > 0x7fffffff || s[2] > 0x7fffffff || slices > 65535 ||
        tiles > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "conv_transpose: %lld pixels of %lld channels to %lld columns is too large",
                       (long long)M, (long long)s[3], (long long)J);
    return DS_LAUNCH(conv_transpose_kernel, dim3((unsigned)tiles, (unsigned)slices), block, 0, k->stream,
                     op->x->data, op->w, op->b, op->y->data, M, (int)s[3], (int)s[1], (int)s[2], a->kh, a->kw,
                     (int)d[3]);
}

} // namespace DS_CUDA_NS
