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

#include "base/cpus.h"  /* ds_cpus */
#include "base/error.h" /* ds_fail */
#include "base/pool.h"  /* ds_parallel_for */
#include "scene/render.h"

typedef struct edges_job {
    float *q;         /* (h, w) */
    int w, h, r;
    float threshold;
    float *lo, *hi;   /* (h, w): min and max of q over the window of radius r */
    float *tlo, *thi; /* (h, w): the same along rows only */
} edges_job;

static void row_range(void *ctx, int64_t y, int thread) {
    (void)thread;
    const edges_job *e = ctx;
    const int w = e->w, r = e->r;
    const float *q = e->q + (size_t)y * w;
    for (int x = 0; x < w; x++) {
        const int x0 = x - r < 0 ? 0 : x - r, x1 = x + r > w - 1 ? w - 1 : x + r;
        float a = q[x0], b = a;
        for (int i = x0 + 1; i <= x1; i++) {
            const float v = q[i];
            a = v < a ? v : a;
            b = v > b ? v : b;
        }
        e->tlo[(size_t)y * w + x] = a;
        e->thi[(size_t)y * w + x] = b;
    }
}

static void column_range(void *ctx, int64_t y, int thread) {
    (void)thread;
    const edges_job *e = ctx;
    const int w = e->w, h = e->h, r = e->r;
    const int y0 = (int)y - r < 0 ? 0 : (int)y - r, y1 = (int)y + r > h - 1 ? h - 1 : (int)y + r;
    for (int x = 0; x < w; x++) {
        float a = e->tlo[(size_t)y0 * w + x], b = e->thi[(size_t)y0 * w + x];
        for (int j = y0 + 1; j <= y1; j++) {
            a = e->tlo[(size_t)j * w + x] < a ? e->tlo[(size_t)j * w + x] : a;
            b = e->thi[(size_t)j * w + x] > b ? e->thi[(size_t)j * w + x] : b;
        }
        e->lo[(size_t)y * w + x] = a;
        e->hi[(size_t)y * w + x] = b;
    }
}

static void sharpen_row(void *ctx, int64_t y, int thread) {
    (void)thread;
    const edges_job *e = ctx;
    for (size_t k = (size_t)y * e->w; k < (size_t)(y + 1) * e->w; k++)
        if (e->hi[k] - e->lo[k] > e->threshold * e->hi[k])
            e->q[k] = e->q[k] - e->lo[k] < e->hi[k] - e->q[k] ? e->lo[k] : e->hi[k];
}

ds_status ds_render_sharpen(float *q, int w, int h, int radius, float threshold) {
    if (radius < 1)
        return DS_OK;
    const size_t n = (size_t)w * h;
    float *buf = malloc(4 * n * sizeof(float));
    if (!buf)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "scene: out of memory for the depth edges");
    edges_job e = {q, w, h, radius, threshold, buf, buf + n, buf + 2 * n, buf + 3 * n};
    const int threads = ds_cpus();
    ds_parallel_for(threads, h, row_range, &e);
    ds_parallel_for(threads, h, column_range, &e);
    ds_parallel_for(threads, h, sharpen_row, &e);
    free(buf);
    return DS_OK;
}
