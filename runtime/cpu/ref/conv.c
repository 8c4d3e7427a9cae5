/* cpu/ref/conv.c: reference convolution, transposed convolution and max-pool (NHWC). */
#include <math.h>

#include "cpu/ops.h"

/* y = act(conv(in_act(x)) + bias + res_act(r)), accumulated in double. */
void ds_ref_conv2d(const ds_cpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t N = op->x->shape[0], H = op->x->shape[1], W = op->x->shape[2];
    const int64_t C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t cg = C / a->groups, og = O / a->groups;
    const float *x = op->x->data, *w = op->w; /* w: (O, kh, kw, cg) */
    for (int64_t n = 0; n < N; n++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++)
                for (int64_t o = 0; o < O; o++) {
                    int64_t g = o / og;
                    double acc = op->b ? op->b[o] : 0.0;
                    for (int64_t ky = 0; ky < a->kh; ky++) {
                        int64_t iy = oy * a->stride_h - a->pad_t + ky * a->dil_h;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int64_t kx = 0; kx < a->kw; kx++) {
                            int64_t ix = ox * a->stride_w - a->pad_l + kx * a->dil_w;
                            if (ix < 0 || ix >= W)
                                continue;
                            const float *xp = x + ((n * H + iy) * W + ix) * C + g * cg;
                            const float *wp = w + ((o * a->kh + ky) * a->kw + kx) * cg;
                            for (int64_t c = 0; c < cg; c++)
                                acc += (double)ds_apply_act(a->in_act, xp[c]) * wp[c];
                        }
                    }
                    int64_t yi = ((n * OH + oy) * OW + ox) * O + o;
                    float v = (float)acc;
                    if (op->r)
                        v += ds_apply_act(a->res_act, op->r->data[yi]);
                    op->y->data[yi] = ds_apply_act(a->act, v);
                }
}

/* ConvTranspose2d as a gather: output (oy, ox) sums the taps (ky, kx) whose
 * input position iy = (oy + pad_t - ky*dil) / stride is whole and inside,
 * then adds the bias and applies act. The node's shape carries PyTorch's
 * output_padding (rows and columns past the last full window: bias only,
 * unless a tap reaches them). */
void ds_ref_conv_transpose(const ds_cpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t N = op->x->shape[0], H = op->x->shape[1], W = op->x->shape[2];
    const int64_t C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const float *x = op->x->data, *w = op->w; /* w: (C, kh, kw, O) */
    for (int64_t n = 0; n < N; n++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++)
                for (int64_t o = 0; o < O; o++) {
                    double acc = op->b ? op->b[o] : 0.0;
                    for (int64_t ky = 0; ky < a->kh; ky++) {
                        int64_t ty = oy + a->pad_t - ky * a->dil_h;
                        if (ty < 0 || ty % a->stride_h || ty / a->stride_h >= H)
                            continue;
                        for (int64_t kx = 0; kx < a->kw; kx++) {
                            int64_t tx = ox + a->pad_l - kx * a->dil_w;
                            if (tx < 0 || tx % a->stride_w || tx / a->stride_w >= W)
                                continue;
                            const float *xp = x + ((n * H + ty / a->stride_h) * W + tx / a->stride_w) * C;
                            for (int64_t c = 0; c < C; c++)
                                acc += (double)xp[c] * w[((c * a->kh + ky) * a->kw + kx) * O + o];
                        }
                    }
                    op->y->data[((n * OH + oy) * OW + ox) * O + o] = ds_apply_act(a->act, (float)acc);
                }
}

/* Max over the window; positions in the padding never win (-inf). */
void ds_ref_maxpool(const ds_cpu_op *op) {
    const ds_pool_attr *a = &op->node->a.pool;
    const int64_t N = op->x->shape[0], H = op->x->shape[1], W = op->x->shape[2];
    const int64_t C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    for (int64_t n = 0; n < N; n++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++)
                for (int64_t c = 0; c < C; c++) {
                    float m = -INFINITY;
                    for (int64_t ky = 0; ky < a->kh; ky++) {
                        int64_t iy = oy * a->stride_h - a->pad_t + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int64_t kx = 0; kx < a->kw; kx++) {
                            int64_t ix = ox * a->stride_w - a->pad_l + kx;
                            if (ix < 0 || ix >= W)
                                continue;
                            float v = op->x->data[((n * H + iy) * W + ix) * C + c];
                            if (v > m || isnan(v))
                                m = v;
                        }
                    }
                    op->y->data[((n * OH + oy) * OW + ox) * C + c] = m;
                }
}
