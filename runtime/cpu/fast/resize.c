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
#include "cpu/fast/fast.h"

static void resize_map(const ds_cpu_op *op, const float *x, int64_t N, int64_t H, int64_t W,
                       int64_t C, float *y, int64_t OH, int64_t OW, int align_corners) {
    const ds_vec_ops *v = ds_vec();
    const int nt = ds_fast_threads(op, (double)(N * OH * OW * C));
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < N * OH; row++) {
        const int64_t n = row / OH, oy = row % OH;
        int64_t y0, y1;
        float fy;
        ds_bilinear_coord(oy, H, OH, align_corners, &y0, &y1, &fy);
        const float *top = x + (n * H + y0) * W * C, *bot = x + (n * H + y1) * W * C;
        float *out = y + row * OW * C; /* (OW, C) */
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t x0, x1;
            float fx;
            ds_bilinear_coord(ox, W, OW, align_corners, &x0, &x1, &fx);
            v->bilinear(out + ox * C, top + x0 * C, top + x1 * C, bot + x0 * C, bot + x1 * C, fx,
                        fy, (size_t)C);
        }
    }
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

/* (1, 1+G*G, C) weight -> the class entry, then the G x G grid resized
 * bicubically to gh x gw with the node's coordinate scales. */
void ds_fast_pos_embed_bicubic(const ds_cpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->y->shape[3], G = a->grid, gw = a->gw;
    const float *grid = op->w + C; /* (G, G, C) */
    memcpy(op->y->data, op->w, (size_t)C * sizeof(float));
#pragma omp parallel for num_threads(ds_fast_threads(op, 16.0 * (double)(a->gh * gw * C))) schedule(static)
    for (int64_t oy = 0; oy < a->gh; oy++) {
        int64_t iy[4];
        float wy[4];
        ds_bicubic_taps(oy, G, a->scale_h, iy, wy);
        for (int64_t ox = 0; ox < gw; ox++) {
            int64_t ix[4];
            float wx[4];
            ds_bicubic_taps(ox, G, a->scale_w, ix, wx);
            float *out = op->y->data + (1 + oy * gw + ox) * C; /* (C) */
            for (int64_t c = 0; c < C; c++) {
                float v = 0.0f;
                for (int j = 0; j < 4; j++) {
                    const float *r = grid + iy[j] * G * C + c; /* row iy[j], channel c */
                    v += wy[j] * (wx[0] * r[ix[0] * C] + wx[1] * r[ix[1] * C] + wx[2] * r[ix[2] * C] +
                                  wx[3] * r[ix[3] * C]);
                }
                out[c] = v;
            }
        }
    }
}
