/* image_fit.c: centre crop + resample of RGB8 photos (image_fit.h). */
#include "src/io/image_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpus.h"  /* ds_cpus */
#include "base/error.h" /* ds_fail */
#include "base/pool.h"  /* ds_parallel_for */

/* Per output sample: the first source index and the weights of a tent
 * filter `support` source pixels wide each side, normalized. */
typedef struct axis_taps {
    int *first, *count;
    float *w; /* (n, taps) */
    int taps;
} axis_taps;

static void taps_free(axis_taps *a) {
    free(a->first);
    free(a->count);
    free(a->w);
}

/* n outputs over source [off, off + len) of a row of `size`. */
static ds_status taps_make(int n, double off, double len, int size, axis_taps *a) {
    const double scale = len / n, support = scale > 1.0 ? scale : 1.0;
    a->taps = (int)ceil(2.0 * support) + 2;
    a->first = malloc((size_t)n * sizeof(int));
    a->count = malloc((size_t)n * sizeof(int));
    a->w = malloc((size_t)n * a->taps * sizeof(float));
    if (!a->first || !a->count || !a->w) {
        taps_free(a);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "resample: out of memory");
    }
    for (int i = 0; i < n; i++) {
        const double centre = off + (i + 0.5) * scale - 0.5; /* in source pixel indices */
        int lo = (int)floor(centre - support) + 1, hi = (int)ceil(centre + support) - 1;
        lo = lo < 0 ? 0 : lo;
        hi = hi > size - 1 ? size - 1 : hi;
        if (hi < lo)
            hi = lo = (int)fmin(fmax(round(centre), 0.0), size - 1.0);
        double sum = 0.0;
        float *w = a->w + (size_t)i * a->taps;
        int k = 0;
        for (int s = lo; s <= hi && k < a->taps; s++, k++) {
            const double t = 1.0 - fabs(s - centre) / support;
            w[k] = (float)(t > 0.0 ? t : 0.0);
            sum += w[k];
        }
        if (!(sum > 0.0)) { /* a sample between the taps' zeros: the nearest pixel */
            w[0] = 1.0f;
            k = 1;
            lo = (int)fmin(fmax(round(centre), 0.0), size - 1.0);
            sum = 1.0;
        }
        for (int j = 0; j < k; j++)
            w[j] = (float)(w[j] / sum);
        a->first[i] = lo;
        a->count[i] = k;
    }
    return DS_OK;
}

void ds_image_fit_default_size(int width, int height, int max_side, int even, int *out_w, int *out_h) {
    const int side = width > height ? width : height;
    double s = side > max_side ? (double)max_side / side : 1.0;
    int w = (int)floor(width * s + 0.5), h = (int)floor(height * s + 0.5);
    w = w < 2 ? 2 : w;
    h = h < 2 ? 2 : h;
    if (even) {
        w -= w % 2;
        h -= h % 2;
    }
    *out_w = w;
    *out_h = h;
}

typedef struct fit_job {
    const ds_image *src;
    ds_image *out;
    int width;
    const axis_taps *ax, *ay;
    float *rows; /* (src height, width, 3) */
} fit_job;

static void fit_row_h(void *ctx, int64_t y, int thread) {
    (void)thread;
    const fit_job *j = ctx;
    const axis_taps *ax = j->ax;
    for (int x = 0; x < j->width; x++) {
        const uint8_t *p = j->src->rgb + ((size_t)y * j->src->width + ax->first[x]) * 3;
        const float *w = ax->w + (size_t)x * ax->taps;
        float acc[3] = {0.0f, 0.0f, 0.0f};
        for (int k = 0; k < ax->count[x]; k++)
            for (int c = 0; c < 3; c++)
                acc[c] += w[k] * (float)p[k * 3 + c];
        memcpy(j->rows + ((size_t)y * j->width + x) * 3, acc, sizeof acc);
    }
}

static void fit_row_v(void *ctx, int64_t y, int thread) {
    (void)thread;
    const fit_job *j = ctx;
    const axis_taps *ay = j->ay;
    const int width = j->width;
    for (int x = 0; x < width; x++) {
        const float *w = ay->w + (size_t)y * ay->taps;
        float acc[3] = {0.0f, 0.0f, 0.0f};
        for (int k = 0; k < ay->count[y]; k++)
            for (int c = 0; c < 3; c++)
                acc[c] += w[k] * j->rows[((size_t)(ay->first[y] + k) * width + x) * 3 + c];
        for (int c = 0; c < 3; c++) {
            const float v = acc[c] < 0.0f ? 0.0f : acc[c] > 255.0f ? 255.0f : acc[c];
            j->out->rgb[((size_t)y * width + x) * 3 + c] = (uint8_t)(v + 0.5f);
        }
    }
}

ds_status ds_image_fit(const ds_image *src, int width, int height, ds_image *out) {
    memset(out, 0, sizeof *out);
    if (width < 1 || height < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "resample: a %dx%d frame", width, height);
    out->rgb = malloc((size_t)width * height * 3);
    if (!out->rgb)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "resample: out of memory for %dx%d", width, height);
    out->width = width;
    out->height = height;
    if (width == src->width && height == src->height) {
        memcpy(out->rgb, src->rgb, (size_t)width * height * 3);
        return DS_OK;
    }
    /* the centre crop with the frame's aspect ratio */
    double cw = src->width, ch = src->height;
    if (cw * height > ch * width)
        cw = ch * width / height;
    else
        ch = cw * height / width;
    axis_taps ax = {0}, ay = {0};
    float *rows = malloc((size_t)src->height * width * 3 * sizeof(float));
    ds_status s = rows ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "resample: out of memory");
    if (s == DS_OK)
        s = taps_make(width, 0.5 * (src->width - cw), cw, src->width, &ax);
    if (s == DS_OK)
        s = taps_make(height, 0.5 * (src->height - ch), ch, src->height, &ay);
    if (s != DS_OK) {
        free(rows);
        taps_free(&ax);
        taps_free(&ay);
        ds_image_free(out);
        return s;
    }
    /* horizontal: every source row to width samples; then vertical */
    fit_job j = {src, out, width, &ax, &ay, rows};
    ds_parallel_for(ds_cpus(), src->height, fit_row_h, &j);
    ds_parallel_for(ds_cpus(), height, fit_row_v, &j);
    free(rows);
    taps_free(&ax);
    taps_free(&ay);
    return DS_OK;
}
