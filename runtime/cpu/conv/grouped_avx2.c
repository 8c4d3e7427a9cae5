/*
 * cpu/conv/grouped_avx2.c: one output row of a grouped convolution, every
 * group, with AVX2+FMA.
 *
 * The input rows under the output row are first copied, in_act applied, into
 * a buffer padded with zeros left and right, so that every pixel has all its
 * taps and the row splits into register tiles of 6 pixels x 16 output
 * channels (12 accumulators; 12 x 8 when one block of 8 is left): per input
 * channel and tap, 2 weight loads and 6 broadcasts feed 12 FMAs. (Clipping
 * the taps of edge pixels instead left a quarter of a 24-pixel row to
 * one-pixel tiles at a third of the speed.) Rows of the buffer whose input
 * row is outside the image are skipped like their taps.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX2

/* Pixels per register tile: 6 with two blocks of 8 outputs, 12 with one. */
enum { R = 6, R1 = 12 };

typedef struct row_ctx {
    const ds_cpu_op *op;
    const float *buf; /* (kh, wp, C) padded input rows */
    int64_t wp, C;
    const float *wg; /* the group's packed weights */
    float *y;        /* output row */
    const float *r;  /* residual row or NULL */
    int64_t g, cg, og, ob_n;
    int ky0, ky1;
} row_ctx;

/* Output pixel ox, blocks ob .. ob+nv-1 from the sums in `acc`, through the epilogue. */
static DS_AVX2 void store(const row_ctx *rc, int64_t ox, int64_t ob, int nv, const float *acc) {
    const ds_cpu_op *op = rc->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t O = op->y->shape[3];
    for (int v = 0; v < nv; v++) {
        int64_t oo = (ob + v) * DS_GROUP_BLOCK, co = rc->g * rc->og + oo, at = ox * O + co;
        int64_t lanes = rc->og - oo < DS_GROUP_BLOCK ? rc->og - oo : DS_GROUP_BLOCK;
        const float *t = acc + v * DS_GROUP_BLOCK;
        if (lanes == DS_GROUP_BLOCK) {
            __m256 y = _mm256_loadu_ps(t);
            if (op->b)
                y = _mm256_add_ps(y, _mm256_loadu_ps(op->b + co));
            if (rc->r)
                y = _mm256_add_ps(y, ds_act8(a->res_act, _mm256_loadu_ps(rc->r + at)));
            _mm256_storeu_ps(rc->y + at, ds_act8(a->act, y));
            continue;
        }
        for (int64_t l = 0; l < lanes; l++) {
            float y = op->b ? t[l] + op->b[co + l] : t[l];
            if (rc->r)
                y += ds_apply_act(a->res_act, rc->r[at + l]);
            rc->y[at + l] = ds_apply_act(a->act, y);
        }
    }
}

/* Pixels ox .. ox+np-1, blocks ob .. ob+nv-1: nv = 2 and np <= R, or nv = 1 and np <= R1. */
ALWAYS_INLINE void tile(int np, int nv, const row_ctx *rc, int64_t ox, int64_t ob) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t tap = rc->cg * DS_GROUP_BLOCK;
    const int64_t wnext = (int64_t)a->kh * a->kw * tap; /* to the next block */
    const int64_t xs = (int64_t)a->stride_w * rc->C;    /* to the next pixel */
    const float *wb = rc->wg + ob * wnext;
    __m256 acc0[R1], acc1[R1]; /* output channels 0..7 and 8..15 of the pair of blocks */
    for (int r = 0; r < np; r++)
        acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (int ky = rc->ky0; ky < rc->ky1; ky++) {
        const float *xr =
            rc->buf + ((int64_t)ky * rc->wp + ox * a->stride_w) * rc->C + rc->g * rc->cg;
        for (int kx = 0; kx < a->kw; kx++) {
            const float *xp = xr + (int64_t)kx * a->dil_w * rc->C;
            const float *wp = wb + (ky * a->kw + kx) * tap;
            for (int64_t c = 0; c < rc->cg; c++) {
                __m256 w0 = _mm256_loadu_ps(wp + c * DS_GROUP_BLOCK);
                __m256 w1 = nv > 1 ? _mm256_loadu_ps(wp + wnext + c * DS_GROUP_BLOCK) : w0;
                for (int r = 0; r < np; r++) {
                    __m256 xv = _mm256_broadcast_ss(xp + r * xs + c);
                    acc0[r] = _mm256_fmadd_ps(xv, w0, acc0[r]);
                    if (nv > 1)
                        acc1[r] = _mm256_fmadd_ps(xv, w1, acc1[r]);
                }
            }
        }
    }
    float out[R1][2 * DS_GROUP_BLOCK]; /* through memory: the accumulators stay registers */
    for (int r = 0; r < np; r++) {
        _mm256_storeu_ps(out[r], acc0[r]);
        if (nv > 1)
            _mm256_storeu_ps(out[r] + DS_GROUP_BLOCK, acc1[r]);
    }
    for (int r = 0; r < np; r++)
        store(rc, ox + r, ob, nv, out[r]);
}

ALWAYS_INLINE void blocks(int nv, const row_ctx *rc, int64_t ob) {
    const int64_t OW = rc->op->y->shape[2], step = nv > 1 ? R : R1;
    int64_t ox = 0;
    for (; ox + step <= OW; ox += step)
        tile(nv > 1 ? R : R1, nv, rc, ox, ob);
    switch (OW - ox) {
    case 11: tile(11, 1, rc, ox, ob); break;
    case 10: tile(10, 1, rc, ox, ob); break;
    case 9: tile(9, 1, rc, ox, ob); break;
    case 8: tile(8, 1, rc, ox, ob); break;
    case 7: tile(7, 1, rc, ox, ob); break;
    case 6: tile(6, 1, rc, ox, ob); break;
    case 5: tile(5, nv, rc, ox, ob); break;
    case 4: tile(4, nv, rc, ox, ob); break;
    case 3: tile(3, nv, rc, ox, ob); break;
    case 2: tile(2, nv, rc, ox, ob); break;
    case 1: tile(1, nv, rc, ox, ob); break;
    default: break;
    }
}

/* buf row ky = input row iy, columns -pad_l .. wp-1-pad_l, in_act applied, zero outside. */
static DS_AVX2 void fill(const ds_cpu_op *op, int64_t nb, int64_t iy, int64_t wp, float *dst) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const float *src = op->x->data + (nb * H + iy) * W * C;
    for (int64_t j = 0; j < wp; j++) {
        const int64_t ix = j - a->pad_l;
        float *d = dst + j * C;
        int64_t c = 0;
        if (ix < 0 || ix >= W) {
            for (; c < C; c++)
                d[c] = 0.0f;
            continue;
        }
        const float *s = src + ix * C;
        for (; c + 8 <= C; c += 8)
            _mm256_storeu_ps(d + c, ds_act8(a->in_act, _mm256_loadu_ps(s + c)));
        for (; c < C; c++)
            d[c] = ds_apply_act(a->in_act, s[c]);
    }
}

DS_AVX2 void ds_grouped_row_avx2(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy,
                                 float *buf) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t C = op->x->shape[3], O = op->y->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    row_ctx rc;
    rc.op = op;
    rc.buf = buf;
    rc.wp = ds_grouped_buffer_width(op->node);
    rc.C = C;
    rc.cg = C / a->groups;
    rc.og = O / a->groups;
    rc.ob_n = (rc.og + DS_GROUP_BLOCK - 1) / DS_GROUP_BLOCK;
    rc.y = op->y->data + (nb * OH + oy) * OW * O;
    rc.r = op->r ? op->r->data + (nb * OH + oy) * OW * O : NULL;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, op->x->shape[1], &rc.ky0,
                      &rc.ky1);
    for (int ky = rc.ky0; ky < rc.ky1; ky++)
        fill(op, nb, oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h, rc.wp,
             buf + (int64_t)ky * rc.wp * C);
    const int64_t group_floats = rc.ob_n * DS_GROUP_BLOCK * (int64_t)a->kh * a->kw * rc.cg;
    for (int64_t g = 0; g < a->groups; g++) {
        rc.g = g;
        rc.wg = p + g * group_floats;
        int64_t ob = 0;
        for (; ob + 2 <= rc.ob_n; ob += 2)
            blocks(2, &rc, ob);
        if (ob < rc.ob_n)
            blocks(1, &rc, ob);
    }
}
