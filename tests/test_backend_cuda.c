/*
 * test_backend_cuda.c: the CUDA backend through the public engine API,
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
 *  - the emulated backend against the CPU backend on the same input (the
 *    small network; BEiT-L 512 at 32x48 in the plain build, BEiT-B under
 *    ASan, BEiT-L 384 with DS_TEST_SLOW=1: a relative position bias
 *    resized per block);
 *  - the captured graph replayed against the nodes issued one by one (a
 *    profiled run), and a replay after another image against the first;
 *  - --device cuda and auto without a GPU: one clear line, and the CPU;
 *  - --precision fp16 (half operands, rounded under emulation as on the
 *    GPU) and tf32 (operands cut as tensor cores read them) on each
 *    network's net_64x96: the error against PyTorch is reported and bounded
 *    (below), and fp16's replay equals its eager run;
 *  - queued runs (ds_engine_submit / ds_engine_collect, on this backend and
 *    on the CPU) bit for bit ds_engine_run's, in order, across a change of
 *    size and a plain run between, with the queue's limits refused;
 *  - no leak over many images (1000 on a GPU, 2 under emulation): the
 *    device memory in use and the engine's own stay the same after the
 *    first images, and the process's RSS grows by less than 16 MiB.
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
#include <unistd.h>

#include "src/cli.h" /* ds_cli_rss_kib */
#include "depthsolve.h"
#include "base/error.h" /* DS_TRY */
#include "src/io/image.h" /* ds_image_read */
#include "src/io/npy.h"   /* ds_npy_read */
#include "photo/preprocess.h" /* ds_photo_host_resizes */
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/ref_case.h" /* ref_case_target, ref_case_pipeline_bound */
#include "weights_tools/synth.h" /* ds_synth_input */
#include "tests/test.h" /* test_open_engine, test_cuda_device, test_seconds, SANITIZED */

static const double TOLERANCE = 1e-4;

static ds_device g_device = DS_DEVICE_CUDA_EMU;
static const char *g_device_name = "cuda-emu";

/* ASan's quarantine keeps freed memory resident: RSS grows without a leak
 * (LeakSanitizer checks host leaks in that build instead). */
enum { RSS_CHECKED = !SANITIZED };

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

/* The small network's reference input, and a second image from it. */
static float *small_input(int second) {
    ds_npy x;
    if (ds_npy_read("tests/data/reference/midas_v21_small_256/net_64x96/input.npy", &x) != DS_OK)
        return NULL;
    float *in = malloc(3 * 64 * 96 * sizeof *in);
    for (int i = 0; in && i < 3 * 64 * 96; i++)
        in[i] = second ? x.data[(i * 7) % (3 * 64 * 96)] * 0.5f : x.data[i];
    ds_npy_free(&x);
    return in;
}

TEST(emulated_backend_equals_cpu_backend) {
    float *in = small_input(0);
    CHECK(in);
    static float cpu[64 * 96], emu[64 * 96];
    ds_engine *a = NULL, *b = NULL;
    ds_status s = open_engine("midas_v21_small_256", DS_DEVICE_CPU, 0, &a);
    if (s == DS_OK)
        s = open_engine("midas_v21_small_256", g_device, 0, &b);
    if (s == DS_OK)
        s = ds_engine_run(a, in, 64, 96, cpu);
    if (s == DS_OK)
        s = ds_engine_run(b, in, 64, 96, emu);
    ds_engine_free(a);
    ds_engine_free(b);
    free(in);
    CHECK_OK(s);
    double e = op_rel_l2(emu, cpu, 64 * 96);
    printf("    %s vs cpu rel L2 %.2e\n", g_device_name, e);
    CHECK_MSG(e <= TOLERANCE, "relative L2 %.3g", e);
}

TEST(graph_replay_equals_eager_run) {
    float *in = small_input(0), *in2 = small_input(1);
    CHECK(in && in2);
    static float eager[64 * 96], first[64 * 96], other[64 * 96], again[64 * 96];
    ds_engine *timed = NULL, *replay = NULL;
    ds_status s = open_engine("midas_v21_small_256", g_device, 1, &timed);
    if (s == DS_OK)
        s = open_engine("midas_v21_small_256", g_device, 0, &replay);
    if (s == DS_OK) /* profiled: every node issued one by one between events */
        s = ds_engine_run(timed, in, 64, 96, eager);
    if (s == DS_OK)
        s = ds_engine_run(replay, in, 64, 96, first);
    if (s == DS_OK)
        s = ds_engine_run(replay, in2, 64, 96, other);
    if (s == DS_OK)
        s = ds_engine_run(replay, in, 64, 96, again);
    ds_engine_free(timed);
    ds_engine_free(replay);
    free(in);
    free(in2);
    CHECK_OK(s);
    CHECK_MSG(!memcmp(eager, first, sizeof first), "replay differs from the eager run");
    CHECK_MSG(!memcmp(first, again, sizeof first), "a replay after another image differs");
    CHECK_MSG(memcmp(first, other, sizeof first) != 0, "another image gave the same depth");
}

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

/* Queued runs against plain ones on one engine of `device`. */
static void check_queue(ds_device device) {
    float *a = small_input(0), *b = small_input(1);
    CHECK(a && b);
    static float want_a[64 * 96], want_b[64 * 96], want_c[96 * 64], got[96 * 64];
    ds_engine *e = NULL;
    ds_status s = open_engine("midas_v21_small_256", device, 0, &e);
    /* c: b's values as a 96x64 input, another size */
    if (s == DS_OK)
        s = ds_engine_run(e, a, 64, 96, want_a);
    if (s == DS_OK)
        s = ds_engine_run(e, b, 64, 96, want_b);
    if (s == DS_OK)
        s = ds_engine_run(e, b, 96, 64, want_c);
    CHECK_OK(s);
    CHECK(ds_engine_pending(e) == 0);
    CHECK_OK(ds_engine_submit(e, a, 64, 96));
    CHECK_OK(ds_engine_submit(e, b, 64, 96));
    CHECK(ds_engine_pending(e) == 2);
    CHECK_FAILS(ds_engine_submit(e, a, 64, 96), DS_ERR_INVALID_ARGUMENT, "collect one first");
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want_a, sizeof want_a), "the first collect is not the first run's");
    CHECK_OK(ds_engine_submit(e, b, 96, 64)); /* a new size while b is in flight */
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want_b, sizeof want_b), "the second collect is not the second run's");
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want_c, sizeof want_c), "the run at another size differs");
    CHECK_FAILS(ds_engine_collect(e, got), DS_ERR_INVALID_ARGUMENT, "no run was submitted");
    /* a plain run between submit and collect */
    CHECK_OK(ds_engine_submit(e, a, 64, 96));
    CHECK_OK(ds_engine_run(e, b, 64, 96, got));
    CHECK_MSG(!memcmp(got, want_b, sizeof want_b), "a plain run while one is queued differs");
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want_a, sizeof want_a), "a queued run differs after a plain run");
    CHECK(ds_engine_pending(e) == 0);
    ds_engine_free(e);
    free(a);
    free(b);
}

TEST(queued_runs_equal_plain_runs) { check_queue(g_device); }
TEST(queued_runs_on_the_cpu) { check_queue(DS_DEVICE_CPU); }

/* A photo of w x h random-ish pixels. */
static uint8_t *test_photo(int w, int h, unsigned seed) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (size_t i = 0; p && i < (size_t)w * h * 3; i++)
        p[i] = (uint8_t)((i * 2654435761u + seed * 97u) >> 13);
    return p;
}

/* Counts the engine's preparations of a network size (its DEBUG line). */
static void count_prepares(ds_log_level level, const char *msg, void *user) {
    if (level == DS_LOG_DEBUG && strstr(msg, " nodes, arena "))
        (*(int *)user)++;
}

/* Photos queued (ds_engine_submit_rgb8) against ds_engine_solve_rgb8 on one
 * engine of `device`, bit for bit: landscape, portrait, landscape again (the
 * collect gives each at its photo's size). The host resizes only where the
 * backend has no device (counted), and alternating sizes prepare each
 * network size once. With `sizes_too`: three sizes are kept, the least
 * recently used goes (the engine's, whatever the backend). Networks of 96
 * rows at most (--height 96): 96x64, 64x96, 96x96, 96x32. */
static void check_photo_queue(ds_device device, bool sizes_too) {
    static const int sizes[4][2] = {{97, 61}, {61, 97}, {50, 50}, {200, 50}}; /* w, h */
    uint8_t *photo[4];
    float *want[4], got[97 * 61];
    for (int i = 0; i < 4; i++) {
        photo[i] = test_photo(sizes[i][0], sizes[i][1], 7 + (unsigned)i);
        want[i] = malloc((size_t)sizes[i][0] * sizes[i][1] * sizeof(float));
        CHECK(photo[i] && want[i]);
    }
    ds_engine_params p = ds_engine_default_params();
    p.device = device;
    p.autotune = 0;
    int prepares = 0;
    p.log = count_prepares;
    p.log_user = &prepares;
    ds_engine *e = NULL;
    CHECK_OK(test_create_engine("midas_v21_small_256", &p, &e));
    ds_solve_params sp = ds_solve_default_params();
    sp.height = 96;
#define PHOTO(i) photo[i], sizes[i][0], sizes[i][1], (size_t)sizes[i][0] * 3, &sp
    CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(0), want[0]));
    CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(1), want[1]));
    CHECK_MSG(prepares == 2, "%d preparations for two sizes", prepares);
    const uint64_t host0 = ds_photo_host_resizes();
    CHECK_OK(ds_engine_submit_rgb8(e, PHOTO(0)));
    CHECK_OK(ds_engine_submit_rgb8(e, PHOTO(1)));
    CHECK_FAILS(ds_engine_submit_rgb8(e, PHOTO(0)), DS_ERR_INVALID_ARGUMENT, "collect one first");
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want[0], 97 * 61 * sizeof(float)), "the landscape photo's queued depth differs");
    CHECK_OK(ds_engine_submit_rgb8(e, PHOTO(0)));
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want[1], 61 * 97 * sizeof(float)), "the portrait photo's queued depth differs");
    CHECK_OK(ds_engine_collect(e, got));
    CHECK_MSG(!memcmp(got, want[0], 97 * 61 * sizeof(float)), "the landscape photo again differs");
    const uint64_t host = ds_photo_host_resizes() - host0;
    const uint64_t host_want = device == DS_DEVICE_CPU ? 6 : 0; /* in and out, three photos */
    CHECK_MSG(host == host_want, "%llu resizes on the host for three photos on %s, wanted %llu",
              (unsigned long long)host, device == DS_DEVICE_CPU ? "cpu" : "the device",
              (unsigned long long)host_want);
    CHECK_MSG(prepares == 2, "%d preparations: alternating sizes rebuilt the network", prepares);
    if (sizes_too) {
        /* a third size is kept beside them; a fourth sends the least recently used away */
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(2), want[2]));
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(0), got));
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(1), got));
        CHECK_MSG(prepares == 3, "%d preparations for three sizes", prepares);
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(3), want[3])); /* goes instead of the 50x50's */
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(0), got));
        CHECK_MSG(prepares == 4, "%d preparations after a fourth size", prepares);
        CHECK_OK(ds_engine_solve_rgb8(e, PHOTO(2), got));
        CHECK_MSG(prepares == 5, "%d preparations: the oldest size was not the one that went", prepares);
        CHECK_MSG(!memcmp(got, want[2], 50 * 50 * sizeof(float)), "a size prepared again differs");
    }
#undef PHOTO
    ds_engine_free(e);
    for (int i = 0; i < 4; i++) {
        free(photo[i]);
        free(want[i]);
    }
}

TEST(queued_photos_on_the_device) { check_photo_queue(g_device, false); }
TEST(queued_photos_on_the_cpu) { check_photo_queue(DS_DEVICE_CPU, true); }

/* One round of the work a long-running user does: the network on one or
 * (in2: not NULL) two inputs, and photos through the photo path, wide and
 * (tall: not NULL) tall. */
static ds_status one_round(ds_engine *e, const float *in, const float *in2, const uint8_t *wide,
                           const uint8_t *tall, float *depth, float *photo_depth) {
    DS_TRY(ds_engine_run(e, in, 64, 96, depth));
    if (in2)
        DS_TRY(ds_engine_run(e, in2, 64, 96, depth));
    DS_TRY(ds_engine_solve_rgb8(e, wide, 97, 61, 97 * 3, NULL, photo_depth));
    return tall ? ds_engine_solve_rgb8(e, tall, 61, 97, 61 * 3, NULL, photo_depth) : DS_OK;
}

TEST(no_leaks_over_many_images) {
    /* on a GPU 1000 images; under emulation (a photo takes seconds) 2, one of each kind */
    const int gpu = g_device == DS_DEVICE_CUDA, rounds = gpu ? 250 : 1, per_round = gpu ? 4 : 2;
    float *in = small_input(0), *in2 = small_input(1);
    uint8_t *wide = test_photo(97, 61, 1), *tall = test_photo(61, 97, 2);
    static float depth[64 * 96], photo_depth[97 * 61];
    CHECK(in && in2 && wide && tall);
    const uint8_t *tall_photo = gpu ? tall : NULL;
    const float *in_two = gpu ? in2 : NULL;
    ds_engine *e = NULL;
    ds_engine_stats before = {0}, after = {0};
    ds_status s = open_engine("midas_v21_small_256", g_device, 0, &e);
    if (s == DS_OK) /* the first round plans the sizes and grows the photo buffers */
        s = one_round(e, in, in_two, wide, tall_photo, depth, photo_depth);
    if (s == DS_OK)
        s = ds_engine_get_stats(e, &before);
    const long rss0 = ds_cli_rss_kib();
    for (int i = 0; i < rounds && s == DS_OK; i++)
        s = one_round(e, in, in_two, wide, tall_photo, depth, photo_depth);
    if (s == DS_OK)
        s = ds_engine_get_stats(e, &after);
    const long grown = ds_cli_rss_kib() - rss0;
    ds_engine_free(e);
    free(in), free(in2), free(wide), free(tall);
    CHECK_OK(s);
    /* a GPU's other processes may move its counter; 8 MiB over 1000 images
     * still catches a leak of 8 KiB an image */
    const int64_t slack = gpu ? 8 << 20 : 0;
    const int64_t used = after.device_used_bytes - before.device_used_bytes;
    printf("    %d images after the first %d: engine %.1f MiB on the device (was %.1f), device in use %+lld B, "
           "RSS %+ld KiB, %lld graph operations an image\n",
           rounds * per_round, per_round, after.device_bytes / 1048576.0, before.device_bytes / 1048576.0, (long long)used, grown,
           (long long)after.graph_operations);
    CHECK_MSG(before.device_bytes > 0 && after.device_bytes == before.device_bytes,
              "the engine's device memory went from %lld to %lld B", (long long)before.device_bytes,
              (long long)after.device_bytes);
    CHECK_MSG(before.device_used_bytes >= 0 && used <= slack, "device memory in use grew by %lld B", (long long)used);
    CHECK(after.graph_operations > 0);
    if (RSS_CHECKED)
        CHECK_MSG(grown < 16 * 1024, "RSS grew by %ld KiB over %d images", grown, rounds * per_round);
}

/* Counts the log lines that say why auto did not take the GPU. */
static void count_fallback(ds_log_level level, const char *msg, void *user) {
    (void)level;
    if (strstr(msg, "device auto: using the CPU ("))
        ++*(int *)user;
}

TEST(cuda_without_gpu_fails_in_one_line) {
    ds_engine *e = NULL;
    ds_status s = open_engine("midas_v21_small_256", DS_DEVICE_CUDA, 0, &e);
    ds_engine_free(e);
    if (s == DS_OK) {
        printf("    a CUDA device is present: nothing to check\n");
        return;
    }
    const char *msg = ds_last_error();
    printf("    %s\n", msg);
    CHECK_MSG(s == DS_ERR_DEVICE || s == DS_ERR_UNSUPPORTED, "status %s", ds_status_string(s));
    CHECK_MSG(strstr(msg, "no CUDA device") && !strchr(msg, '\n'), "message: %s", msg);
}

TEST(auto_without_gpu_falls_back_with_one_line) {
    ds_engine *cuda = NULL;
    int has_gpu = open_engine("midas_v21_small_256", DS_DEVICE_CUDA, 0, &cuda) == DS_OK;
    ds_engine_free(cuda);
    ds_engine_params p = ds_engine_default_params();
    int lines = 0;
    p.log = count_fallback;
    p.log_user = &lines;
    ds_engine *e = NULL;
    ds_status s = test_create_engine("midas_v21_small_256", &p, &e);
    float *in = small_input(0);
    static float depth[64 * 96];
    if (s == DS_OK && in)
        s = ds_engine_run(e, in, 64, 96, depth);
    ds_engine_free(e);
    free(in);
    CHECK_OK(s);
    CHECK_MSG(lines == (has_gpu ? 0 : 1), "%d fallback lines (GPU %s)", lines, has_gpu ? "present" : "absent");
}

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
    RUN(emulated_backend_equals_cpu_backend);
    RUN(graph_replay_equals_eager_run);
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
    RUN(queued_runs_equal_plain_runs);
    RUN(queued_runs_on_the_cpu);
    RUN(queued_photos_on_the_cpu);
    if (!SANITIZED) /* seconds a photo under emulation: the plain build checks the device path */
        RUN(queued_photos_on_the_device);
    RUN(no_leaks_over_many_images);
    RUN(cuda_without_gpu_fails_in_one_line);
    RUN(auto_without_gpu_falls_back_with_one_line);
    return test_summary();
}
