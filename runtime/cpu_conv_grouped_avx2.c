/*
 * cpu_conv_grouped_avx2.c: one output row of one group with AVX2+FMA. The
 * register tile is 6 pixels x 16 output channels (12 accumulators; 6 x 8
 * when one block of 8 is left): per input channel and tap, 2 weight loads
 * and 6 broadcasts feed 12 FMAs. Pixels whose taps reach into the padding go
 * one at a time with the taps clipped.
 */
#include "cpu_conv.h"
#include "cpu_simd_avx2.h"

enum { R = 6 }; /* pixels per register tile */

typedef struct row_ctx {
    const ds_cpu_op *op;
    const float *wg; /* the group's packed weights */
    int64_t g, nb, oy, cg, og, ob_n;
    int ky0, ky1;
} row_ctx;

/* Output pixel ox, blocks ob .. ob+nv-1 from the sums in `acc`, through the epilogue. */
static DS_AVX2 void store(const row_ctx *rc, int64_t ox, int64_t ob, int nv, const float *acc) {
    const ds_cpu_op *op = rc->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    for (int v = 0; v < nv; v++) {
        int64_t oo = (ob + v) * DS_GROUP_BLOCK, co = rc->g * rc->og + oo;
        int64_t at = ((rc->nb * OH + rc->oy) * OW + ox) * O + co;
        int64_t lanes = rc->og - oo < DS_GROUP_BLOCK ? rc->og - oo : DS_GROUP_BLOCK;
        const float *t = acc + v * DS_GROUP_BLOCK;
        if (lanes == DS_GROUP_BLOCK) {
            __m256 y = _mm256_loadu_ps(t);
            if (op->b)
                y = _mm256_add_ps(y, _mm256_loadu_ps(op->b + co));
            if (op->r)
                y = _mm256_add_ps(y, ds_act8(a->res_act, _mm256_loadu_ps(op->r->data + at)));
            _mm256_storeu_ps(op->y->data + at, ds_act8(a->act, y));
            continue;
        }
        for (int64_t l = 0; l < lanes; l++) {
            float y = op->b ? t[l] + op->b[co + l] : t[l];
            if (op->r)
                y += ds_apply_act(a->res_act, op->r->data[at + l]);
            op->y->data[at + l] = ds_apply_act(a->act, y);
        }
    }
}

/* Pixels ox .. ox+np-1 (np == 1 or R), blocks ob .. ob+nv-1, taps kx0 .. kx1-1. */
static inline __attribute__((always_inline)) DS_AVX2 void
tile(int np, int nv, ds_act in_act, const row_ctx *rc, int64_t ox, int kx0, int kx1, int64_t ob) {
    const ds_cpu_op *op = rc->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t cg = rc->cg, tap = cg * DS_GROUP_BLOCK;
    const int64_t wnext = (int64_t)a->kh * a->kw * tap; /* to the next block */
    const int64_t xs = (int64_t)a->stride_w * C;        /* to the next pixel */
    const float *wb = rc->wg + ob * wnext;
    __m256 acc0[R], acc1[R]; /* output channels 0..7 and 8..15 of the pair of blocks */
    for (int r = 0; r < np; r++)
        acc0[r] = acc1[r] = _mm256_setzero_ps();
    for (int ky = rc->ky0; ky < rc->ky1; ky++) {
        int64_t iy = rc->oy * a->stride_h - a->pad_t + (int64_t)ky * a->dil_h;
        const float *xr = op->x->data + (rc->nb * H + iy) * W * C + rc->g * cg;
        for (int kx = kx0; kx < kx1; kx++) {
            int64_t ix = ox * a->stride_w - a->pad_l + (int64_t)kx * a->dil_w;
            const float *xp = xr + ix * C;
            const float *wp = wb + (ky * a->kw + kx) * tap;
            for (int64_t c = 0; c < cg; c++) {
                __m256 w0 = _mm256_loadu_ps(wp + c * DS_GROUP_BLOCK);
                __m256 w1 = nv > 1 ? _mm256_loadu_ps(wp + wnext + c * DS_GROUP_BLOCK) : w0;
                for (int r = 0; r < np; r++) {
                    __m256 xv = ds_act8(in_act, _mm256_broadcast_ss(xp + r * xs + c));
                    acc0[r] = _mm256_fmadd_ps(xv, w0, acc0[r]);
                    if (nv > 1)
                        acc1[r] = _mm256_fmadd_ps(xv, w1, acc1[r]);
                }
            }
        }
    }
    float out[R][2 * DS_GROUP_BLOCK]; /* through memory: the accumulators stay registers */
    for (int r = 0; r < np; r++) {
        _mm256_storeu_ps(out[r], acc0[r]);
        _mm256_storeu_ps(out[r] + DS_GROUP_BLOCK, acc1[r]);
    }
    for (int r = 0; r < np; r++)
        store(rc, ox + r, ob, nv, out[r]);
}

static inline __attribute__((always_inline)) DS_AVX2 void row(ds_act in_act, const row_ctx *rc) {
    const ds_conv_attr *a = &rc->op->node->a.conv;
    const int64_t W = rc->op->x->shape[2], OW = rc->op->y->shape[2];
    for (int64_t ob = 0; ob < rc->ob_n; ob += 2) {
        const int two = ob + 1 < rc->ob_n;
        int64_t ox = 0;
        while (ox < OW) {
            int kx0, kx1, kl0, kl1;
            ds_conv_tap_range(ox, a->stride_w, a->pad_l, a->dil_w, a->kw, W, &kx0, &kx1);
            int full = kx0 == 0 && kx1 == a->kw && ox + R <= OW;
            if (full) {
                ds_conv_tap_range(ox + R - 1, a->stride_w, a->pad_l, a->dil_w, a->kw, W, &kl0,
                                  &kl1);
                full = kl0 == 0 && kl1 == a->kw;
            }
            if (full && two)
                tile(R, 2, in_act, rc, ox, 0, a->kw, ob);
            else if (full)
                tile(R, 1, in_act, rc, ox, 0, a->kw, ob);
            else if (two)
                tile(1, 2, in_act, rc, ox, kx0, kx1, ob);
            else
                tile(1, 1, in_act, rc, ox, kx0, kx1, ob);
            ox += full ? R : 1;
        }
    }
}

DS_AVX2 void ds_grouped_row_avx2(const ds_cpu_op *op, const float *p, int64_t g, int64_t nb,
                                 int64_t oy) {
    const ds_conv_attr *a = &op->node->a.conv;
    row_ctx rc;
    rc.op = op;
    rc.g = g;
    rc.nb = nb;
    rc.oy = oy;
    rc.cg = op->x->shape[3] / a->groups;
    rc.og = op->y->shape[3] / a->groups;
    rc.ob_n = (rc.og + DS_GROUP_BLOCK - 1) / DS_GROUP_BLOCK;
    rc.wg = p + g * rc.ob_n * DS_GROUP_BLOCK * (int64_t)a->kh * a->kw * rc.cg;
    ds_conv_tap_range(oy, a->stride_h, a->pad_t, a->dil_h, a->kh, op->x->shape[1], &rc.ky0,
                      &rc.ky1);
    switch (a->in_act) {
    case DS_ACT_NONE: row(DS_ACT_NONE, &rc); break;
    case DS_ACT_RELU: row(DS_ACT_RELU, &rc); break;
    default: row(a->in_act, &rc); break;
    }
}
