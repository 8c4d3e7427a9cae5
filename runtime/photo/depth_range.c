/* depth_range.c: the range of a depth map, as run.py normalizes it. */
#include <math.h>
#include <stddef.h>

#include "base/cpus.h"  /* ds_cpus */
#include "base/pool.h"  /* ds_parallel_for */
#include "depthsolve.h" /* ds_depth_range */

/* Range of d[0..n) into lo/hi (widened, not reset). Eight running minima
 * and maxima, so that the compiler's vectorizer takes the loop (a single
 * float min/max reduction it may not reorder); v - v == 0 is false for
 * NaN and the infinities, which count as 0. */
static void widen_range(const float *d, size_t n, float *lo, float *hi) {
    float mn[8], mx[8];
    for (int j = 0; j < 8; j++) {
        mn[j] = *lo;
        mx[j] = *hi;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float v = d[i + j];
            v = v - v == 0.0f ? v : 0.0f;
            mn[j] = v < mn[j] ? v : mn[j];
            mx[j] = v > mx[j] ? v : mx[j];
        }
    for (; i < n; i++) {
        float v = d[i];
        v = v - v == 0.0f ? v : 0.0f;
        mn[0] = v < mn[0] ? v : mn[0];
        mx[0] = v > mx[0] ? v : mx[0];
    }
    for (int j = 0; j < 8; j++) {
        *lo = mn[j] < *lo ? mn[j] : *lo;
        *hi = mx[j] > *hi ? mx[j] : *hi;
    }
}

enum { PARTS = 64 }; /* the most parts a large map is split in */

typedef struct range_job {
    const float *d;
    size_t n, parts;
    float lo[PARTS], hi[PARTS];
} range_job;

static void range_part(void *ctx, int64_t t, int thread) {
    (void)thread;
    range_job *j = ctx;
    const size_t begin = j->n * (size_t)t / j->parts, end = j->n * ((size_t)t + 1) / j->parts;
    widen_range(j->d + begin, end - begin, &j->lo[t], &j->hi[t]);
}

void ds_depth_range(const float *d, size_t n, float *lo, float *hi) {
    /* a 12 MP map is 48 MB: worth the cores; small ones are not */
    const int threads = n > ((size_t)1 << 20) ? ds_cpus() : 1;
    range_job j = {.d = d, .n = n, .parts = (size_t)(threads < PARTS ? threads : PARTS)};
    for (size_t t = 0; t < j.parts; t++) {
        j.lo[t] = INFINITY;
        j.hi[t] = -INFINITY;
    }
    ds_parallel_for(threads, (int64_t)j.parts, range_part, &j);
    float mn = INFINITY, mx = -INFINITY;
    for (size_t t = 0; t < j.parts; t++) {
        mn = j.lo[t] < mn ? j.lo[t] : mn;
        mx = j.hi[t] > mx ? j.hi[t] : mx;
    }
    *lo = n ? mn : 0;
    *hi = n ? mx : 0;
}
