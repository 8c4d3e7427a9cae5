/*
 * test_sgemm_bf16.c: precision bf16 on the CPU. The bf16 GEMM
 * (cpu/sgemm_bf16_avx512.c) against double products of the operands
 * rounded to bfloat16 here (nearest even): a float32-sized error when the
 * rounding and the packing are right, a bf16-sized one (10^6 times larger)
 * when either is not. Odd shapes: single rows, columns and inputs, an odd
 * input count (the last pair half zero), partial 32-output panels, more than
 * one block of 192 pairs and of 576 rows; adding nothing, y itself or a
 * residual; bias and activation; y rows wider than n. Then a bf16 engine
 * against the float32 one and PyTorch's output on a ViT network, and the
 * engines it refuses (LeViT's, whose error would be a quarter of the range). Skips where the CPU lacks AVX512-BF16.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h" /* ds_f32_to_bf16, ds_bf16_to_f32 */
#include "cpu/blas.h"
#include "cpu/isa.h"
#include "depthsolve.h"
#include "src/io/npy.h" /* ds_npy_read */
#include "tests/op_check.h"
#include "tests/test.h"

/* NMSE limit against the rounded operands' double products: float32 sums
 * of up to 1001 products; a bf16 rounding error is ~1e-6 */
static const double LIMIT = 1e-11;

enum { ADD_NONE, ADD_Y, ADD_R };

/* f rounded to bfloat16, to nearest even */
static float bf16(float f) { return ds_bf16_to_f32(ds_f32_to_bf16(f)); }

static int skip(const char *test) {
    if (ds_cpu_has_bf16() && ds_cpu_isa_supported(DS_ISA_AVX512))
        return 0;
    printf("SKIP %s: this CPU lacks AVX512-BF16\n", test);
    return 1;
}

/* NMSE of the bf16 GEMM against double products of rounded (round = 1) or
 * unrounded operands. */
static double run_case(int64_t m, int64_t n, int64_t k, int add, int with_bias, ds_act act, int round,
                       uint64_t seed) {
    const int64_t ldy = n + 3, ldr = n + 5, pairs = (k + 1) / 2;
    const size_t panel_words = ds_sgemm_bf16_panels_bytes(n, k) / sizeof(uint32_t);
    float *x = op_guarded_alloc((size_t)(m * k + 1)), *w = op_guarded_alloc((size_t)(n * k + 1));
    float *b = op_guarded_alloc((size_t)n + 1), *y = op_guarded_alloc((size_t)(m * ldy + 1));
    float *r = op_guarded_alloc((size_t)(m * ldr + 1)), *buf = op_guarded_alloc(DS_SGEMM_BF16_BUF_WORDS);
    float *panels = op_guarded_alloc(panel_words + 1);
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
                v += round ? (double)bf16(x[i * k + q]) * bf16(w[j * k + q]) : (double)x[i * k + q] * w[j * k + q];
            want[i * ldy + j] = j < n ? ds_apply_act(act, (float)v) : v;
        }
    ds_sgemm_bf16_pack_panels(w, n, k, (uint32_t *)panels);
    ds_sgemm_bf16_panels(m, n, k, x, k, (const uint32_t *)panels, pairs, y, ldy,
                         add == ADD_Y ? y : add == ADD_R ? r : NULL, add == ADD_R ? ldr : ldy, with_bias ? b : NULL,
                         act, (uint32_t *)buf);
    double err = 0, ref = 0;
    for (int64_t i = 0; i < m * ldy; i++) {
        err += (y[i] - want[i]) * (y[i] - want[i]);
        ref += want[i] * want[i];
    }
    const int ok = op_guards_intact(x, (size_t)(m * k + 1)) && op_guards_intact(y, (size_t)(m * ldy + 1)) &&
                   op_guards_intact(buf, DS_SGEMM_BF16_BUF_WORDS) && op_guards_intact(r, (size_t)(m * ldr + 1)) &&
                   op_guards_intact(panels, panel_words + 1);
    op_guarded_free(x);
    op_guarded_free(w);
    op_guarded_free(b);
    op_guarded_free(y);
    op_guarded_free(r);
    op_guarded_free(buf);
    op_guarded_free(panels);
    free(want);
    return !ok ? INFINITY : ref > 0 ? err / ref : err;
}

TEST(sgemm_bf16_matches_double_products_of_rounded_operands) {
    if (skip("sgemm_bf16_matches_double_products_of_rounded_operands"))
        return;
    static const int64_t shapes[][3] = {/* m, n, k */
                                        {1, 1, 1},     {1, 1, 0},    {7, 33, 65},  {9, 17, 3},   {13, 300, 129},
                                        {17, 64, 385}, {2, 257, 64}, {25, 31, 1},  {5, 40, 193}, {583, 37, 7},
                                        {3, 65, 1001}};
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_GELU, DS_ACT_RELU};
    double worst = 0, worst_unrounded = 0;
    uint64_t seed = 11;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int v = 0; v < 6; v++) {
            const int with_bias = v & 1, add = v >> 1; /* ADD_NONE, ADD_Y, ADD_R */
            const ds_act act = acts[(s + (size_t)v) % 3];
            const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const double e = run_case(m, n, k, add, with_bias, act, 1, seed += 5);
            worst = e > worst ? e : worst;
            CHECK_MSG(e <= LIMIT, "m %lld n %lld k %lld add %d bias %d act %d: NMSE %.3g", (long long)m,
                      (long long)n, (long long)k, add, with_bias, (int)act, e);
            if (k >= 64 && add == ADD_NONE && !with_bias) { /* against float32 operands: bf16's own error */
                const double u = run_case(m, n, k, add, with_bias, DS_ACT_NONE, 0, seed);
                worst_unrounded = u > worst_unrounded ? u : worst_unrounded;
                CHECK_MSG(u > 1e-8 && u < 1e-4, "m %lld n %lld k %lld: NMSE %.3g against float32 operands",
                          (long long)m, (long long)n, (long long)k, u);
            }
        }
    printf("    bf16 sgemm worst NMSE %.2e against rounded operands, %.2e against float32 ones\n", worst,
           worst_unrounded);
}

/* A bf16 engine against the float32 one and against PyTorch float32 on
 * Depth Anything V2 ViT-S (its linear layers are most of the work). */
TEST(bf16_engine_close_to_fp32) {
    if (skip("bf16_engine_close_to_fp32"))
        return;
    enum { H = 70, W = 98 };
    const char *arch = "depth_anything_v2_vits", *dir = "tests/data/reference/depth_anything_v2_vits/net_70x98";
    char path[256];
    snprintf(path, sizeof path, "%s/input.npy", dir);
    ds_npy x, torch;
    CHECK_OK(ds_npy_read(path, &x));
    snprintf(path, sizeof path, "%s/output.npy", dir);
    CHECK_OK(ds_npy_read(path, &torch));
    static float d32[H * W], d16[H * W];
    for (int bf = 0; bf < 2; bf++) {
        ds_engine *e;
        CHECK_OK(test_open_engine(arch, DS_DEVICE_CPU, 0, bf ? DS_PRECISION_BF16 : DS_PRECISION_FP32, &e));
        ds_status s = ds_engine_run(e, x.data, H, W, bf ? d16 : d32);
        ds_engine_free(e);
        CHECK_OK(s);
    }
    const double e32 = op_rel_l2(d32, torch.data, H * W), e16 = op_rel_l2(d16, d32, H * W);
    const double e16t = op_rel_l2(d16, torch.data, H * W);
    printf("    %s %dx%d: bf16 rel L2 %.3g against fp32, %.3g against PyTorch (fp32 %.3g)\n", arch, H, W, e16,
           e16t, e32);
    CHECK_MSG(e32 <= 1e-4, "fp32 rel L2 %.3g against PyTorch", e32);
    CHECK_MSG(e16 > 1e-5, "bf16 gave fp32's result (rel L2 %.3g): its kernels did not run", e16);
    CHECK_MSG(e16 < 3e-2, "bf16 rel L2 %.3g against fp32", e16);
    ds_npy_free(&x);
    ds_npy_free(&torch);
}

/* bf16 needs AVX512-BF16 and runs on the AVX-512 kernels: anything else is
 * refused in one line that says why. */
TEST(bf16_refused_where_it_cannot_run) {
    ds_engine_params p = ds_engine_default_params();
    p.device = DS_DEVICE_CPU;
    p.precision = DS_PRECISION_BF16;
    ds_engine *e = NULL;
    if (!ds_cpu_has_bf16()) {
        ds_status s = test_create_engine("midas_v21_small_256", &p, &e);
        ds_engine_free(e);
        CHECK(s == DS_ERR_UNSUPPORTED);
        CHECK(!strchr(ds_last_error(), '\n'));
        CHECK_MSG(strstr(ds_last_error(), "needs AVX512-BF16, which this CPU lacks"), "%s", ds_last_error());
        return;
    }
    ds_status s = test_create_engine("dpt_levit_224", &p, &e); /* its numbers do not survive bf16 */
    ds_engine_free(e);
    CHECK(s == DS_ERR_UNSUPPORTED);
    CHECK(!strchr(ds_last_error(), '\n'));
    CHECK_MSG(strstr(ds_last_error(), "dpt_levit_224.gguf: precision bf16: its third stage"), "%s", ds_last_error());
    p.reference = 1;
    e = NULL;
    s = test_create_engine("midas_v21_small_256", &p, &e);
    ds_engine_free(e);
    CHECK(s == DS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(ds_last_error(), "not on the reference ops"), "%s", ds_last_error());
    p.reference = 0;
    setenv("DS_CPU_ISA", "avx2", 1);
    e = NULL;
    s = test_create_engine("midas_v21_small_256", &p, &e);
    unsetenv("DS_CPU_ISA");
    ds_engine_free(e);
    CHECK(s == DS_ERR_UNSUPPORTED);
    CHECK(!strchr(ds_last_error(), '\n'));
    CHECK_MSG(strstr(ds_last_error(), "runs on the AVX-512 kernels, not on avx2"), "%s", ds_last_error());
    char why[64];
    CHECK_OK(ds_cpu_isa_select(why, sizeof why)); /* back to the default */
}

int main(void) {
    RUN(sgemm_bf16_matches_double_products_of_rounded_operands);
    RUN(bf16_engine_close_to_fp32);
    RUN(bf16_refused_where_it_cannot_run);
    return test_summary();
}
