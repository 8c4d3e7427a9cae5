/* photo/cv_resize.c: see cv_resize.h (OpenCV 4.x imgproc/src/resize.cpp). */
#include "photo/cv_resize.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "photo/cubic.h" /* ds_cubic_coeffs_cv */

enum { CN = 3, COEF_BITS = 11, COEF_SCALE = 1 << COEF_BITS, SIMD_BYTES = 8 };

/* cv::resize's scale: 1 / (dst / src), in double. */
static double cv_scale(int src, int dst) { return 1.0 / ((double)dst / src); }

/* saturate_cast<short>(v * 2048): cvRound, half to even. */
static short fixed_coef(float v) { return (short)lrintf(v * (float)COEF_SCALE); }

/* Source index of the first tap and the four fixed-point weights of output d. */
static void cubic_tap(int d, double scale, int *s, short w[4]) {
    float f = (float)((d + 0.5) * scale - 0.5);
    const int sf = (int)floorf(f);
    f -= (float)sf;
    float c[4];
    ds_cubic_coeffs_cv(f, c);
    for (int k = 0; k < 4; k++)
        w[k] = fixed_coef(c[k]);
    *s = sf - 1;
}

static int clampi(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

static uint8_t sat_u8(int v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

int ds_cv_resize_cubic_u8(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw, int dh) {
    const double sx = cv_scale(sw, dw), sy = cv_scale(sh, dh);
    const int width = dw * CN;
    int *xs = malloc((size_t)dw * sizeof *xs), *rows = malloc((size_t)4 * width * sizeof *rows);
    short *xw = malloc((size_t)dw * 4 * sizeof *xw);
    if (!xs || !rows || !xw) {
        free(xs), free(rows), free(xw);
        return -1;
    }
    for (int x = 0; x < dw; x++)
        cubic_tap(x, sx, &xs[x], &xw[4 * x]);
    const int vec_end = width / SIMD_BYTES * SIMD_BYTES;
    for (int y = 0; y < dh; y++) {
        int ys;
        short yw[4];
        cubic_tap(y, sy, &ys, yw);
        for (int j = 0; j < 4; j++) { /* horizontal pass of the four source rows, in int */
            const uint8_t *row = src + (size_t)clampi(ys + j, sh) * stride;
            int *h = rows + (size_t)j * width;
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < CN; c++) {
                    int v = 0;
                    for (int k = 0; k < 4; k++)
                        v += row[clampi(xs[x] + k, sw) * CN + c] * xw[4 * x + k];
                    h[x * CN + c] = v;
                }
        }
        const int *r0 = rows, *r1 = rows + width, *r2 = rows + 2 * width, *r3 = rows + 3 * width;
        uint8_t *out = dst + (size_t)y * width;
        const float scale = 1.0f / (float)(COEF_SCALE * COEF_SCALE);
        const float b0 = yw[0] * scale, b1 = yw[1] * scale, b2 = yw[2] * scale, b3 = yw[3] * scale;
        for (int i = 0; i < vec_end; i++) { /* VResizeCubicVec_32s8u: float, muladd as mul then add */
            float t = (float)r3[i] * b3;
            t = (float)r2[i] * b2 + t;
            t = (float)r1[i] * b1 + t;
            t = (float)r0[i] * b0 + t;
            out[i] = sat_u8((int)lrintf(t));
        }
        for (int i = vec_end; i < width; i++) /* FixedPtCast<int, uchar, 22> */
            out[i] = sat_u8((r0[i] * yw[0] + r1[i] * yw[1] + r2[i] * yw[2] + r3[i] * yw[3] + (1 << 21)) >> 22);
    }
    free(xs), free(rows), free(xw);
    return 0;
}

/* One overlap weight of computeResizeAreaTab: source si counts alpha toward output di. */
typedef struct area_tab {
    int di, si;
    float alpha;
} area_tab;

static int area_table(int ssize, int dsize, double scale, area_tab *tab) {
    int k = 0;
    for (int dx = 0; dx < dsize; dx++) {
        const double fsx1 = dx * scale, fsx2 = fsx1 + scale;
        const double cell = fmin(scale, ssize - fsx1);
        int sx1 = (int)ceil(fsx1), sx2 = (int)floor(fsx2);
        sx2 = sx2 < ssize - 1 ? sx2 : ssize - 1;
        sx1 = sx1 < sx2 ? sx1 : sx2;
        if (sx1 - fsx1 > 1e-3)
            tab[k++] = (area_tab){dx, sx1 - 1, (float)((sx1 - fsx1) / cell)};
        for (int sx = sx1; sx < sx2; sx++)
            tab[k++] = (area_tab){dx, sx, (float)(1.0 / cell)};
        if (fsx2 - sx2 > 1e-3)
            tab[k++] = (area_tab){dx, sx2, (float)(fmin(fmin(fsx2 - sx2, 1.0), cell) / cell)};
    }
    return k;
}

/* resizeAreaFast_: whole blocks of ix x iy source pixels. */
static void area_fast(const uint8_t *src, size_t stride, uint8_t *dst, int dw, int dh, int ix, int iy) {
    const int area = ix * iy;
    const float inv = 1.0f / (float)area;
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < CN; c++) {
                int sum = 0;
                for (int j = 0; j < iy; j++)
                    for (int i = 0; i < ix; i++)
                        sum += src[(size_t)(y * iy + j) * stride + (size_t)(x * ix + i) * CN + c];
                /* the 2x2 vector op (and its scalar tail) rounds half up; the others cvRound */
                dst[((size_t)y * dw + x) * CN + c] =
                    area == 4 && ix == 2 ? (uint8_t)((sum + 2) >> 2) : sat_u8((int)lrintf((float)sum * inv));
            }
}

int ds_cv_resize_area_u8(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw, int dh) {
    const double sx = cv_scale(sw, dw), sy = cv_scale(sh, dh);
    const int ix = (int)lrint(sx), iy = (int)lrint(sy);
    if (fabs(sx - ix) < DBL_EPSILON && fabs(sy - iy) < DBL_EPSILON) {
        area_fast(src, stride, dst, dw, dh, ix, iy);
        return 0;
    }
    const int width = dw * CN;
    area_tab *xt = malloc((size_t)2 * sw * sizeof *xt), *yt = malloc((size_t)2 * sh * sizeof *yt);
    float *buf = malloc((size_t)2 * width * sizeof *buf);
    if (!xt || !yt || !buf) {
        free(xt), free(yt), free(buf);
        return -1;
    }
    const int nx = area_table(sw, dw, sx, xt), ny = area_table(sh, dh, sy, yt);
    float *sum = buf + width;
    memset(sum, 0, (size_t)width * sizeof *sum);
    int prev = yt[0].di;
    for (int j = 0; j < ny; j++) {
        const float beta = yt[j].alpha;
        const uint8_t *s = src + (size_t)yt[j].si * stride;
        memset(buf, 0, (size_t)width * sizeof *buf);
        for (int k = 0; k < nx; k++)
            for (int c = 0; c < CN; c++)
                buf[xt[k].di * CN + c] = buf[xt[k].di * CN + c] + (float)s[xt[k].si * CN + c] * xt[k].alpha;
        if (yt[j].di != prev) { /* row `prev` is complete */
            for (int i = 0; i < width; i++) {
                dst[(size_t)prev * width + i] = sat_u8((int)lrintf(sum[i]));
                sum[i] = beta * buf[i];
            }
            prev = yt[j].di;
        } else {
            for (int i = 0; i < width; i++)
                sum[i] += beta * buf[i];
        }
    }
    for (int i = 0; i < width; i++)
        dst[(size_t)prev * width + i] = sat_u8((int)lrintf(sum[i]));
    free(xt), free(yt), free(buf);
    return 0;
}
