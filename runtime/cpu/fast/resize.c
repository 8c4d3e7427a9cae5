/*
 * cpu/fast/resize.c: bilinear resize of NHWC maps (align_corners true or
 * false, PyTorch's source coordinates from ds_bilinear_coord), and the ViT's
 * position embedding, whose 24x24 grid is resized the same way. Threads take
 * output rows; each output pixel blends four input pixels over all channels
 * with the reference's arithmetic, so results match it exactly. DINOv2's
 * bicubic position embedding: 4 x 4 taps in float, rows of taps first, as
 * PyTorch sums them.
 */
#include <string.h>

#include "base/bicubic.h" /* ds_bicubic_taps */
#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"

typedef struct resize_job {
    const float *x; /* (N, H, W, C) */
    int64_t H, W, C;
    float *y;       /* (N, OH, OW, C) */
    int64_t OH, OW;
    int align_corners;
} resize_job;

static void resize_row(void *ctx, int64_t row, int thread) {
    (void)thread;
    const resize_job *j = ctx;
    const ds_vec_ops *v = ds_vec();
    const int64_t H = j->H, W = j->W, C = j->C, OH = j->OH, OW = j->OW;
    const int64_t n = row / OH, oy = row % OH;
    int64_t y0, y1;
    float fy;
    ds_bilinear_coord(oy, H, OH, j->align_corners, &y0, &y1, &fy);
    const float *top = j->x + (n * H + y0) * W * C, *bot = j->x + (n * H + y1) * W * C;
    float *out = j->y + row * OW * C; /* (OW, C) */
    for (int64_t ox = 0; ox < OW; ox++) {
        int64_t x0, x1;
        float fx;
        ds_bilinear_coord(ox, W, OW, j->align_corners, &x0, &x1, &fx);
        v->bilinear(out + ox * C, top + x0 * C, top + x1 * C, bot + x0 * C, bot + x1 * C, fx, fy,
                    (size_t)C);
    }
}

static void resize_map(const ds_cpu_op *op, const float *x, int64_t N, int64_t H, int64_t W,
                       int64_t C, float *y, int64_t OH, int64_t OW, int align_corners) {
    resize_job j = {x, H, W, C, y, OH, OW, align_corners};
    ds_parallel_for(ds_fast_threads(op, (double)(N * OH * OW * C)), N * OH, resize_row, &j);
}

void ds_fast_resize(const ds_cpu_op *op) {
    const int64_t *s = op->x->shape, *d = op->y->shape;
    resize_map(op, op->x->data, s[0], s[1], s[2], s[3], op->y->data, d[1], d[2],
               op->node->a.resize.align_corners);
}

/* (1, 1+G*G, C) weight -> the class entry, then the G x G grid resized to gh x gw. */
void ds_fast_pos_embed(const ds_cpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->y->shape[3];
    memcpy(op->y->data, op->w, (size_t)C * sizeof(float));
    resize_map(op, op->w + C, 1, a->grid, a->grid, C, op->y->data + C, a->gh, a->gw, 0);
}

typedef struct bicubic_job {
    const ds_pos_attr *a;
    const float *grid; /* (G, G, C) */
    float *y;          /* (gh, gw, C): the rows after the class entry */
    int64_t C;
} bicubic_job;

static void bicubic_row(void *ctx, int64_t oy, int thread) {
    (void)thread;
    const bicubic_job *b = ctx;
    const ds_pos_attr *a = b->a;
    const int64_t C = b->C, G = a->grid, gw = a->gw;
    int64_t iy[4];
    float wy[4];
    ds_bicubic_taps(oy, G, a->scale_h, iy, wy);
    for (int64_t ox = 0; ox < gw; ox++) {
        int64_t ix[4];
        float wx[4];
        ds_bicubic_taps(ox, G, a->scale_w, ix, wx);
        float *out = b->y + (oy * gw + ox) * C; /* (C) */
        for (int64_t c = 0; c < C; c++) {
            float v = 0.0f;
            for (int j = 0; j < 4; j++) {
                const float *r = b->grid + iy[j] * G * C + c; /* row iy[j], channel c */
                v += wy[j] * (wx[0] * r[ix[0] * C] + wx[1] * r[ix[1] * C] + wx[2] * r[ix[2] * C] +
                              wx[3] * r[ix[3] * C]);
            }
            out[c] = v;
        }
    }
}

/* (1, 1+G*G, C) weight -> the class entry, then the G x G grid resized
 * bicubically to gh x gw with the node's coordinate scales. */
void ds_fast_pos_embed_bicubic(const ds_cpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->y->shape[3];
    memcpy(op->y->data, op->w, (size_t)C * sizeof(float));
    bicubic_job b = {a, op->w + C, op->y->data + C, C};
    ds_parallel_for(ds_fast_threads(op, 16.0 * (double)(a->gh * a->gw * C)), a->gh, bicubic_row, &b);
}
