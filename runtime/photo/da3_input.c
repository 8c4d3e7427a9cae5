/* photo/da3_input.c: see da3_input.h. */
#include "photo/da3_input.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "photo/cv_resize.h" /* ds_cv_resize_cubic_u8, ds_cv_resize_area_u8 */

/* int(round(side * s)) with Python's round: half to even, on the double product. */
static int py_round(double v) { return (int)nearbyint(v); }

static int nearest_multiple(int x, int p) {
    const int down = x / p * p, up = down + p;
    const int m = up - x <= x - down ? up : down;
    return m > 0 ? m : p;
}

void ds_da3_input_sizes(int width, int height, int target, int multiple, int *w1, int *h1, int *w2, int *h2) {
    const int longest = width > height ? width : height;
    *w1 = width;
    *h1 = height;
    if (longest != target) {
        const double s = target / (double)longest;
        *w1 = py_round(width * s) > 1 ? py_round(width * s) : 1;
        *h1 = py_round(height * s) > 1 ? py_round(height * s) : 1;
    }
    *w2 = nearest_multiple(*w1, multiple);
    *h2 = nearest_multiple(*h1, multiple);
}

/* One cv2.resize step: cubic when `grow`, else area; a copy when the size stays. */
static int resize_step(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw, int dh, int grow) {
    if (dw == sw && dh == sh) {
        for (int y = 0; y < sh; y++)
            memcpy(dst + (size_t)y * dw * 3, src + (size_t)y * stride, (size_t)sw * 3);
        return 0;
    }
    return grow ? ds_cv_resize_cubic_u8(src, sw, sh, stride, dst, dw, dh)
                : ds_cv_resize_area_u8(src, sw, sh, stride, dst, dw, dh);
}

int ds_da3_preprocess_rgb8(const uint8_t *rgb, int width, int height, size_t stride, int target, int multiple,
                           const float mean[3], const float std[3], float *out) {
    int w1, h1, w2, h2;
    ds_da3_input_sizes(width, height, target, multiple, &w1, &h1, &w2, &h2);
    uint8_t *a = malloc((size_t)w1 * h1 * 3), *b = malloc((size_t)w2 * h2 * 3);
    const int longest = width > height ? width : height;
    int rc = a && b ? 0 : -1;
    if (rc == 0)
        rc = resize_step(rgb, width, height, stride, a, w1, h1, target > longest);
    if (rc == 0)
        rc = resize_step(a, w1, h1, (size_t)w1 * 3, b, w2, h2, w2 > w1 || h2 > h1);
    const size_t plane = (size_t)w2 * h2;
    for (size_t p = 0; rc == 0 && p < plane; p++)
        for (int c = 0; c < 3; c++) {
            const float x = (float)b[p * 3 + c] / 255.0f;
            out[c * plane + p] = (x - mean[c]) / std[c];
        }
    free(a);
    free(b);
    return rc;
}

float ds_da3_processed_focal(float f, int orig, int mid, int net) {
    f *= (float)((double)mid / orig);
    return f * (float)((double)net / mid);
}

float ds_da3_metric_scale(float fx, float fy, float ref) {
    const float focal = (fx + fy) / 2.0f;
    return focal / ref;
}
