/* conv_transpose.cu: ConvTranspose2d, groups 1 (DS_OP_CONV_TRANSPOSE,
 * ds_ref_conv_transpose), two forms:
 *  - kernel == stride, no padding or dilation (DPT's reassemble): every
 *    input pixel paints its own kh x kw patch, so the op is one GEMM,
 *    (M = N*H*W pixels, C) x (C, J = kh*kw*O) with the stored weight as the
 *    right matrix, whose rows scatter to their patches;
 *  - any other kernel, stride, padding, dilation and output_padding
 *    (LeViT's stem_transpose, k3 s2 p1 op1): patches overlap, so each
 *    output element gathers its taps, as the reference does. */
#include <string.h>

#include "graph/tensor.h"     /* ds_apply_act */
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
                                             int W, int kh, int kw, int O, ds_act act) {
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
            y[((n * OH + iy * kh + ky) * OW + ix * kw + kx) * O + o] = ds_apply_act(act, acc[p]);
        }
    }
}

/* The attributes of the general form, by value. */
struct ct_gather_args {
    int H, W, C, OH, OW, O;
    int kh, kw, sh, sw, dh, dw, pt, pl;
    ds_act act;
};

/* grid.x: a grid-stride loop over the N*OH*OW*O outputs, o fastest, so a
 * warp reads consecutive weights of one tap and writes consecutive outputs. */
static __global__ void conv_transpose_gather_kernel(const float *x /* (N, H, W, C) */,
                                                    const float *w /* (C, kh, kw, O) */,
                                                    const float *b /* (O) or NULL */,
                                                    float *y /* (N, OH, OW, O) */, int64_t total, ct_gather_args a) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        const int o = (int)(e % a.O), ox = (int)(e / a.O % a.OW), oy = (int)(e / ((int64_t)a.O * a.OW) % a.OH);
        const int64_t n = e / ((int64_t)a.O * a.OW * a.OH);
        float acc = b ? b[o] : 0.0f;
        for (int ky = 0; ky < a.kh; ky++) {
            const int ty = oy + a.pt - ky * a.dh;
            if (ty < 0 || ty % a.sh || ty / a.sh >= a.H)
                continue;
            for (int kx = 0; kx < a.kw; kx++) {
                const int tx = ox + a.pl - kx * a.dw;
                if (tx < 0 || tx % a.sw || tx / a.sw >= a.W)
                    continue;
                const float *xp = x + ((n * a.H + ty / a.sh) * a.W + tx / a.sw) * a.C;
                const float *wp = w + ((int64_t)ky * a.kw + kx) * a.O + o;
                for (int c = 0; c < a.C; c++)
                    acc += xp[c] * wp[(int64_t)c * a.kh * a.kw * a.O];
            }
        }
        y[e] = ds_apply_act(a.act, acc);
    }
}

ds_status op_conv_transpose(const kern_ctx *k, const gpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    if (!op->x)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_transpose: x is missing");
    const int64_t *s = op->x->shape, *d = op->node->shape; /* (N, H, W, C) -> (N, OH, OW, O) */
    DS_TRY(ds_conv_transpose_check_shapes("conv_transpose", a, s, d));
    DS_TRY(need_shape("conv_transpose", "y", op->y, d));
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "conv_transpose: the weight is missing");
    const int block = block_size(k, 256);
    const bool patches = a->kh == a->stride_h && a->kw == a->stride_w && a->dil_h == 1 && a->dil_w == 1 &&
                         !a->pad_t && !a->pad_l && d[1] == s[1] * a->kh && d[2] == s[2] * a->kw;
    if (s[3] > 0x7fffffff || d[3] > 0x7fffffff || s[1] > 0x7fffffff || s[2] > 0x7fffffff || d[1] > 0x7fffffff ||
        d[2] > 0x7fffffff || (int64_t)a->kh * a->kw * d[3] > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "conv_transpose: %lldx%lld pixels of %lld channels to %lld is too large",
                       (long long)s[1], (long long)s[2], (long long)s[3], (long long)d[3]);
    if (!patches) {
        const int64_t total = ds_shape_numel(d);
        if (total == 0)
            return DS_OK;
        const ct_gather_args g = {(int)s[1],  (int)s[2],  (int)s[3],  (int)d[1],  (int)d[2],  (int)d[3],
                                  a->kh,      a->kw,      a->stride_h, a->stride_w, a->dil_h, a->dil_w,
                                  a->pad_t,   a->pad_l,   a->act};
        return DS_LAUNCH(conv_transpose_gather_kernel, grid_1d(total, block), block, 0, k->stream, op->x->data, op->w,
                         op->b, op->y->data, total, g);
    }
    const int64_t M = s[0] * s[1] * s[2], J = (int64_t)a->kh * a->kw * d[3];
    if (M == 0 || J == 0)
        return DS_OK;
    const int64_t slices = (J + block - 1) / block, tiles = (M + CT_PIX - 1) / CT_PIX;
    if (slices > 65535 || tiles > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "conv_transpose: %lld pixels of %lld channels to %lld columns is too large",
                       (long long)M, (long long)s[3], (long long)J);
    return DS_LAUNCH(conv_transpose_kernel, dim3((unsigned)tiles, (unsigned)slices), block, 0, k->stream,
                     op->x->data, op->w, op->b, op->y->data, M, (int)s[3], (int)s[1], (int)s[2], a->kh, a->kw,
                     (int)d[3], a->act);
}

} // namespace DS_CUDA_NS
