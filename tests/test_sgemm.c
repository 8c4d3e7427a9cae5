/*
 * test_sgemm.c: our AVX-512 sgemm (cpu/sgemm_avx512.c) against a plain
 * double-precision product on odd shapes: empty and single rows, columns
 * and inputs, partial 32-column panels, more than one 256-column block,
 * 192-input block and 64-product run; w stored (n, k) and (k, n); adding
 * nothing, y itself or a residual; bias and activation; y rows wider than
 * n. And the unpacked product of small operands (ds_sgemm_small_avx512),
 * and W packed once into panels against the per-call packing, bit for bit.
 * And the epilogues' activation on 16 lanes against the AVX2 one's bits,
 * their GELU against double erf, and the softmaxes' exp16 against exp8.
 * Skips on a CPU without AVX-512.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/blas.h"
#include "cpu/fast/fast.h" /* ds_vec_avx2 */
#include "cpu/isa.h"
#include "cpu/simd_avx512.h" /* ds_act16, ds_act8 */
#include "tests/op_check.h"
#include "tests/test.h"

/* NMSE limit: float32 sums of up to 300 products against double ones */
static const double LIMIT = 1e-12;

/* What is added to the products: nothing, y itself, or a residual r. */
enum { ADD_NONE, ADD_Y, ADD_R };

static double run_case(int64_t m, int64_t n, int64_t k, ds_w_layout layout, int add, int with_bias,
                       ds_act act, uint64_t seed) {
    const int64_t ldy = n + 3, ldr = n + 5; /* y rows wider than n: the columns past n stay as they were */
    float *x = op_guarded_alloc((size_t)(m * k + 1)), *w = op_guarded_alloc((size_t)(n * k + 1));
    float *b = op_guarded_alloc((size_t)n + 1), *y = op_guarded_alloc((size_t)(m * ldy + 1));
    float *r = op_guarded_alloc((size_t)(m * ldr + 1)), *buf = op_guarded_alloc(DS_SGEMM_BUF_FLOATS);
    double *want = malloc((size_t)(m * ldy + 1) * sizeof *want);
    op_random(x, (size_t)(m * k), seed, 1.0f);
    op_random(w, (size_t)(n * k), seed + 1, 1.0f / sqrtf((float)(k + 1)));
    op_random(b, (size_t)n, seed + 2, 0.5f);
    op_random(y, (size_t)(m * ldy), seed + 3, 1.0f);
    op_random(r, (size_t)(m * ldr), seed + 4, 1.0f);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldy; j++) {
            const double base = add == ADD_Y ? y[i * ldy + j] : add == ADD_R && j < n ? r[i * ldr + j] : 0.0;
            double v = j < n ? base + (with_bias ? b[j] : 0.0) : y[i * ldy + j];
            for (int64_t q = 0; j < n && q < k; q++)
                v += (double)x[i * k + q] * (layout == DS_W_NK ? w[j * k + q] : w[q * n + j]);
            want[i * ldy + j] = j < n ? ds_apply_act(act, (float)v) : v;
        }
    ds_sgemm_avx512(m, n, k, x, k, w, layout == DS_W_NK ? k : n, layout, y, ldy,
                    add == ADD_Y ? y : add == ADD_R ? r : NULL, add == ADD_R ? ldr : ldy, with_bias ? b : NULL,
                    act, buf);
    double err = 0, ref = 0;
    for (int64_t i = 0; i < m * ldy; i++) {
        err += (y[i] - want[i]) * (y[i] - want[i]);
        ref += want[i] * want[i];
    }
    const int ok = op_guards_intact(x, (size_t)(m * k + 1)) && op_guards_intact(y, (size_t)(m * ldy + 1)) &&
                   op_guards_intact(buf, DS_SGEMM_BUF_FLOATS) && op_guards_intact(r, (size_t)(m * ldr + 1));
    op_guarded_free(x);
    op_guarded_free(w);
    op_guarded_free(b);
    op_guarded_free(y);
    op_guarded_free(r);
    op_guarded_free(buf);
    free(want);
    return !ok ? INFINITY : ref > 0 ? err / ref : err;
}

TEST(sgemm_avx512_matches_double_products) {
    if (!ds_cpu_isa_supported(DS_ISA_AVX512)) {
        printf("SKIP sgemm_avx512_matches_double_products: this CPU lacks AVX-512\n");
        return;
    }
    static const int64_t shapes[][3] = {/* m, n, k */
                                        {1, 1, 1},   {1, 1, 0},   {7, 33, 65}, {9, 17, 3},
                                        {13, 300, 129}, {17, 64, 300}, {2, 257, 64}, {25, 31, 1}, {5, 40, 193}};
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_GELU, DS_ACT_RELU};
    double worst = 0;
    uint64_t seed = 7;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int v = 0; v < 12; v++) {
            const ds_w_layout layout = v & 1 ? DS_W_KN : DS_W_NK;
            const int with_bias = (v >> 1) & 1, add = v >> 2; /* ADD_NONE, ADD_Y, ADD_R */
            const ds_act act = acts[(s + (size_t)v) % 3];
            const double e = run_case(shapes[s][0], shapes[s][1], shapes[s][2], layout, add, with_bias, act,
                                      seed += 5);
            worst = e > worst ? e : worst;
            CHECK_MSG(e <= LIMIT, "m %lld n %lld k %lld layout %d add %d bias %d act %d: NMSE %.3g",
                      (long long)shapes[s][0], (long long)shapes[s][1], (long long)shapes[s][2], (int)layout,
                      add, with_bias, (int)act, e);
        }
    printf("    sgemm worst NMSE %.2e\n", worst);
}

/* c = a b with a, b and c rows wider than the product: nothing outside it is read or written. */
TEST(sgemm_small_avx512_matches_double_products) {
    if (!ds_cpu_isa_supported(DS_ISA_AVX512)) {
        printf("SKIP sgemm_small_avx512_matches_double_products: this CPU lacks AVX-512\n");
        return;
    }
    static const int64_t shapes[][3] = {{1, 1, 1}, {64, 144, 32}, {7, 35, 3}, {9, 17, 0}, {13, 16, 577}, {3, 33, 5}};
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        const int64_t lda = k + 2, ldb = n + 5, ldc = n + 3;
        const size_t na = (size_t)(m * lda) + 1, nb = (size_t)(k * ldb) + 1, nc = (size_t)(m * ldc) + 1;
        float *a = op_guarded_alloc(na), *b = op_guarded_alloc(nb), *c = op_guarded_alloc(nc);
        op_random(a, na, 11 + s, 1.0f);
        op_random(b, nb, 23 + s, 1.0f);
        op_random(c, nc, 37 + s, 1.0f);
        double *want = malloc(nc * sizeof *want);
        for (size_t i = 0; i < nc; i++)
            want[i] = c[i];
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double v = 0;
                for (int64_t q = 0; q < k; q++)
                    v += (double)a[i * lda + q] * b[q * ldb + j];
                want[i * ldc + j] = v;
            }
        ds_sgemm_small_avx512(m, n, k, a, lda, b, ldb, c, ldc);
        double err = 0, ref = 0;
        for (size_t i = 0; i < nc; i++) {
            err += (c[i] - want[i]) * (c[i] - want[i]);
            ref += want[i] * want[i];
        }
        const double e = op_guards_intact(c, nc) ? err / ref : INFINITY;
        worst = e > worst ? e : worst;
        CHECK_MSG(e <= LIMIT, "m %lld n %lld k %lld: NMSE %.3g", (long long)m, (long long)n, (long long)k, e);
        op_guarded_free(a);
        op_guarded_free(b);
        op_guarded_free(c);
        free(want);
    }
    printf("    small sgemm worst NMSE %.2e\n", worst);
}

/* W packed whole (ds_sgemm_pack_panels_avx512) gives ds_sgemm_avx512's bits:
 * from a panel past the first (a task's columns), over the first k of kp
 * inputs (the readout's folded half), storing and accumulating; few rows
 * (each panel streamed whole) and many (blocks of 192 inputs). */
TEST(sgemm_panels_give_the_packed_per_call_bits) {
    if (!ds_cpu_isa_supported(DS_ISA_AVX512)) {
        printf("SKIP sgemm_panels_give_the_packed_per_call_bits: this CPU lacks AVX-512\n");
        return;
    }
    static const int64_t shapes[][5] = {/* m, n (all), k (run), kp (packed), c0 (first column) */
                                        {1, 1, 1, 1, 0},   {7, 33, 65, 65, 32},      {13, 300, 200, 400, 32},
                                        {9, 17, 3, 8, 0},  {25, 600, 193, 193, 288}, {6, 64, 0, 5, 32},
                                        /* past the rows read panel by panel in memory order */
                                        {263, 70, 400, 401, 32}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        const int64_t kp = shapes[s][3], c0 = shapes[s][4];
        const int64_t nc = n - c0; /* this call's columns */
        float *x = op_guarded_alloc((size_t)(m * kp + 1)), *w = op_guarded_alloc((size_t)(n * kp + 1));
        float *b = op_guarded_alloc((size_t)n + 1), *y0 = op_guarded_alloc((size_t)(m * nc + 1));
        float *y1 = op_guarded_alloc((size_t)(m * nc + 1)), *buf = op_guarded_alloc(DS_SGEMM_BUF_FLOATS);
        float *panels = op_guarded_alloc(ds_sgemm_panels_floats(n, kp));
        op_random(x, (size_t)(m * kp), 90 + s, 1.0f);
        op_random(w, (size_t)(n * kp), 91 + s, 0.1f);
        op_random(b, (size_t)n, 92 + s, 0.5f);
        ds_sgemm_pack_panels_avx512(w, n, kp, panels);
        for (int accumulate = 0; accumulate < 2; accumulate++) {
            op_random(y0, (size_t)(m * nc), 93 + s, 1.0f);
            op_random(y1, (size_t)(m * nc), 93 + s, 1.0f);
            ds_sgemm_avx512(m, nc, k, x, kp, w + c0 * kp, kp, DS_W_NK, y0, nc, accumulate ? y0 : NULL, nc,
                            b + c0, DS_ACT_GELU, buf);
            ds_sgemm_panels_avx512(m, nc, k, x, kp, panels + c0 * kp, kp, y1, nc, accumulate ? y1 : NULL, nc,
                                   b + c0, DS_ACT_GELU);
            CHECK_MSG(memcmp(y0, y1, (size_t)(m * nc) * sizeof *y0) == 0,
                      "m %lld n %lld k %lld kp %lld c0 %lld accumulate %d: the panels give other bits",
                      (long long)m, (long long)n, (long long)k, (long long)kp, (long long)c0, accumulate);
            CHECK(op_guards_intact(y1, (size_t)(m * nc + 1)));
        }
        CHECK(op_guards_intact(panels, ds_sgemm_panels_floats(n, kp)));
        op_guarded_free(x);
        op_guarded_free(w);
        op_guarded_free(b);
        op_guarded_free(y0);
        op_guarded_free(y1);
        op_guarded_free(buf);
        op_guarded_free(panels);
    }
}

/* y16 = ds_act16(x), y8 = ds_act8(x), n a multiple of 16 */
static DS_AVX512 void act_both(ds_act act, const float *x, float *y16, float *y8, int n) {
    for (int i = 0; i < n; i += 16) {
        _mm512_storeu_ps(y16 + i, ds_act16(act, _mm512_loadu_ps(x + i)));
        _mm256_storeu_ps(y8 + i, ds_act8(act, _mm256_loadu_ps(x + i)));
        _mm256_storeu_ps(y8 + i + 8, ds_act8(act, _mm256_loadu_ps(x + i + 8)));
    }
}

/* Every activation over [-8, 8] every 2^-12, and the specials, bit for bit
 * (GELU has its own 16-lane form, the others run as two halves). */
TEST(act16_gives_act8_bits) {
    if (!ds_cpu_isa_supported(DS_ISA_AVX512)) {
        printf("SKIP act16_gives_act8_bits: this CPU lacks AVX-512\n");
        return;
    }
    enum { N = 16 * 4096 + 16 };
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_RELU,    DS_ACT_RELU6, DS_ACT_HARDSWISH,
                                  DS_ACT_GELU, DS_ACT_SIGMOID, DS_ACT_EXP,   DS_ACT_EXP1};
    float *x = malloc(N * sizeof *x), *y16 = malloc(N * sizeof *y16), *y8 = malloc(N * sizeof *y8);
    CHECK(x && y16 && y8);
    for (int i = 0; i < N - 16; i++)
        x[i] = -8.0f + (float)i * 0x1p-12f;
    const float special[16] = {0.0f, -0.0f, 1e-30f, -1e-30f, INFINITY, -INFINITY, NAN, -NAN,
                               1.0f, -1.0f, 0.99999994f, 4.0f, 1e30f, -1e30f, 3.5f, -2.25f};
    for (int i = 0; i < 16; i++)
        x[N - 16 + i] = special[i];
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        act_both(acts[a], x, y16, y8, N);
        int differ = 0;
        for (int i = 0; i < N; i++)
            differ += memcmp(&y16[i], &y8[i], sizeof(float)) != 0;
        CHECK_MSG(differ == 0, "act %d: %d of %d values differ", (int)acts[a], differ, N);
    }
    free(x);
    free(y16);
    free(y8);
}

/* GELU over [-12, 12] every 2^-14 and the specials against double erf: the
 * epilogues' ds_act8/ds_act16 (cpu/simd_avx2.h, DS_GELU_R), one bound
 * relative to |v| (their erf is within 6.1e-8 absolute and 1 + erf rounds
 * once). A wrong piece or coefficient is off by 1e-3 or more. */
static DS_AVX2 void gelu8(const float *x, float *y, int n) {
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(y + i, ds_act8(DS_ACT_GELU, _mm256_loadu_ps(x + i)));
}

TEST(gelu_is_accurate) {
    if (!ds_cpu_isa_supported(DS_ISA_AVX2)) {
        printf("SKIP gelu_is_accurate: this CPU lacks AVX2\n");
        return;
    }
    enum { N = 24 * 16384 + 8 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    CHECK(x && y);
    for (int i = 0; i < N - 8; i++)
        x[i] = -12.0f + (float)i * 0x1p-14f;
    const float special[8] = {0.0f, -0.0f, 1e-30f, -1e-30f, INFINITY, NAN, 1e30f, -1e30f};
    for (int i = 0; i < 8; i++)
        x[N - 8 + i] = special[i];
    gelu8(x, y, N);
    double worst_rel = 0;
    for (int i = 0; i < N - 8; i++) {
        const double v = x[i], want = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        const double rel = v != 0 ? fabs(y[i] - want) / fabs(v) : fabs(y[i]);
        worst_rel = rel > worst_rel ? rel : worst_rel;
    }
    printf("    gelu: max |error| / |v| %.2e\n", worst_rel);
    /* measured 1.0e-7 */
    CHECK_MSG(worst_rel < 1.5e-7, "GELU error %.3g |v|", worst_rel);
    const float *s = y + N - 8;
    CHECK(s[0] == 0.0f && !signbit(s[0]) && s[1] == 0.0f && signbit(s[1]));
    CHECK(fabsf(s[2] - 0.5e-30f) < 1e-37f && fabsf(s[3] + 0.5e-30f) < 1e-37f);
    CHECK(s[4] == INFINITY && isnan(s[5]) && s[6] == 1e30f && s[7] == 0.0f);
    free(x);
    free(y);
}

/* The softmaxes' ds_exp16 against exp8's bits (the AVX2 exp_sum, whose row
 * maximum is 0 here, so it returns exp8(x) itself) over [-100, 0] every
 * 2^-12: results down to the clamp at -87.3 (e^-87.3, just above FLT_MIN),
 * and -0. */
static DS_AVX512 void exp16_all(const float *x, float *y, int n) {
    for (int i = 0; i < n; i += 16)
        _mm512_storeu_ps(y + i, ds_exp16(_mm512_loadu_ps(x + i)));
}

TEST(exp16_gives_exp8_bits) {
    const ds_vec_ops *avx2 = ds_vec_avx2();
    if (!ds_cpu_isa_supported(DS_ISA_AVX512) || !avx2) {
        printf("SKIP exp16_gives_exp8_bits: this CPU lacks AVX-512\n");
        return;
    }
    enum { N = 100 * 4096 + 16 };
    float *x = malloc(N * sizeof *x), *y16 = malloc(N * sizeof *y16), *y8 = malloc(N * sizeof *y8);
    CHECK(x && y16 && y8);
    for (int i = 0; i < N; i++)
        x[i] = i < 100 * 4096 ? -(float)i * 0x1p-12f : -0.0f;
    memcpy(y8, x, N * sizeof *x);
    avx2->exp_sum(y8, N); /* x[0] = 0 is the maximum */
    exp16_all(x, y16, N);
    int differ = 0;
    for (int i = 0; i < N; i++)
        differ += memcmp(&y16[i], &y8[i], sizeof(float)) != 0;
    CHECK_MSG(differ == 0, "%d of %d values differ", differ, N);
    CHECK(y16[100 * 4096 - 1] > 1.2e-38f && y16[100 * 4096 - 1] < 1.23e-38f); /* -99.99...: clamped to e^-87.3 */
    free(x);
    free(y16);
    free(y8);
}

int main(void) {
    RUN(sgemm_avx512_matches_double_products);
    RUN(sgemm_small_avx512_matches_double_products);
    RUN(sgemm_panels_give_the_packed_per_call_bits);
    RUN(act16_gives_act8_bits);
    RUN(gelu_is_accurate);
    RUN(exp16_gives_exp8_bits);
    return test_summary();
}
