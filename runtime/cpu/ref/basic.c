/* cpu/ref/basic.c: reference resize, elementwise ops and token bookkeeping (NHWC). */
#include <math.h>
#include <string.h>

#include "base/bicubic.h" /* ds_bicubic_taps */
#include "cpu/ops.h"

/* Bilinear resize of a (H, W, C) image per batch item. */
static void resize_image(const float *x, int64_t H, int64_t W, int64_t C, float *y, int64_t OH,
                         int64_t OW, int align_corners) {
    for (int64_t oy = 0; oy < OH; oy++) {
        int64_t y0, y1;
        float fy;
        ds_bilinear_coord(oy, H, OH, align_corners, &y0, &y1, &fy);
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t x0, x1;
            float fx;
            ds_bilinear_coord(ox, W, OW, align_corners, &x0, &x1, &fx);
            const float *p00 = x + (y0 * W + x0) * C, *p01 = x + (y0 * W + x1) * C;
            const float *p10 = x + (y1 * W + x0) * C, *p11 = x + (y1 * W + x1) * C;
            float *out = y + (oy * OW + ox) * C;
            for (int64_t c = 0; c < C; c++)
                out[c] = (1.0f - fy) * ((1.0f - fx) * p00[c] + fx * p01[c]) +
                         fy * ((1.0f - fx) * p10[c] + fx * p11[c]);
        }
    }
}

void ds_ref_resize(const ds_cpu_op *op) {
    const int64_t *s = op->x->shape, *d = op->y->shape;
    for (int64_t n = 0; n < s[0]; n++)
        resize_image(op->x->data + n * s[1] * s[2] * s[3], s[1], s[2], s[3],
                     op->y->data + n * d[1] * d[2] * d[3], d[1], d[2],
                     op->node->a.resize.align_corners);
}

void ds_ref_add(const ds_cpu_op *op) {
    int64_t n = ds_shape_numel(op->y->shape);
    for (int64_t i = 0; i < n; i++)
        op->y->data[i] = ds_apply_act(op->node->a.act, op->x->data[i] + op->r->data[i]);
}

void ds_ref_act(const ds_cpu_op *op) {
    int64_t n = ds_shape_numel(op->y->shape);
    for (int64_t i = 0; i < n; i++)
        op->y->data[i] = ds_apply_act(op->node->a.act, op->x->data[i]);
}

void ds_ref_copy(const ds_cpu_op *op) {
    if (op->y->data != op->x->data)
        memmove(op->y->data, op->x->data, (size_t)ds_shape_numel(op->y->shape) * sizeof(float));
}

/* (N, 1, T, C) -> (N, 1, T+1, C): the learned token (1, 1, C) first. */
void ds_ref_prepend_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++) {
        float *y = op->y->data + n * (T + 1) * C;
        memcpy(y, op->w, (size_t)C * sizeof(float));
        memcpy(y + C, op->x->data + n * T * C, (size_t)(T * C) * sizeof(float));
    }
}

/* (N, 1, 1+T, C) -> (N, gh, gw, 2C): [patch token t, class token]. */
void ds_ref_readout_cat(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T1 = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++) {
        const float *x = op->x->data + n * T1 * C;
        float *y = op->y->data + n * (T1 - 1) * 2 * C;
        for (int64_t t = 0; t + 1 < T1; t++) {
            memcpy(y + t * 2 * C, x + (t + 1) * C, (size_t)C * sizeof(float));
            memcpy(y + t * 2 * C + C, x, (size_t)C * sizeof(float));
        }
    }
}

/* Position embedding (1, 1+G*G, C): the class entry, then the G x G grid
 * resized bilinearly (align_corners=False) to gh x gw. */
void ds_ref_pos_embed(const ds_cpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->y->shape[3];
    memcpy(op->y->data, op->w, (size_t)C * sizeof(float));
    resize_image(op->w + C, a->grid, a->grid, C, op->y->data + C, a->gh, a->gw, 0);
}

/* Position embedding (1, 1+G*G, C): the class entry, then the G x G grid
 * resized bicubically to gh x gw with the node's coordinate scales (DINOv2's
 * scale-factor call of F.interpolate); double accumulation. */
void ds_ref_pos_embed_bicubic(const ds_cpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->y->shape[3], G = a->grid;
    const float *grid = op->w + C; /* (G, G, C) */
    memcpy(op->y->data, op->w, (size_t)C * sizeof(float));
    for (int64_t oy = 0; oy < a->gh; oy++) {
        int64_t iy[4];
        float wy[4];
        ds_bicubic_taps(oy, G, a->scale_h, iy, wy);
        for (int64_t ox = 0; ox < a->gw; ox++) {
            int64_t ix[4];
            float wx[4];
            ds_bicubic_taps(ox, G, a->scale_w, ix, wx);
            float *out = op->y->data + (1 + oy * a->gw + ox) * C;
            for (int64_t c = 0; c < C; c++) {
                double v = 0;
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++)
                        v += (double)wy[j] * wx[i] * grid[(iy[j] * G + ix[i]) * C + c];
                out[c] = (float)v;
            }
        }
    }
}

/* (N, 1, 1+T, C) -> (N, gh, gw, C), T = gh * gw: the patch tokens, token 0 left out. */
void ds_ref_drop_token(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T1 = op->x->shape[2], C = op->x->shape[3];
    for (int64_t n = 0; n < N; n++)
        memcpy(op->y->data + n * (T1 - 1) * C, op->x->data + (n * T1 + 1) * C,
               (size_t)((T1 - 1) * C) * sizeof(float));
}

void ds_ref_scale(const ds_cpu_op *op) {
    int64_t n = ds_shape_numel(op->y->shape);
    for (int64_t i = 0; i < n; i++)
        op->y->data[i] = op->x->data[i] * op->node->a.scale;
}
