/*
 * test_backend_cuda.c: the networks on the CUDA backend through the public engine API,
 * under the CPU emulation (cuda-emu) in `make test`, and on a GPU (cuda)
 * in `make test-gpu` (DS_TEST_DEVICE=cuda; skipped, saying so, without
 * one), on the synthetic-weight models:
 *  - each of the four networks (and BEiT-B; the two BEiT-L with
 *    DS_TEST_SLOW=1) against the PyTorch dumps of
 *    tests/data/reference/<model>/net_64x96 at every stage and the output,
 *    and the whole photo path (pipeline_211x157: resizes on the device)
 *    against run.py's depth; dpt_levit_224's net_224x224 in the plain
 *    build (its bounds: tests/ref_case.h); with DS_TEST_SLOW=1 the Swin
 *    networks at their one size too (net_384x384, net_256x256: minutes each
 *    under emulation; make test runs Swin2-T's backbone,
 *    tests/test_backend_swin.c);
 *  - the emulated backend against the CPU backend on the same input
 *    (BEiT-L 512 at 32x48 in the plain build, BEiT-B under ASan, BEiT-L
 *    384 with DS_TEST_SLOW=1: a relative position bias resized per block);
 *  - --precision fp16 (half operands, rounded under emulation as on the
 *    GPU) and tf32 (operands cut as tensor cores read them) on each
 *    network's net_64x96: the error against PyTorch is reported and bounded
 *    (below), and fp16's replay equals its eager run.
 * The engine around the backend (replay, queues, leaks, device choice):
 * tests/test_backend_cuda_engine.c.
 *
 * Time: the emulated GEMM and convolution are the plain reference loops, so
 * the photo path at 288x384 takes minutes for the three large networks
 * (measured on 2 busy cores: 128 s v2.1 384, 153 s DPT-Hybrid, 294 s
 * DPT-Large; the small one 7 s, the four nets at 64x96 35 s together);
 * `make test` runs it for the small network and DS_TEST_SLOW=1 for all
 * four. The time of each case is printed.
 *
 * Tolerance: relative L2 <= 1e-4, the float32 bound of test_net_parity.c
 * and test_pipeline.c (the reference README: float32 PyTorch is 1.8e-6 to
 * 3.1e-5 from float64; above 1e-4 is a bug). Each measured error is printed.
 * Replays are compared bit for bit: the same kernels run the same
 * arithmetic on the same data whichever way they are issued.
 *
 * fp16's bound: its operands carry a unit roundoff of 2^-11 where float32's
 * is 2^-24, and they are rounded at fewer points (a library call's inputs
 * and a convolution's output) than float32 rounds, so its error against
 * PyTorch stays below 2^13 times the float32 error of the same network on
 * the same input (measured: 710x to 2200x). tf32's cut errs up to 2^-10:
 * 2^14 times. Each must also exceed the float32 error: a mode that
 * silently ran float32 fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "src/io/image.h"        /* ds_image_read */
#include "src/io/npy.h"          /* ds_npy_read */
#include "tests/op_check.h"      /* op_rel_l2 */
#include "tests/ref_case.h"      /* ref_case_target, ref_case_pipeline_bound */
#include "weights_tools/synth.h" /* ds_synth_input */
#include "tests/test.h"          /* test_open_engine, test_cuda_device, test_seconds, SANITIZED */

static const double TOLERANCE = 1e-4;

static ds_device g_device = DS_DEVICE_CUDA_EMU;
static const char *g_device_name = "cuda-emu";

static ds_status open_engine(const char *arch, ds_device device, int profile, ds_engine **e) {
    return test_open_engine(arch, device, profile, DS_PRECISION_FP32, e);
}

typedef struct stage_check {
    const char *dir;
    int n_stages;
    double worst, last; /* last: the error of the latest tensor compared */
    char failure[512];
} stage_check;

/* Compares a tensor with its reference (tests/ref_case.h), if the case has
 * one (the fixed-size models dump fewer stages). */
static void compare(stage_check *c, const char *name, const float *data, size_t n) {
    char path[600];
    double bound;
    if (!ref_case_target(c->dir, name, path, sizeof path, &bound))
        return;
    ds_npy ref;
    if (ds_npy_read(path, &ref) != DS_OK) {
        snprintf(c->failure, sizeof c->failure, "%s", ds_last_error());
        return;
    }
    if ((size_t)ds_npy_numel(&ref) != n) {
        snprintf(c->failure, sizeof c->failure, "%s: %zu values, reference %lld", name, n,
                 (long long)ds_npy_numel(&ref));
    } else {
        double e = op_rel_l2(data, ref.data, n);
        printf("    %-24s rel L2 %.2e (bound %.1e%s)\n", name, e, bound, strstr(path, "/f64/") ? ", float64" : "");
        c->n_stages++;
        c->last = e;
        c->worst = e > c->worst ? e : c->worst;
        if (!(e <= bound) && !c->failure[0])
            snprintf(c->failure, sizeof c->failure, "%s: relative L2 %.3g > %.2g", name, e, bound);
    }
    ds_npy_free(&ref);
}

static void on_stage(const char *name, const float *nchw, int ch, int h, int w, void *user) {
    compare(user, name, nchw, (size_t)ch * h * w);
}

/* check_net's output error per network, for check_reduced (0: not run yet). */
static struct {
    const char *arch;
    double err;
} g_fp32_err[DS_ARCH_COUNT];

static void note_fp32_err(const char *arch, double err) {
    for (int i = 0; i < DS_ARCH_COUNT; i++)
        if (!g_fp32_err[i].arch || !strcmp(g_fp32_err[i].arch, arch)) {
            g_fp32_err[i].arch = arch;
            g_fp32_err[i].err = err;
            return;
        }
}

static double fp32_err_of(const char *arch) {
    for (int i = 0; i < DS_ARCH_COUNT; i++)
        if (g_fp32_err[i].arch && !strcmp(g_fp32_err[i].arch, arch))
            return g_fp32_err[i].err;
    return 0;
}

/* Case net_HxW of `arch` on the (3, h, w) input x: every reference stage and
 * the output, `stages` in all. */
static void check_net_on(const char *arch, int h, int w, int stages, const float *x) {
    char dir[512];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_%dx%d", arch, h, w);
    ds_engine *e;
    ds_status s = open_engine(arch, g_device, 0, &e);
    float *depth = malloc((size_t)h * w * sizeof *depth);
    stage_check c = {.dir = dir};
    printf("  %s (%s)\n", arch, g_device_name);
    double t0 = test_seconds();
    if (s == DS_OK)
        s = depth ? ds_engine_run_stages(e, x, h, w, depth, on_stage, &c) : DS_ERR_OUT_OF_MEMORY;
    printf("    %.1f s\n", test_seconds() - t0);
    ds_engine_free(e);
    if (s == DS_OK)
        compare(&c, "output", depth, (size_t)h * w);
    free(depth);
    CHECK_OK(s);
    if (!c.failure[0])
        note_fp32_err(arch, c.last);
    CHECK_MSG(!c.failure[0], "%s", c.failure);
    CHECK_MSG(c.n_stages == stages, "%d stages compared, %d expected", c.n_stages, stages);
}

/* Case net_HxW of `arch` on the input it was dumped with (input.npy). */
static void check_net_case(const char *arch, int h, int w, int stages) {
    char input[600];
    snprintf(input, sizeof input, "tests/data/reference/%s/net_%dx%d/input.npy", arch, h, w);
    ds_npy x;
    CHECK_OK(ds_npy_read(input, &x));
    CHECK_MSG(ds_npy_numel(&x) == 3 * (int64_t)h * w, "%s: not 3x%dx%d", input, h, w);
    check_net_on(arch, h, w, stages, x.data);
    ds_npy_free(&x);
}

static void check_net(const char *arch) { check_net_case(arch, 64, 96, 14); }

/* This backend against the CPU backend on one h x w input (NCHW): the
 * outputs agree to float32 rounding. */
static void check_against_cpu(const char *arch, const float *in, int h, int w, const float *dev) {
    float *cpu = malloc((size_t)h * w * sizeof *cpu);
    CHECK(cpu);
    ds_engine *e;
    ds_status s = open_engine(arch, DS_DEVICE_CPU, 0, &e);
    if (s == DS_OK)
        s = ds_engine_run(e, in, h, w, cpu);
    ds_engine_free(e);
    const double err = s == DS_OK ? op_rel_l2(dev, cpu, (size_t)h * w) : INFINITY;
    free(cpu);
    CHECK_OK(s);
    printf("    %s %dx%d: %s vs cpu rel L2 %.2e\n", arch, h, w, g_device_name, err);
    CHECK_MSG(err <= TOLERANCE, "%s %dx%d: relative L2 %.3g against the CPU backend", arch, h, w, err);
}

/* This backend and the CPU backend on one 32x48 input (2 x 3 patches). */
static void check_small_input_against_cpu(const char *arch) {
    static float in[3 * 32 * 48], dev[32 * 48];
    for (int i = 0; i < 3 * 32 * 48; i++)
        in[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    ds_engine *e;
    const double t0 = test_seconds();
    ds_status s = open_engine(arch, g_device, 0, &e);
    if (s == DS_OK)
        s = ds_engine_run(e, in, 32, 48, dev);
    ds_engine_free(e);
    CHECK_OK(s);
    printf("    %s 32x48 (%s) %.1f s\n", arch, g_device_name, test_seconds() - t0);
    check_against_cpu(arch, in, 32, 48, dev);
}

static void check_pipeline(const char *arch) {
    char dir[256], path[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/pipeline_211x157", arch);
    snprintf(path, sizeof path, "%s/image.png", dir);
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    ds_npy ref;
    snprintf(path, sizeof path, "%s/depth.npy", dir);
    CHECK_OK(ds_npy_read(path, &ref));
    size_t n = (size_t)img.width * img.height;
    float *depth = malloc(n * sizeof *depth);
    ds_engine *e;
    ds_status s = depth ? open_engine(arch, g_device, 0, &e) : DS_ERR_OUT_OF_MEMORY;
    double t0 = test_seconds();
    if (s == DS_OK)
        s = ds_engine_solve_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, NULL, depth);
    double dt = test_seconds() - t0;
    ds_engine_free(e);
    double err = s == DS_OK && (size_t)ds_npy_numel(&ref) == n ? op_rel_l2(depth, ref.data, n) : INFINITY;
    free(depth);
    ds_npy_free(&ref);
    ds_image_free(&img);
    CHECK_OK(s);
    snprintf(path, sizeof path, "tests/data/reference/%s", arch);
    const double bound = ref_case_pipeline_bound(path);
    printf("    %s depth (%s) rel L2 %.2e (bound %.1e), %.1f s\n", arch, g_device_name, err, bound, dt);
    CHECK_MSG(err <= bound, "depth relative L2 %.3g", err);
}

/* A Swin network at its one size (net_SxS, the formula's input): every stage
 * the reference kept and the output. */
static void check_fixed_net(const char *arch, int size, int stages) {
    float *x = malloc(3 * (size_t)size * size * sizeof *x);
    CHECK(x);
    ds_synth_input(size, size, x);
    check_net_on(arch, size, size, stages, x);
    free(x);
}

TEST(swin2_tiny_net_matches_pytorch) { check_fixed_net("dpt_swin2_tiny_256", 256, 8); }
TEST(swin2_large_net_matches_pytorch) { check_fixed_net("dpt_swin2_large_384", 384, 4); }
TEST(swin2_base_net_matches_pytorch) { check_fixed_net("dpt_swin2_base_384", 384, 4); }
TEST(swin_large_net_matches_pytorch) { check_fixed_net("dpt_swin_large_384", 384, 7); }
TEST(swin2_large_pipeline_matches_run_py) { check_pipeline("dpt_swin2_large_384"); }

TEST(small_net_matches_pytorch) { check_net("midas_v21_small_256"); }
TEST(v21_384_net_matches_pytorch) { check_net("midas_v21_384"); }
TEST(dpt_hybrid_net_matches_pytorch) { check_net("dpt_hybrid_384"); }
TEST(dpt_large_net_matches_pytorch) { check_net("dpt_large_384"); }
/* layer1..3, layer3_rn, refinenet3, stem_transpose, head_pre_relu, output */
TEST(dpt_levit_net_matches_pytorch) { check_net_case("dpt_levit_224", 224, 224, 8); }
TEST(beit_large_512_net_matches_pytorch) { check_net("dpt_beit_large_512"); }
TEST(beit_large_384_net_matches_pytorch) { check_net("dpt_beit_large_384"); }
TEST(beit_base_384_net_matches_pytorch) { check_net("dpt_beit_base_384"); }
TEST(beit_large_512_equals_cpu) { check_small_input_against_cpu("dpt_beit_large_512"); }
TEST(beit_large_384_equals_cpu) { check_small_input_against_cpu("dpt_beit_large_384"); }
TEST(beit_base_384_equals_cpu) { check_small_input_against_cpu("dpt_beit_base_384"); }
TEST(small_pipeline_matches_run_py) { check_pipeline("midas_v21_small_256"); }
TEST(dpt_levit_pipeline_matches_run_py) { check_pipeline("dpt_levit_224"); }
TEST(v21_384_pipeline_matches_run_py) { check_pipeline("midas_v21_384"); }
TEST(dpt_hybrid_pipeline_matches_run_py) { check_pipeline("dpt_hybrid_384"); }
TEST(dpt_large_pipeline_matches_run_py) { check_pipeline("dpt_large_384"); }

/* A reduced precision: its name, and the bound on its error as a multiple
 * of float32's (its unit roundoff over float32's: fp16 rounds to 11
 * significant bits, 2^13; tf32 as tensor cores read it keeps 11 and drops the
 * rest, an error up to twice a rounding's, 2^14). */
typedef struct reduced {
    ds_precision precision;
    const char *name;
    double bound;
} reduced;

static const reduced FP16 = {DS_PRECISION_FP16, "fp16", 8192.0}, TF32 = {DS_PRECISION_TF32, "tf32", 16384.0};

/* The network's output on net_64x96's input in a reduced precision
 * (replayed, and with eager_too also eager) against PyTorch's, next to
 * fp32's error (check_net's, or measured here when it did not run). */
static void check_reduced(const char *arch, reduced rp, int eager_too) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_64x96", arch);
    snprintf(path, sizeof path, "%s/input.npy", dir);
    ds_npy x, ref;
    CHECK_OK(ds_npy_read(path, &x));
    snprintf(path, sizeof path, "%s/output.npy", dir);
    CHECK_OK(ds_npy_read(path, &ref));
    static float out32[64 * 96], out[64 * 96], eager[64 * 96];
    ds_engine *e32 = NULL, *e = NULL, *timed = NULL;
    const double t0 = test_seconds();
    const int need32 = fp32_err_of(arch) <= 0;
    ds_status s = need32 ? test_open_engine(arch, g_device, 0, DS_PRECISION_FP32, &e32) : DS_OK;
    if (s == DS_OK)
        s = test_open_engine(arch, g_device, 0, rp.precision, &e);
    if (s == DS_OK && eager_too)
        s = test_open_engine(arch, g_device, 1, rp.precision, &timed);
    if (s == DS_OK && need32)
        s = ds_engine_run(e32, x.data, 64, 96, out32);
    if (s == DS_OK)
        s = ds_engine_run(e, x.data, 64, 96, out);
    if (s == DS_OK && eager_too)
        s = ds_engine_run(timed, x.data, 64, 96, eager);
    ds_engine_free(e32);
    ds_engine_free(e);
    ds_engine_free(timed);
    ds_npy_free(&x);
    CHECK_OK(s);
    const size_t n = 64 * 96;
    CHECK_MSG((size_t)ds_npy_numel(&ref) == n, "reference has %lld values", (long long)ds_npy_numel(&ref));
    const double e32_err = need32 ? op_rel_l2(out32, ref.data, n) : fp32_err_of(arch);
    const double err = op_rel_l2(out, ref.data, n);
    float lo = ref.data[0], hi = ref.data[0], worst = 0;
    for (size_t i = 0; i < n; i++) {
        lo = ref.data[i] < lo ? ref.data[i] : lo;
        hi = ref.data[i] > hi ? ref.data[i] : hi;
        const float d = fabsf(out[i] - ref.data[i]);
        worst = d > worst ? d : worst;
    }
    ds_npy_free(&ref);
    printf("    %s: %s rel L2 %.2e (fp32 %.2e, ratio %.0f), largest error %.2f%% of the depth range, %.1f s\n",
           arch, rp.name, err, e32_err, err / e32_err, 100.0 * worst / (hi - lo), test_seconds() - t0);
    CHECK_MSG(err > e32_err, "%s (%.3g) is not less precise than fp32 (%.3g): did it round?", rp.name, err, e32_err);
    CHECK_MSG(err <= rp.bound * e32_err, "%s rel L2 %.3g > %.0f x fp32's %.3g", rp.name, err, rp.bound, e32_err);
    if (eager_too)
        CHECK_MSG(!memcmp(eager, out, sizeof out), "%s: replay differs from the eager run", rp.name);
}

TEST(small_fp16_error) { check_reduced("midas_v21_small_256", FP16, 1); }
TEST(v21_384_fp16_error) { check_reduced("midas_v21_384", FP16, 0); }
TEST(dpt_hybrid_fp16_error) { check_reduced("dpt_hybrid_384", FP16, 0); }
TEST(dpt_large_fp16_error) { check_reduced("dpt_large_384", FP16, 0); }
TEST(small_tf32_error) { check_reduced("midas_v21_small_256", TF32, 0); }
TEST(v21_384_tf32_error) { check_reduced("midas_v21_384", TF32, 0); }
TEST(dpt_hybrid_tf32_error) { check_reduced("dpt_hybrid_384", TF32, 0); }
TEST(dpt_large_tf32_error) { check_reduced("dpt_large_384", TF32, 0); }

int main(void) {
    if (!test_cuda_device("test_backend_cuda", "midas_v21_small_256", &g_device))
        return 0;
    if (g_device == DS_DEVICE_CUDA) {
        g_device_name = "cuda";
        setenv("DS_TEST_SLOW", "1", 1); /* minutes under emulation, seconds on a GPU */
    }
    RUN(small_net_matches_pytorch);
    RUN(v21_384_net_matches_pytorch);
    RUN(dpt_hybrid_net_matches_pytorch);
    RUN(dpt_large_net_matches_pytorch);
    /* BEiT: the emulated GEMMs are the reference loops (12 s of CPU for
     * BEiT-L at 64x96, 4 s at 32x48): BEiT-B at 64x96 and run.py's default,
     * BEiT-L 512, at 32x48 in the plain build; BEiT-B at 32x48 under ASan */
    if (!SANITIZED) {
        RUN(beit_base_384_net_matches_pytorch);
        RUN(beit_large_512_equals_cpu);
    } else {
        RUN(beit_base_384_equals_cpu);
    }
    if (getenv("DS_TEST_SLOW")) {
        RUN(beit_large_384_equals_cpu);
        RUN(beit_large_512_net_matches_pytorch);
        RUN(beit_large_384_net_matches_pytorch);
    } else {
        printf("note: DS_TEST_SLOW=1 also runs BEiT-L 384 at 32x48 and both BEiT-L at 64x96 against PyTorch\n");
    }
    RUN(small_pipeline_matches_run_py);
    if (!SANITIZED) /* seconds under emulation: the plain build checks the LeViT kernels in place */
        RUN(dpt_levit_net_matches_pytorch);
    if (getenv("DS_TEST_SLOW")) {
        RUN(dpt_levit_pipeline_matches_run_py);
        RUN(v21_384_pipeline_matches_run_py);
        RUN(dpt_hybrid_pipeline_matches_run_py);
        RUN(dpt_large_pipeline_matches_run_py);
    } else {
        printf("note: DS_TEST_SLOW=1 also runs the photo path of the three large networks and dpt_levit_224\n");
    }
    if (getenv("DS_TEST_SLOW")) { /* make test runs Swin2-T's backbone: test_backend_swin.c */
        RUN(swin2_tiny_net_matches_pytorch);
        RUN(swin2_large_net_matches_pytorch);
        RUN(swin2_base_net_matches_pytorch);
        RUN(swin_large_net_matches_pytorch);
        RUN(swin2_large_pipeline_matches_run_py);
    } else {
        printf("note: DS_TEST_SLOW=1 also runs the four Swin networks and Swin2-L's photo path\n");
    }
    RUN(small_fp16_error);
    /* the reduced precisions' numbers on the large networks are the plain
     * build's to check (the emulator checks every seam call's device
     * pointers in both) */
    if (!SANITIZED)
        RUN(dpt_hybrid_fp16_error);
    RUN(small_tf32_error);
    if (getenv("DS_TEST_SLOW")) {
        RUN(v21_384_fp16_error);
        RUN(dpt_large_fp16_error);
        RUN(v21_384_tf32_error);
        RUN(dpt_hybrid_tf32_error);
        RUN(dpt_large_tf32_error);
    } else {
        printf("note: DS_TEST_SLOW=1 also measures fp16 on v2.1 384 and DPT-Large, tf32 on the three large\n");
    }
    return test_summary();
}
