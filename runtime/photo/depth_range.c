/* depth_range.c: the range of a depth map, as run.py normalizes it. */
#include <math.h>
#include <omp.h>
#include <stddef.h>

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

void ds_depth_range(const float *d, size_t n, float *lo, float *hi) {
    float mn = INFINITY, mx = -INFINITY;
    /* a 12 MP map is 48 MB: worth the cores; small ones are not */
#pragma omp parallel if (n > ((size_t)1 << 20))
    {
        const size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        const size_t begin = n * t / nt, end = n * (t + 1) / nt;
        float a = INFINITY, b = -INFINITY;
        widen_range(d + begin, end - begin, &a, &b);
#pragma omp critical(ds_depth_range)
        {
            mn = a < mn ? a : mn;
            mx = b > mx ? b : mx;
        }
    }
    *lo = n ? mn : 0;
    *hi = n ? mx : 0;
}
