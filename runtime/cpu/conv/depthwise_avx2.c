/*
 * cpu/conv/depthwise_avx2.c: one output row of a depthwise convolution with
 * AVX2+FMA.
 *
 * The row goes in chunks of 64 channels; within a chunk, interior pixels go
 * eight at a time, 8 channels at a time, through a kernel that slides along
 * the row (3x3 and 5x5, stride 1 and 2), or else four at a time and 16
 * channels at a time: 8 accumulators, and per tap 2 weight loads feed 8 FMAs. A chunk's input
 * columns and weights stay in L1 while its pixels sweep the row. Pixels whose taps reach into the
 * padding, and the ones left over, go one at a time with the taps clipped; channels past a multiple
 * of 16 go 8 at a time, and the last C % 8 to the C version. in_act is a compile-time constant of
 * the inlined loops.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX2

enum { PX = 4, CHUNK = 64 }; /* pixels per register tile, channels per chunk */

typedef struct row_ctx {
    const ds_cpu_op *op;
    const float *p; /* packed weights (kh, kw, C) */
    const float *x; /* input image nb */
    float *y;       /* output row */
    const float *r; /* residual row or NULL */
    int64_t oy, C, W;
    int ky0, ky1; /* taps of this row inside the input */
} row_ctx;

/* y = act(acc + bias + res_act(r)) for 8 channels from channel c of pixel ox. */
ALWAYS_INLINE void store8(const row_ctx *rc, int64_t ox, int64_t c, __m256 acc) {
    const ds_cpu_op *op = rc->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t at = ox * rc->C + c;
    if (op->b)
        acc = _mm256_add_ps(acc, _mm256_loadu_ps(op->b + c));
    if (rc->r)
        acc = _mm256_add_ps(acc, ds_act8(a->res_act, _mm256_loadu_ps(rc->r + at)));
    _mm256_storeu_ps(rc->y + at, ds_act8(a->act, acc));
}

ALWAYS_INLINE __m256 load_x(ds_act in_act, const float *p) {
    return ds_act8(in_act, _mm256_loadu_ps(p));
}

/* Channels c .. c+15 of the PX interior pixels from ox. */
ALWAYS_INLINE void tile16(ds_act in_act, const row_ctx *rc, int64_t ox, int64_t c) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t C = rc->C, xs = a->stride_w * C; /* next pixel */
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (int ky = rc->ky0; ky < rc->ky1; ky++) {
        const int64_t iy = rc->oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
        const float *xr = rc->x + (iy * rc->W + ox * a->stride_w - a->pad_l) * C + c;
        const float *wr = rc->p + (int64_t)ky * a->kw * C + c;
        for (int kx = 0; kx < a->kw; kx++) {
            const float *xp = xr + (int64_t)kx * a->dil_w * C, *wp = wr + (int64_t)kx * C;
            const __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
            a0 = _mm256_fmadd_ps(load_x(in_act, xp), w0, a0);
            b0 = _mm256_fmadd_ps(load_x(in_act, xp + 8), w1, b0);
            a1 = _mm256_fmadd_ps(load_x(in_act, xp + xs), w0, a1);
            b1 = _mm256_fmadd_ps(load_x(in_act, xp + xs + 8), w1, b1);
            a2 = _mm256_fmadd_ps(load_x(in_act, xp + 2 * xs), w0, a2);
            b2 = _mm256_fmadd_ps(load_x(in_act, xp + 2 * xs + 8), w1, b2);
            a3 = _mm256_fmadd_ps(load_x(in_act, xp + 3 * xs), w0, a3);
            b3 = _mm256_fmadd_ps(load_x(in_act, xp + 3 * xs + 8), w1, b3);
        }
    }
    store8(rc, ox, c, a0);
    store8(rc, ox, c + 8, b0);
    store8(rc, ox + 1, c, a1);
    store8(rc, ox + 1, c + 8, b1);
    store8(rc, ox + 2, c, a2);
    store8(rc, ox + 2, c + 8, b2);
    store8(rc, ox + 3, c, a3);
    store8(rc, ox + 3, c + 8, b3);
}

/* Channels c .. c+8*nv-1 (nv = 1 or 2) of pixel ox, taps kx0 .. kx1-1. */
ALWAYS_INLINE void pixel(ds_act in_act, int nv, const row_ctx *rc, int64_t ox, int64_t c) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t C = rc->C;
    int kx0, kx1;
    ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, rc->W, &kx0, &kx1);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (int ky = rc->ky0; ky < rc->ky1; ky++) {
        const int64_t iy = rc->oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
        const float *xr = rc->x + iy * rc->W * C + c;
        const float *wr = rc->p + (int64_t)ky * a->kw * C + c;
        for (int kx = kx0; kx < kx1; kx++) {
            const int64_t ix = ox * a->stride_w - a->pad_l + (int64_t)kx * a->dil_w;
            const float *xp = xr + ix * C, *wp = wr + (int64_t)kx * C;
            a0 = _mm256_fmadd_ps(load_x(in_act, xp), _mm256_loadu_ps(wp), a0);
            if (nv > 1)
                a1 = _mm256_fmadd_ps(load_x(in_act, xp + 8), _mm256_loadu_ps(wp + 8), a1);
        }
    }
    store8(rc, ox, c, a0);
    if (nv > 1)
        store8(rc, ox, c + 8, a1);
}

/* Channels c .. c+7 of the 8 interior pixels from ox, for kw = KW, stride
 * S, dilation 1, no in_act: each input column of a tap row is loaded once
 * and feeds every (pixel, tap) pair it belongs to, the kw weights staying in
 * registers (per tap row 8 S + KW - S loads for 8 KW FMAs, against 16 KW). */
ALWAYS_INLINE void slide8(int KW, int S, const row_ctx *rc, int64_t ox, int64_t c) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t C = rc->C;
    __m256 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_ps();
    for (int ky = rc->ky0; ky < rc->ky1; ky++) {
        const int64_t iy = rc->oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
        const float *xr = rc->x + (iy * rc->W + ox * S - a->pad_l) * C + c;
        const float *wr = rc->p + (int64_t)ky * KW * C + c;
        __m256 w[5];
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; kx++)
            w[kx] = _mm256_loadu_ps(wr + kx * C);
#pragma GCC unroll 32
        for (int col = 0; col < 7 * S + KW; col++) {
            const __m256 xv = _mm256_loadu_ps(xr + col * C);
#pragma GCC unroll 5
            for (int kx = 0; kx < KW; kx++) {
                const int d = col - kx;
                if (d >= 0 && d % S == 0 && d / S < 8)
                    acc[d / S] = _mm256_fmadd_ps(xv, w[kx], acc[d / S]);
            }
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        store8(rc, ox + j, c, acc[j]);
}

typedef void (*slide_fn)(const row_ctx *rc, int64_t ox, int64_t c);

static DS_AVX2 void slide_3_1(const row_ctx *rc, int64_t ox, int64_t c) {
    slide8(3, 1, rc, ox, c);
}
static DS_AVX2 void slide_3_2(const row_ctx *rc, int64_t ox, int64_t c) {
    slide8(3, 2, rc, ox, c);
}
static DS_AVX2 void slide_5_1(const row_ctx *rc, int64_t ox, int64_t c) {
    slide8(5, 1, rc, ox, c);
}
static DS_AVX2 void slide_5_2(const row_ctx *rc, int64_t ox, int64_t c) {
    slide8(5, 2, rc, ox, c);
}

/* The sliding kernel for this conv's row shape, or NULL. */
static slide_fn slide_for(const ds_conv_attr *a) {
    if (a->in_act != DS_ACT_NONE || a->dil_w != 1)
        return NULL;
    if (a->kw == 3)
        return a->stride_w == 1 ? slide_3_1 : a->stride_w == 2 ? slide_3_2 : NULL;
    if (a->kw == 5)
        return a->stride_w == 1 ? slide_5_1 : a->stride_w == 2 ? slide_5_2 : NULL;
    return NULL;
}

static int all_taps(const ds_conv_attr *a, int64_t ox, int64_t w) {
    int k0, k1;
    ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, w, &k0, &k1);
    return k0 == 0 && k1 == a->kw;
}

ALWAYS_INLINE void row(ds_act in_act, const row_ctx *rc) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t OW = rc->op->y->shape[2], C8 = rc->C / 8 * 8;
    /* interior pixels lo .. hi-1: every horizontal tap inside */
    int64_t lo = 0, hi = OW;
    while (lo < OW && !all_taps(a, lo, rc->W))
        lo++;
    while (hi > lo && !all_taps(a, hi - 1, rc->W))
        hi--;
    const slide_fn slide = slide_for(a);
    for (int64_t c0 = 0; c0 < C8; c0 += CHUNK) {
        const int64_t c1 = C8 - c0 < CHUNK ? C8 : c0 + CHUNK;
        const int64_t c16 = c0 + (c1 - c0) / 16 * 16;
        for (int64_t ox = 0; ox < OW;) {
            if (slide && ox >= lo && ox + 8 <= hi) {
                for (int64_t c = c0; c < c1; c += 8)
                    slide(rc, ox, c);
                ox += 8;
                continue;
            }
            if (ox >= lo && ox + PX <= hi) {
                for (int64_t c = c0; c < c16; c += 16)
                    tile16(in_act, rc, ox, c);
                if (c16 < c1)
                    for (int64_t j = 0; j < PX; j++)
                        pixel(in_act, 1, rc, ox + j, c16);
                ox += PX;
                continue;
            }
            for (int64_t c = c0; c < c16; c += 16)
                pixel(in_act, 2, rc, ox, c);
            if (c16 < c1)
                pixel(in_act, 1, rc, ox, c16);
            ox++;
        }
    }
}

DS_AVX2 void ds_depthwise_row_avx2(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    const int64_t yrow = (nb * OH + oy) * OW * C;
    row_ctx rc = {.op = op,
                  .p = p,
                  .x = op->x->data + nb * H * W * C,
                  .y = op->y->data + yrow,
                  .r = op->r ? op->r->data + yrow : NULL,
                  .oy = oy,
                  .C = C,
                  .W = W};
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, H, &rc.ky0, &rc.ky1);
    switch (a->in_act) {
    case DS_ACT_NONE: row(DS_ACT_NONE, &rc); break;
    case DS_ACT_RELU: row(DS_ACT_RELU, &rc); break;
    case DS_ACT_RELU6: row(DS_ACT_RELU6, &rc); break;
    default: row(a->in_act, &rc); break;
    }
    const int64_t C8 = C / 8 * 8;
    if (C8 < C)
        ds_depthwise_row_c(op, p, nb, oy, C8, C);
}
