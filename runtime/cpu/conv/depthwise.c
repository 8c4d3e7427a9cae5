/*
 * cpu/conv/depthwise.c: depthwise convolution (one filter per channel), direct
 * on NHWC: each output pixel's channels are contiguous, and so are the input
 * channels under each tap, so the work vectorizes across channels with no
 * rearranging. Threads split the output rows.
 */
#include "base/pool.h" /* ds_parallel_for */
#include "cpu/conv/conv.h"

size_t ds_depthwise_packed_floats(const ds_node *n) {
    return (size_t)n->a.conv.kh * (size_t)n->a.conv.kw * (size_t)n->shape[3];
}

void ds_depthwise_pack(const ds_node *n, const float *w, float *p) {
    const int64_t C = n->shape[3], taps = (int64_t)n->a.conv.kh * n->a.conv.kw;
    for (int64_t c = 0; c < C; c++)
        for (int64_t t = 0; t < taps; t++)
            p[t * C + c] = w[c * taps + t]; /* w: (C, kh, kw, 1) */
}

void ds_depthwise_row_c(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy, int64_t c0,
                        int64_t c1) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    int ky0, ky1;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, H, &ky0, &ky1);
    for (int64_t ox = 0; ox < OW; ox++) {
        int kx0, kx1;
        ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, W, &kx0, &kx1);
        const int64_t at = ((nb * OH + oy) * OW + ox) * C;
        for (int64_t c = c0; c < c1; c++) {
            float acc = 0.0f;
            for (int ky = ky0; ky < ky1; ky++) {
                int64_t iy = oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
                for (int kx = kx0; kx < kx1; kx++) {
                    int64_t ix = ox * a->stride_w - a->pad_l + (int64_t)kx * a->dil_w;
                    float xv = op->x->data[((nb * H + iy) * W + ix) * C + c];
                    acc += ds_apply_act(a->in_act, xv) * p[(ky * a->kw + kx) * C + c];
                }
            }
            float v = op->b ? acc + op->b[c] : acc;
            if (op->r)
                v += ds_apply_act(a->res_act, op->r->data[at + c]);
            op->y->data[at + c] = ds_apply_act(a->act, v);
        }
    }
}

typedef struct dw_job {
    const ds_cpu_op *op;
    const float *p;
    int simd;
} dw_job;

static void dw_row(void *ctx, int64_t row, int thread) {
    (void)thread;
    const dw_job *j = ctx;
    const int64_t OH = j->op->y->shape[1];
    if (j->simd)
        ds_depthwise_row_avx2(j->op, j->p, row / OH, row % OH);
    else
        ds_depthwise_row_c(j->op, j->p, row / OH, row % OH, 0, j->op->y->shape[3]);
}

void ds_conv_depthwise(const ds_cpu_op *op, const float *p, int simd) {
    dw_job j = {op, p, simd};
    ds_parallel_for(op->ctx->n_threads, op->y->shape[0] * op->y->shape[1], dw_row, &j);
}
