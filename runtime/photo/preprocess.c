/* preprocess.c: the resize rules, OpenCV cubic resize, PyTorch bicubic and bilinear. */
#include "photo/preprocess.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/bilinear.h" /* ds_bilinear_coord */
#include "base/pool.h"     /* ds_parallel_for */
#include "photo/cubic.h"   /* ds_cv_taps, ds_torch_taps */

static atomic_uint_fast64_t host_resizes;

uint64_t ds_photo_host_resizes(void) { return atomic_load(&host_resizes); }

/* Resize.constrain_to_multiple_of: NumPy round (half to even), floor if above max. */
static int constrain(double x, int multiple, int max_val) {
    int y = (int)(nearbyint(x / multiple) * multiple);
    if (max_val > 0 && y > max_val)
        y = (int)(floor(x / multiple) * multiple);
    return y < multiple ? multiple : y;
}

void ds_net_input_size(int width, int height, int target, int multiple, int upper_bound,
                       int keep_aspect, int *net_w, int *net_h) {
    double scale_h = (double)target / height, scale_w = (double)target / width;
    if (keep_aspect) {
        if (upper_bound) {
            if (scale_w < scale_h)
                scale_h = scale_w;
            else
                scale_w = scale_h;
        } else if (fabs(1 - scale_w) < fabs(1 - scale_h)) {
            scale_h = scale_w;
        } else {
            scale_w = scale_h;
        }
    }
    int max_val = upper_bound ? target : 0;
    *net_h = constrain(scale_h * height, multiple, max_val);
    *net_w = constrain(scale_w * width, multiple, max_val);
}

/* Resize.constrain_to_multiple_of with min_val: NumPy round, ceil if below min_val. */
static int constrain_up(double x, int multiple, int min_val) {
    int y = (int)(nearbyint(x / multiple) * multiple);
    if (y < min_val)
        y = (int)(ceil(x / multiple) * multiple);
    return y < multiple ? multiple : y;
}

void ds_net_input_size_lower_bound(int width, int height, int target, int multiple, int keep_aspect,
                                   int *net_w, int *net_h) {
    double scale_h = (double)target / height, scale_w = (double)target / width;
    if (keep_aspect) { /* the larger scale: the short side reaches the target (a tie takes scale_h) */
        if (scale_w > scale_h)
            scale_h = scale_w;
        else
            scale_w = scale_h;
    }
    *net_h = constrain_up(scale_h * height, multiple, target);
    *net_w = constrain_up(scale_w * width, multiple, target);
}

typedef struct preprocess_job {
    const uint8_t *rgb; /* (height, stride) RGB8 */
    int width, height;
    size_t stride;
    int net_w, net_h;
    const float *mean, *std;
    float *out;         /* (3, net_h, net_w) */
} preprocess_job;

static void preprocess_row(void *ctx, int64_t row, int thread) {
    (void)thread;
    const preprocess_job *p = ctx;
    const int y = (int)row;
    const double sx = (double)p->width / p->net_w, sy = (double)p->height / p->net_h;
    const size_t plane = (size_t)p->net_w * (size_t)p->net_h;
    int ry[4];
    float wy[4];
    ds_cv_taps(y, sy, p->height, ry, wy);
    for (int x = 0; x < p->net_w; x++) {
        int rx[4];
        float wx[4];
        ds_cv_taps(x, sx, p->width, rx, wx);
        for (int c = 0; c < 3; c++) {
            double v = 0;
            for (int j = 0; j < 4; j++) {
                const uint8_t *r = p->rgb + (size_t)ry[j] * p->stride;
                double h = 0; /* horizontal pass over [0,1] values, as on run.py's float64 image */
                for (int i = 0; i < 4; i++)
                    h += (r[rx[i] * 3 + c] / 255.0) * wx[i];
                v += h * wy[j];
            }
            p->out[c * plane + (size_t)y * p->net_w + x] = (float)((v - p->mean[c]) / p->std[c]);
        }
    }
}

void ds_preprocess_rgb8(const uint8_t *rgb, int width, int height, size_t stride, int net_w,
                        int net_h, const float mean[3], const float std[3], float *out,
                        int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    preprocess_job p = {rgb, width, height, stride, net_w, net_h, mean, std, out};
    ds_parallel_for(n_threads, net_h, preprocess_row, &p);
}

/* One float plane resized into another (the PyTorch bicubic and bilinear),
 * a task a block of output rows. Both are separable and PyTorch sums
 * across first, so a block of columns finds its taps once per task, and
 * each input row is summed across once per block of columns and kept while
 * the output rows that read it pass (a depth map upscaled to a photo reads
 * each input row ~10 times). Each output is the same sums in the same
 * order as when every pixel found its own taps: the same bits (at 12 MP
 * that per-pixel form took 37% of a MiDaS Small photo's CPU time). */
enum { PLANE_ROWS = 16, PLANE_COLS = 256, PLANE_CACHE = 8 };

typedef struct plane_job {
    const float *in;  /* (in_h, in_w) */
    int in_w, in_h;
    float *out;       /* (out_h, out_w) */
    int out_w, out_h;
} plane_job;

/* Input rows summed across for one block of columns, slot row % 8: the
 * (clamped) rows an output row reads are consecutive, so never share one. */
typedef struct across_rows {
    int row[PLANE_CACHE];
    float v[PLANE_CACHE][PLANE_COLS];
} across_rows;

static void across_reset(across_rows *c) {
    for (int k = 0; k < PLANE_CACHE; k++)
        c->row[k] = -1;
}

/* The slot of input row r; *fill: it holds another row, sum r's into it. */
static float *across_slot(across_rows *c, int r, int *fill) {
    const int k = r % PLANE_CACHE;
    *fill = c->row[k] != r;
    c->row[k] = r;
    return c->v[k];
}

static void output_rows(const plane_job *t, int64_t task, int *y0, int *y1) {
    *y0 = (int)task * PLANE_ROWS;
    *y1 = t->out_h - *y0 < PLANE_ROWS ? t->out_h : *y0 + PLANE_ROWS;
}

static int64_t row_tasks(int out_h) { return (out_h + PLANE_ROWS - 1) / PLANE_ROWS; }

static void torch_rows(void *ctx, int64_t task, int thread) {
    (void)thread;
    const plane_job *t = ctx;
    const float sx = (float)t->in_w / (float)t->out_w, sy = (float)t->in_h / (float)t->out_h;
    int y0, y1;
    output_rows(t, task, &y0, &y1);
    for (int c0 = 0; c0 < t->out_w; c0 += PLANE_COLS) {
        const int n = t->out_w - c0 < PLANE_COLS ? t->out_w - c0 : PLANE_COLS;
        int rx[PLANE_COLS][4];
        float wx[PLANE_COLS][4];
        for (int x = 0; x < n; x++)
            ds_torch_taps(c0 + x, sx, t->in_w, rx[x], wx[x]);
        across_rows c;
        across_reset(&c);
        for (int y = y0; y < y1; y++) {
            int ry[4];
            float wy[4];
            ds_torch_taps(y, sy, t->in_h, ry, wy);
            const float *h[4];
            for (int j = 0; j < 4; j++) {
                int fill;
                float *v = across_slot(&c, ry[j], &fill);
                const float *r = t->in + (size_t)ry[j] * t->in_w;
                for (int x = 0; fill && x < n; x++)
                    v[x] = r[rx[x][0]] * wx[x][0] + r[rx[x][1]] * wx[x][1] + r[rx[x][2]] * wx[x][2] +
                           r[rx[x][3]] * wx[x][3];
                h[j] = v;
            }
            float *out = t->out + (size_t)y * t->out_w + c0;
            for (int x = 0; x < n; x++)
                out[x] = h[0][x] * wy[0] + h[1][x] * wy[1] + h[2][x] * wy[2] + h[3][x] * wy[3];
        }
    }
}

void ds_resize_bicubic_torch(const float *in, int in_w, int in_h, float *out, int out_w,
                             int out_h, int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    plane_job t = {in, in_w, in_h, out, out_w, out_h};
    ds_parallel_for(n_threads, row_tasks(out_h), torch_rows, &t);
}

static void aligned_rows(void *ctx, int64_t task, int thread) {
    (void)thread;
    const plane_job *t = ctx;
    int y0, y1;
    output_rows(t, task, &y0, &y1);
    for (int c0 = 0; c0 < t->out_w; c0 += PLANE_COLS) {
        const int n = t->out_w - c0 < PLANE_COLS ? t->out_w - c0 : PLANE_COLS;
        int64_t x0[PLANE_COLS], x1[PLANE_COLS];
        float fx[PLANE_COLS];
        for (int x = 0; x < n; x++)
            ds_bilinear_coord(c0 + x, t->in_w, t->out_w, 1, &x0[x], &x1[x], &fx[x]);
        across_rows c;
        across_reset(&c);
        for (int y = y0; y < y1; y++) {
            int64_t ry[2];
            float fy;
            ds_bilinear_coord(y, t->in_h, t->out_h, 1, &ry[0], &ry[1], &fy);
            const float *h[2];
            for (int j = 0; j < 2; j++) {
                int fill;
                float *v = across_slot(&c, (int)ry[j], &fill);
                const float *r = t->in + ry[j] * t->in_w;
                for (int x = 0; fill && x < n; x++)
                    v[x] = (1.0f - fx[x]) * r[x0[x]] + fx[x] * r[x1[x]];
                h[j] = v;
            }
            float *out = t->out + (size_t)y * t->out_w + c0;
            for (int x = 0; x < n; x++)
                out[x] = (1.0f - fy) * h[0][x] + fy * h[1][x];
        }
    }
}

void ds_resize_bilinear_aligned(const float *in, int in_w, int in_h, float *out, int out_w, int out_h,
                                int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    plane_job t = {in, in_w, in_h, out, out_w, out_h};
    ds_parallel_for(n_threads, row_tasks(out_h), aligned_rows, &t);
}
