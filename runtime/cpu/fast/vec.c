/* cpu/fast/vec.c: the portable row primitives, and the choice between them and AVX2. */
#include <math.h>

#include "cpu/fast/fast.h"
#include "cpu/isa.h" /* ds_cpu_isa_active */

static void add_act_c(float *y, const float *a, const float *b, const float *c, size_t n,
                      ds_act act) {
    for (size_t i = 0; i < n; i++) {
        float v = a[i];
        if (b)
            v += b[i];
        if (c)
            v += c[i];
        y[i] = ds_apply_act(act, v);
    }
}

static void erf_c(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        y[i] = erff(x[i]);
}

static float exp_sum_c(float *s, size_t n) {
    float mx = s[0], sum = 0.0f;
    for (size_t i = 1; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    for (size_t i = 0; i < n; i++)
        sum += (s[i] = expf(s[i] - mx));
    return sum;
}

static void scale_c(float *y, size_t n, float a) {
    for (size_t i = 0; i < n; i++)
        y[i] *= a;
}

/* The mean goes in as hi + lo floats: rounded to one float, its error would
 * be divided by the standard deviation, large where that is small. */
static void layernorm_c(float *y, const float *x, const float *w, const float *b, size_t n,
                        float eps) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    const double mean = sum / (double)n;
    const float hi = (float)mean, lo = (float)(mean - hi);
    for (size_t i = 0; i < n; i++) {
        float d = (x[i] - hi) - lo;
        sq += (double)d * d;
    }
    const float inv = (float)(1.0 / sqrt(sq / (double)n + eps));
    for (size_t i = 0; i < n; i++)
        y[i] = ((x[i] - hi) - lo) * inv * w[i] + b[i];
}

static void chan_stats_c(double *sum, double *sq, const float *x, size_t pixels, size_t n) {
    for (size_t p = 0; p < pixels; p++)
        for (size_t k = 0; k < n; k++) {
            double v = x[p * n + k];
            sum[k] += v;
            sq[k] += v * v;
        }
}

static void norm_apply_c(float *y, const float *x, const float *r, const float *mean,
                         const float *scale, const float *shift, size_t n, ds_act act) {
    for (size_t k = 0; k < n; k++) {
        float v = (x[k] - mean[k]) * scale[k] + shift[k];
        if (r)
            v += r[k];
        y[k] = ds_apply_act(act, v);
    }
}

static void bilinear_c(float *y, const float *p00, const float *p01, const float *p10,
                       const float *p11, float fx, float fy, size_t n) {
    for (size_t k = 0; k < n; k++)
        y[k] = (1.0f - fy) * ((1.0f - fx) * p00[k] + fx * p01[k]) +
               fy * ((1.0f - fx) * p10[k] + fx * p11[k]);
}

static const ds_vec_ops portable = {
    .add_act = add_act_c,
    .erf = erf_c,
    .exp_sum = exp_sum_c,
    .scale = scale_c,
    .layernorm = layernorm_c,
    .chan_stats = chan_stats_c,
    .norm_apply = norm_apply_c,
    .bilinear = bilinear_c,
};

const ds_vec_ops *ds_vec_portable(void) { return &portable; }

const ds_vec_ops *ds_vec_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &ds_vec_avx2_ops
                                                                           : NULL;
}

static int force_portable;

void ds_vec_force_portable(int on) { force_portable = on; }

const ds_vec_ops *ds_vec(void) {
    const ds_vec_ops *v =
        force_portable || ds_cpu_isa_active() < DS_ISA_AVX2 ? NULL : ds_vec_avx2();
    return v ? v : &portable;
}

int ds_fast_avx512(void) { return !force_portable && ds_cpu_isa_active() >= DS_ISA_AVX512; }

int ds_fast_threads(const ds_cpu_op *op, double work) {
    /* below ~32K floats a loop is done before the other threads wake up */
    int n = op->ctx->n_threads;
    return work < 32768.0 || n < 1 ? 1 : n;
}

int ds_fast_scratch_threads(const ds_cpu_op *op, size_t per_thread, int64_t tasks) {
    int64_t n = op->ctx->n_threads;
    const size_t fit = op->ctx->scratch_bytes / sizeof(float) / per_thread;
    if ((size_t)n > fit)
        n = (int64_t)fit;
    if (n > tasks)
        n = tasks;
    return n < 1 ? 1 : (int)n;
}
