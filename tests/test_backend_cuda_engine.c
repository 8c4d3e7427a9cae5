/*
 * test_backend_cuda_engine.c: the engine around the CUDA backend through
 * the public API, under the CPU emulation (cuda-emu) in `make test`, and on
 * a GPU (cuda) in `make test-gpu` (DS_TEST_DEVICE=cuda; skipped, saying so,
 * without one), on the small synthetic-weight network:
 *  - the emulated backend against the CPU backend on the same input;
 *  - the captured graph replayed against the nodes issued one by one (a
 *    profiled run), and a replay after another image against the first;
 *  - queued runs (ds_engine_submit / ds_engine_collect, on this backend and
 *    on the CPU) bit for bit ds_engine_run's, in order, across a change of
 *    size and a plain run between, with the queue's limits refused; queued
 *    photos bit for bit ds_engine_solve_rgb8's, the resizes on the device,
 *    each network size prepared once, three sizes kept;
 *  - no leak over many images (1000 on a GPU, 2 under emulation): the
 *    device memory in use and the engine's own stay the same after the
 *    first images, and the process's RSS grows by less than 16 MiB;
 *  - --device cuda and auto without a GPU: one clear line, and the CPU.
 * The networks against PyTorch on this backend: tests/test_backend_cuda.c.
 *
 * Tolerance: relative L2 <= 1e-4 against the CPU backend (float32
 * rounding); replays and queued runs bit for bit (the same kernels run the
 * same arithmetic on the same data whichever way they are issued).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "src/cli.h"          /* ds_cli_rss_kib */
#include "base/error.h"       /* DS_TRY */
#include "src/io/npy.h"       /* ds_npy_read */
#include "photo/preprocess.h" /* ds_photo_host_resizes */
#include "tests/op_check.h"   /* op_rel_l2 */
#include "tests/test.h"       /* test_open_engine, test_cuda_device, SANITIZED */

static const double TOLERANCE = 1e-4;

static ds_device g_device = DS_DEVICE_CUDA_EMU;
static const char *g_device_name = "cuda-emu";

/* ASan's quarantine keeps freed memory resident: RSS grows without a leak
 * (LeakSanitizer checks host leaks in that build instead). */
enum { RSS_CHECKED = !SANITIZED };

static ds_status open_engine(const char *arch, ds_device device, int profile, ds_engine **e) {
    return test_open_engine(arch, device, profile, DS_PRECISION_FP32, e);
}

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
    if (!test_cuda_device("test_backend_cuda_engine", "midas_v21_small_256", &g_device))
        return 0;
    g_device_name = g_device == DS_DEVICE_CUDA ? "cuda" : "cuda-emu";
    RUN(emulated_backend_equals_cpu_backend);
    RUN(graph_replay_equals_eager_run);
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
