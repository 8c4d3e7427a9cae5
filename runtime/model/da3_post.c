/* model/da3_post.c: see da3_post.h. */
#include "model/da3_post.h"

#include <math.h>
#include <stdlib.h>

void ds_da3_camera(const float pose_enc[9], int net_w, int net_h, float extrinsics[12], float intrinsics[9]) {
    const float *t = pose_enc, *q = pose_enc + 3;
    const float i = q[0], j = q[1], k = q[2], r = q[3];
    const float two_s = 2.0f / (i * i + j * j + k * k + r * r);
    const float R[9] = {
        1 - two_s * (j * j + k * k), two_s * (i * j - k * r),     two_s * (i * k + j * r),
        two_s * (i * j + k * r),     1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
        two_s * (i * k - j * r),     two_s * (j * k + i * r),     1 - two_s * (i * i + j * j),
    };
    for (int row = 0; row < 3; row++) { /* row `row` of R^T is column `row` of R */
        float tr = 0.0f;
        for (int c = 0; c < 3; c++) {
            extrinsics[row * 4 + c] = R[c * 3 + row];
            tr += R[c * 3 + row] * t[c];
        }
        extrinsics[row * 4 + 3] = -tr;
    }
    const float th = fmaxf(tanf(pose_enc[7] / 2.0f), 1e-6f), tw = fmaxf(tanf(pose_enc[8] / 2.0f), 1e-6f);
    for (int e = 0; e < 9; e++)
        intrinsics[e] = 0.0f;
    intrinsics[0] = (float)net_w / 2.0f / tw;
    intrinsics[4] = (float)net_h / 2.0f / th;
    intrinsics[2] = (float)net_w / 2.0f;
    intrinsics[5] = (float)net_h / 2.0f;
    intrinsics[8] = 1.0f;
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* torch.quantile(v, q) with linear interpolation, on sorted v of n >= 1:
 * the rank and the weight in float32, then torch.lerp's two-sided form. */
static float quantile_sorted(const float *v, size_t n, float q) {
    const float rank = q * (float)(n - 1);
    const float below = floorf(rank);
    const size_t lo = (size_t)below, hi = lo + 1 < n ? lo + 1 : lo;
    const float w = rank - below, a = v[lo], b = v[hi];
    return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

float ds_da3_sky_fill(float *depth, const float *sky, size_t n) {
    size_t clear = 0;
    for (size_t p = 0; p < n; p++)
        clear += sky[p] < 0.3f;
    if (clear <= 10 || n - clear <= 10)
        return NAN;
    float *v = malloc(clear * sizeof *v);
    if (!v)
        return -1.0f;
    size_t m = 0;
    for (size_t p = 0; p < n; p++)
        if (sky[p] < 0.3f)
            v[m++] = depth[p];
    qsort(v, m, sizeof *v, cmp_float);
    const float fill = quantile_sorted(v, m, 0.99f);
    free(v);
    for (size_t p = 0; p < n; p++)
        if (!(sky[p] < 0.3f))
            depth[p] = fill;
    return fill;
}
