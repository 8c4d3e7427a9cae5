/*
 * cpu/conv/grouped.c: grouped convolution (ResNeXt: 32 groups of 8 to 64
 * channels), direct on NHWC. Per group the GEMMs would be tiny (K = 9 cg,
 * N = og), so instead each group's weights are packed in blocks of 8 output
 * channels and a register tile of pixels x output channels accumulates over
 * the taps and the group's input channels (cpu/conv/grouped_avx2.c; the C
 * version here goes one output at a time).
 */
#include "base/pool.h" /* ds_parallel_for */
#include "cpu/conv/conv.h"

static int64_t blocks_of(const ds_node *n) {
    int64_t og = n->shape[3] / n->a.conv.groups;
    return (og + DS_GROUP_BLOCK - 1) / DS_GROUP_BLOCK;
}

size_t ds_grouped_packed_floats(const ds_node *n) {
    const ds_conv_attr *a = &n->a.conv;
    return (size_t)a->groups * (size_t)blocks_of(n) * DS_GROUP_BLOCK * (size_t)a->kh *
           (size_t)a->kw * (size_t)n->w[0].shape[3];
}

void ds_grouped_pack(const ds_node *n, const float *w, float *p) {
    const ds_conv_attr *a = &n->a.conv;
    const int64_t cg = n->w[0].shape[3], og = n->shape[3] / a->groups, ob_n = blocks_of(n);
    const int64_t taps = (int64_t)a->kh * a->kw;
    for (int64_t g = 0; g < a->groups; g++)
        for (int64_t ob = 0; ob < ob_n; ob++)
            for (int64_t t = 0; t < taps; t++)
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t l = 0; l < DS_GROUP_BLOCK; l++) {
                        int64_t oo = ob * DS_GROUP_BLOCK + l, o = g * og + oo;
                        *p++ = oo < og ? w[(o * taps + t) * cg + c] : 0.0f;
                    }
}

void ds_grouped_row_c(const ds_cpu_op *op, const float *p, int64_t g, int64_t nb, int64_t oy) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t cg = C / a->groups, og = O / a->groups, ob_n = blocks_of(op->node);
    const int64_t taps = (int64_t)a->kh * a->kw;
    int ky0, ky1;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, H, &ky0, &ky1);
    for (int64_t ox = 0; ox < OW; ox++) {
        int kx0, kx1;
        ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, W, &kx0, &kx1);
        const int64_t at = ((nb * OH + oy) * OW + ox) * O + g * og;
        for (int64_t oo = 0; oo < og; oo++) {
            const float *wb = p + ((g * ob_n + oo / DS_GROUP_BLOCK) * taps) * cg * DS_GROUP_BLOCK +
                              oo % DS_GROUP_BLOCK;
            float acc = 0.0f;
            for (int ky = ky0; ky < ky1; ky++) {
                int64_t iy = oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
                for (int kx = kx0; kx < kx1; kx++) {
                    int64_t ix = ox * a->stride_w - a->pad_l + (int64_t)kx * a->dil_w;
                    const float *xp = op->x->data + ((nb * H + iy) * W + ix) * C + g * cg;
                    const float *wp = wb + (ky * a->kw + kx) * cg * DS_GROUP_BLOCK;
                    for (int64_t c = 0; c < cg; c++)
                        acc += ds_apply_act(a->in_act, xp[c]) * wp[c * DS_GROUP_BLOCK];
                }
            }
            float v = op->b ? acc + op->b[g * og + oo] : acc;
            if (op->r)
                v += ds_apply_act(a->res_act, op->r->data[at + oo]);
            op->y->data[at + oo] = ds_apply_act(a->act, v);
        }
    }
}

int64_t ds_grouped_buffer_width(const ds_node *n) {
    const ds_conv_attr *a = &n->a.conv;
    return (n->shape[2] - 1) * a->stride_w + (int64_t)(a->kw - 1) * a->dil_w + 1;
}

size_t ds_grouped_scratch(const ds_node *n, int n_threads) {
    const int64_t C = n->w[0].shape[3] * n->a.conv.groups;
    return (size_t)n_threads * (size_t)n->a.conv.kh * (size_t)ds_grouped_buffer_width(n) *
           (size_t)C * sizeof(float);
}

typedef struct grouped_job {
    const ds_cpu_op *op;
    const float *p;
    size_t buf_floats;
} grouped_job;

static void grouped_row_avx2(void *ctx, int64_t row, int thread) {
    const grouped_job *j = ctx;
    const int64_t OH = j->op->y->shape[1];
    ds_grouped_row_avx2(j->op, j->p, row / OH, row % OH,
                        j->op->ctx->scratch + (size_t)thread * j->buf_floats);
}

/* item = g * rows + row */
static void grouped_row_c(void *ctx, int64_t item, int thread) {
    (void)thread;
    const grouped_job *j = ctx;
    const int64_t OH = j->op->y->shape[1], rows = j->op->y->shape[0] * OH;
    const int64_t g = item / rows, row = item % rows;
    ds_grouped_row_c(j->op, j->p, g, row / OH, row % OH);
}

void ds_conv_grouped(const ds_cpu_op *op, const float *p, int simd) {
    const int64_t G = op->node->a.conv.groups, rows = op->y->shape[0] * op->y->shape[1];
    /* AVX2: rows outermost, each thread pads its input rows once for every group */
    grouped_job j = {op, p, ds_grouped_scratch(op->node, 1) / sizeof(float)};
    if (simd)
        ds_parallel_for(op->ctx->n_threads, rows, grouped_row_avx2, &j);
    else
        ds_parallel_for(op->ctx->n_threads, G * rows, grouped_row_c, &j);
}
