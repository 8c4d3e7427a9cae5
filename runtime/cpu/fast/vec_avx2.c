/*
 * cpu/fast/vec_avx2.c: the row primitives of cpu/fast/fast.h in AVX2+FMA, 8 floats
 * a step; a tail shorter than 8 goes through masked loads and stores, so
 * every element sees the same arithmetic.
 *
 * erf (ds_erf8, cpu/simd_avx2.h) and exp (cpu/fast/fast_avx2.h) are polynomial
 * approximations whose coefficients were fitted by scripts/fit_vec_math.py.
 * Measured over dense sweeps: exp within 0.7 ulp over [-87.3, 88], erf
 * within 7e-8 absolute (tests/test_ops_vit.c checks both).
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/fast/fast.h"
#include "cpu/fast/fast_avx2.h" /* exp8, tail masks */
#include "cpu/simd_avx2.h"    /* ds_act8, ds_erf8 */

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 sum3(const float *a, const float *b, const float *c, size_t i) {
    __m256 v = _mm256_loadu_ps(a + i);
    if (b)
        v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
    if (c)
        v = _mm256_add_ps(v, _mm256_loadu_ps(c + i));
    return v;
}

static void add_act_avx2(float *y, const float *a, const float *b, const float *c, size_t n,
                         ds_act act) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, ds_act8(act, sum3(a, b, c, i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 v = load_tail(a + i, m);
        if (b)
            v = _mm256_add_ps(v, load_tail(b + i, m));
        if (c)
            v = _mm256_add_ps(v, load_tail(c + i, m));
        _mm256_maskstore_ps(y + i, m, ds_act8(act, v));
    }
}

static void erf_avx2(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, ds_erf8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, ds_erf8(load_tail(x + i, m)));
    }
}

static float exp_sum_avx2(float *s, size_t n) {
    __m256 mx = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        mx = _mm256_max_ps(mx, _mm256_loadu_ps(s + i));
    float m = hmax(mx);
    for (; i < n; i++)
        m = s[i] > m ? s[i] : m;
    const __m256 vm = _mm256_set1_ps(m);
    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + i), vm));
        _mm256_storeu_ps(s + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (i < n) {
        __m256i msk = tail_mask(n - i);
        __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(load_tail(s + i, msk), vm)),
                                 _mm256_castsi256_ps(msk));
        _mm256_maskstore_ps(s + i, msk, e);
        sum = _mm256_add_ps(sum, e);
    }
    return hsum(sum);
}

static void scale_avx2(float *y, size_t n, float a) {
    const __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), va));
    for (; i < n; i++)
        y[i] *= a;
}

/* The mean as hi + lo floats, as in the portable version. */
static void layernorm_avx2(float *y, const float *x, const float *w, const float *b, size_t n,
                           float eps) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    double sum = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        sum += x[i];
    const double mean = sum / (double)n;
    const float hi = (float)mean, lo = (float)(mean - hi);
    const __m256 vhi = _mm256_set1_ps(hi), vlo = _mm256_set1_ps(lo);
    s0 = s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vhi), vlo);
        __m256 d1 = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vhi), vlo);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    double sq = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++) {
        float d = (x[i] - hi) - lo;
        sq += (double)d * d;
    }
    const __m256 vi = _mm256_set1_ps((float)(1.0 / sqrt(sq / (double)n + eps)));
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vhi), vlo);
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_mul_ps(d, vi), _mm256_loadu_ps(w + i),
                                                _mm256_loadu_ps(b + i)));
    }
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 d = _mm256_sub_ps(_mm256_sub_ps(load_tail(x + i, m), vhi), vlo);
        _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(_mm256_mul_ps(d, vi), load_tail(w + i, m),
                                                      load_tail(b + i, m)));
    }
}

static void chan_stats_avx2(double *sum, double *sq, const float *x, size_t pixels, size_t n) {
    for (size_t p = 0; p < pixels; p++) {
        const float *row = x + p * n;
        size_t k = 0;
        for (; k + 4 <= n; k += 4) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(row + k));
            _mm256_storeu_pd(sum + k, _mm256_add_pd(_mm256_loadu_pd(sum + k), v));
            _mm256_storeu_pd(sq + k, _mm256_fmadd_pd(v, v, _mm256_loadu_pd(sq + k)));
        }
        for (; k < n; k++) {
            double v = row[k];
            sum[k] += v;
            sq[k] += v * v;
        }
    }
}

static inline __m256 norm8(__m256 x, __m256 mean, __m256 scale, __m256 shift) {
    return _mm256_fmadd_ps(_mm256_sub_ps(x, mean), scale, shift);
}

static void norm_apply_avx2(float *y, const float *x, const float *r, const float *mean,
                            const float *scale, const float *shift, size_t n, ds_act act) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = norm8(_mm256_loadu_ps(x + k), _mm256_loadu_ps(mean + k),
                         _mm256_loadu_ps(scale + k), _mm256_loadu_ps(shift + k));
        if (r)
            v = _mm256_add_ps(v, _mm256_loadu_ps(r + k));
        _mm256_storeu_ps(y + k, ds_act8(act, v));
    }
    if (k < n) {
        __m256i m = tail_mask(n - k);
        __m256 v = norm8(load_tail(x + k, m), load_tail(mean + k, m), load_tail(scale + k, m),
                         load_tail(shift + k, m));
        if (r)
            v = _mm256_add_ps(v, load_tail(r + k, m));
        _mm256_maskstore_ps(y + k, m, ds_act8(act, v));
    }
}

/* mul and add kept apart (no FMA): the same roundings as the reference */
static inline __m256 blend8(__m256 p00, __m256 p01, __m256 p10, __m256 p11, __m256 gx, __m256 fx,
                            __m256 gy, __m256 fy) {
    __m256 top = _mm256_add_ps(_mm256_mul_ps(gx, p00), _mm256_mul_ps(fx, p01));
    __m256 bot = _mm256_add_ps(_mm256_mul_ps(gx, p10), _mm256_mul_ps(fx, p11));
    return _mm256_add_ps(_mm256_mul_ps(gy, top), _mm256_mul_ps(fy, bot));
}

static void bilinear_avx2(float *y, const float *p00, const float *p01, const float *p10,
                          const float *p11, float fx, float fy, size_t n) {
    const __m256 vfx = _mm256_set1_ps(fx), vgx = _mm256_set1_ps(1.0f - fx);
    const __m256 vfy = _mm256_set1_ps(fy), vgy = _mm256_set1_ps(1.0f - fy);
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(y + k, blend8(_mm256_loadu_ps(p00 + k), _mm256_loadu_ps(p01 + k),
                                       _mm256_loadu_ps(p10 + k), _mm256_loadu_ps(p11 + k), vgx,
                                       vfx, vgy, vfy));
    if (k < n) {
        __m256i m = tail_mask(n - k);
        _mm256_maskstore_ps(y + k, m, blend8(load_tail(p00 + k, m), load_tail(p01 + k, m),
                                             load_tail(p10 + k, m), load_tail(p11 + k, m), vgx,
                                             vfx, vgy, vfy));
    }
}

const ds_vec_ops ds_vec_avx2_ops = {
    .add_act = add_act_avx2,
    .erf = erf_avx2,
    .exp_sum = exp_sum_avx2,
    .scale = scale_avx2,
    .layernorm = layernorm_avx2,
    .chan_stats = chan_stats_avx2,
    .norm_apply = norm_apply_avx2,
    .bilinear = bilinear_avx2,
};
