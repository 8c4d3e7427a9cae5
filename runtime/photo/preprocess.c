/* preprocess.c: the resize rules, OpenCV cubic resize, PyTorch bicubic and bilinear. */
#include "photo/preprocess.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/bilinear.h" /* ds_bilinear_coord */
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

void ds_preprocess_rgb8(const uint8_t *rgb, int width, int height, size_t stride, int net_w,
                        int net_h, const float mean[3], const float std[3], float *out,
                        int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    double sx = (double)width / net_w, sy = (double)height / net_h;
    size_t plane = (size_t)net_w * (size_t)net_h;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int y = 0; y < net_h; y++) {
        int ry[4];
        float wy[4];
        ds_cv_taps(y, sy, height, ry, wy);
        for (int x = 0; x < net_w; x++) {
            int rx[4];
            float wx[4];
            ds_cv_taps(x, sx, width, rx, wx);
            for (int c = 0; c < 3; c++) {
                double v = 0;
                for (int j = 0; j < 4; j++) {
                    const uint8_t *row = rgb + (size_t)ry[j] * stride;
                    double h = 0; /* horizontal pass over [0,1] values, as on run.py's float64 image */
                    for (int i = 0; i < 4; i++)
                        h += (row[rx[i] * 3 + c] / 255.0) * wx[i];
                    v += h * wy[j];
                }
                out[c * plane + (size_t)y * net_w + x] = (float)((v - mean[c]) / std[c]);
            }
        }
    }
}

void ds_resize_bicubic_torch(const float *in, int in_w, int in_h, float *out, int out_w,
                             int out_h, int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    float sx = (float)in_w / (float)out_w, sy = (float)in_h / (float)out_h;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int y = 0; y < out_h; y++) {
        int ry[4];
        float wy[4];
        ds_torch_taps(y, sy, in_h, ry, wy);
        for (int x = 0; x < out_w; x++) {
            int rx[4];
            float wx[4];
            ds_torch_taps(x, sx, in_w, rx, wx);
            float rows[4];
            for (int j = 0; j < 4; j++) {
                const float *r = in + (size_t)ry[j] * in_w;
                rows[j] = r[rx[0]] * wx[0] + r[rx[1]] * wx[1] + r[rx[2]] * wx[2] + r[rx[3]] * wx[3];
            }
            out[(size_t)y * out_w + x] =
                rows[0] * wy[0] + rows[1] * wy[1] + rows[2] * wy[2] + rows[3] * wy[3];
        }
    }
}

void ds_resize_bilinear_aligned(const float *in, int in_w, int in_h, float *out, int out_w, int out_h,
                                int n_threads) {
    atomic_fetch_add(&host_resizes, 1);
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int y = 0; y < out_h; y++) {
        int64_t y0, y1;
        float fy;
        ds_bilinear_coord(y, in_h, out_h, 1, &y0, &y1, &fy);
        const float *top = in + y0 * in_w, *bot = in + y1 * in_w;
        for (int x = 0; x < out_w; x++) {
            int64_t x0, x1;
            float fx;
            ds_bilinear_coord(x, in_w, out_w, 1, &x0, &x1, &fx);
            out[(size_t)y * out_w + x] = (1.0f - fy) * ((1.0f - fx) * top[x0] + fx * top[x1]) +
                                         fy * ((1.0f - fx) * bot[x0] + fx * bot[x1]);
        }
    }
}
