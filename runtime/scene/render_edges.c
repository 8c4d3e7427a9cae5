/* render_edges.c: depth edges made steps before a scene is built
 * (render.h). A network's depth map, upsampled to the photo, turns each
 * depth discontinuity into a ramp several pixels wide; meshed as it is, the
 * ramp becomes a band of half-torn triangles with foreground colours smeared
 * over the background. Where the inverse depth spans more than `threshold`
 * (relative to its largest value) within a (2r + 1)^2 window, each pixel
 * takes the window's nearer or farther value, whichever it is closer to: the
 * ramp becomes a step at its middle, and the tear test separates the two
 * sides cleanly. Smooth surfaces (a small relative span) stay as they are. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "scene/render.h"

/* lo/hi (h, w): min and max of q over the window of radius r around each pixel. */
static void window_range(const float *q, int w, int h, int r, float *lo, float *hi, float *tlo, float *thi) {
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int x0 = x - r < 0 ? 0 : x - r, x1 = x + r > w - 1 ? w - 1 : x + r;
            float a = q[(size_t)y * w + x0], b = a;
            for (int i = x0 + 1; i <= x1; i++) {
                const float v = q[(size_t)y * w + i];
                a = v < a ? v : a;
                b = v > b ? v : b;
            }
            tlo[(size_t)y * w + x] = a;
            thi[(size_t)y * w + x] = b;
        }
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        const int y0 = y - r < 0 ? 0 : y - r, y1 = y + r > h - 1 ? h - 1 : y + r;
        for (int x = 0; x < w; x++) {
            float a = tlo[(size_t)y0 * w + x], b = thi[(size_t)y0 * w + x];
            for (int j = y0 + 1; j <= y1; j++) {
                a = tlo[(size_t)j * w + x] < a ? tlo[(size_t)j * w + x] : a;
                b = thi[(size_t)j * w + x] > b ? thi[(size_t)j * w + x] : b;
            }
            lo[(size_t)y * w + x] = a;
            hi[(size_t)y * w + x] = b;
        }
    }
}

ds_status ds_render_sharpen(float *q, int w, int h, int radius, float threshold) {
    if (radius < 1)
        return DS_OK;
    const size_t n = (size_t)w * h;
    float *buf = malloc(4 * n * sizeof(float));
    if (!buf)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "scene: out of memory for the depth edges");
    float *lo = buf, *hi = buf + n;
    window_range(q, w, h, radius, lo, hi, buf + 2 * n, buf + 3 * n);
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++)
        if (hi[k] - lo[k] > threshold * hi[k])
            q[k] = q[k] - lo[k] < hi[k] - q[k] ? lo[k] : hi[k];
    free(buf);
    return DS_OK;
}
