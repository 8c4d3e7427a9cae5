/*
 * test_dav2_backend.c: the Depth Anything V2 networks on the CUDA backend,
 * under the CPU emulation (cuda-emu) in `make test`, on a GPU with
 * DS_TEST_DEVICE=cuda (`make test-gpu`; skipped, saying so, without one):
 *  - the synthetic-weight networks against the PyTorch dumps of net_70x98
 *    at every stage and the output: ViT-S relative and metric; ViT-B and
 *    the two ViT-L (relative, metric VKITTI) on a GPU or with
 *    DS_TEST_SLOW=1 (their emulated GEMMs are the plain reference loops:
 *    11 s and 40 s each on 2 busy cores), and in `make test` ViT-B and
 *    ViT-L on a 14x28 input (3 tokens, a 1x1 deepest map) against the CPU
 *    backend instead (the metric head's Sigmoid x max_depth: ViT-S metric);
 *  - the photo path on the device (preprocess, network, the bilinear
 *    align_corners=True resize back), relative and metric, against the CPU
 *    backend's at --input-size 70; at the real size (518x700) against
 *    infer_image's depth.npy on a GPU or with DS_TEST_SLOW=1 (minutes
 *    emulated).
 *  Under the sanitizers: the ViT-S network and the relative photo path only.
 *
 * Tolerance: relative L2 <= 1e-4 (the reference README's float32 bound).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "src/io/image.h"   /* ds_image_read */
#include "src/io/npy.h"       /* ds_npy_read */
#include "tests/net_stages.h" /* net_stages, net_stages_on_stage */
#include "tests/op_check.h"   /* op_rel_l2 */
#include "tests/test.h"

static const double TOLERANCE = 1e-4;
enum { H = 70, W = 98 };

static ds_device g_device = DS_DEVICE_CUDA_EMU;

static ds_status open_engine(const char *arch, ds_device device, ds_engine **e) {
    return test_open_engine(arch, device, 0, DS_PRECISION_FP32, e);
}

static void check_net(const char *arch) {
    char dir[256], input[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_%dx%d", arch, H, W);
    snprintf(input, sizeof input, "%s/input.npy", dir);
    ds_npy x;
    CHECK_OK(ds_npy_read(input, &x));
    ds_engine *e;
    CHECK_OK(open_engine(arch, g_device, &e));
    static float depth[H * W];
    net_stages c;
    net_stages_init(&c, dir, TOLERANCE);
    const double t0 = test_seconds();
    ds_status s = ds_engine_run_stages(e, x.data, H, W, depth, net_stages_on_stage, &c);
    printf("  %s on %s: %.1f s\n", arch, g_device == DS_DEVICE_CUDA ? "cuda" : "cuda-emu", test_seconds() - t0);
    ds_engine_free(e);
    ds_npy_free(&x);
    CHECK_OK(s);
    net_stages_compare(&c, NULL, "fp32", "output", depth, H * W);
    CHECK_MSG(!c.failure[0], "%s", c.failure);
    CHECK_MSG(c.n_stages == 20, "%d tensors compared", c.n_stages);
}

TEST(vits_net_matches_pytorch) { check_net("depth_anything_v2_vits"); }
TEST(vitb_net_matches_pytorch) { check_net("depth_anything_v2_vitb"); }
TEST(vitl_net_matches_pytorch) { check_net("depth_anything_v2_vitl"); }
TEST(metric_hypersim_vits_net_matches_pytorch) { check_net("depth_anything_v2_metric_hypersim_vits"); }
TEST(metric_vkitti_vitl_net_matches_pytorch) { check_net("depth_anything_v2_metric_vkitti_vitl"); }

/* The device against the CPU backend on a 14x28 input (1x2 patches). */
static void check_small(const char *arch) {
    enum { SH = 14, SW = 28 };
    static float in[3 * SH * SW], dev[SH * SW], cpu[SH * SW];
    for (int i = 0; i < 3 * SH * SW; i++)
        in[i] = (float)sin(0.37 * i) * 2.0f;
    ds_engine *e;
    CHECK_OK(open_engine(arch, g_device, &e));
    const double t0 = test_seconds();
    ds_status s = ds_engine_run(e, in, SH, SW, dev);
    printf("  %s at %dx%d on the device: %.1f s\n", arch, SH, SW, test_seconds() - t0);
    ds_engine_free(e);
    CHECK_OK(s);
    CHECK_OK(open_engine(arch, DS_DEVICE_CPU, &e));
    s = ds_engine_run(e, in, SH, SW, cpu);
    ds_engine_free(e);
    CHECK_OK(s);
    const double err = op_rel_l2(dev, cpu, SH * SW);
    printf("    against the CPU backend: rel L2 %.2e\n", err);
    CHECK_MSG(err <= TOLERANCE, "relative L2 %.3g", err);
}

TEST(vitb_small_net_equals_cpu) { check_small("depth_anything_v2_vitb"); }
TEST(vitl_small_net_equals_cpu) { check_small("depth_anything_v2_vitl"); }

/* The photo path on the device against the CPU backend's (input_size 70),
 * or against infer_image's depth.npy (input_size 0: 518x700). */
static void check_photo(const char *arch, int input_size) {
    char path[600];
    snprintf(path, sizeof path, "tests/data/reference/%s/pipeline_211x157/image.png", arch);
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    const size_t n = (size_t)img.width * img.height;
    float *dev = malloc(n * sizeof *dev), *want = malloc(n * sizeof *want);
    CHECK(dev && want);
    ds_solve_params sp = ds_solve_default_params();
    sp.height = input_size;
    ds_engine *e;
    CHECK_OK(open_engine(arch, g_device, &e));
    const double t0 = test_seconds();
    ds_status s = ds_engine_solve_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, &sp, dev);
    printf("    %s photo at input size %d on the device: %.1f s\n", arch, input_size ? input_size : 518,
           test_seconds() - t0);
    ds_engine_free(e);
    CHECK_OK(s);
    ds_npy ref = {0};
    if (input_size) {
        CHECK_OK(open_engine(arch, DS_DEVICE_CPU, &e));
        s = ds_engine_solve_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, &sp, want);
        ds_engine_free(e);
        CHECK_OK(s);
    } else {
        snprintf(path, sizeof path, "tests/data/reference/%s/pipeline_211x157/depth.npy", arch);
        CHECK_OK(ds_npy_read(path, &ref));
        memcpy(want, ref.data, n * sizeof *want);
        ds_npy_free(&ref);
    }
    const double e_d = op_rel_l2(dev, want, n);
    printf("    %s depth against %s: rel L2 %.2e\n", arch, input_size ? "the CPU backend" : "infer_image", e_d);
    free(dev);
    free(want);
    ds_image_free(&img);
    CHECK_MSG(e_d <= TOLERANCE, "relative L2 %.3g", e_d);
}

TEST(photo_path_on_device_equals_cpu) {
    check_photo("depth_anything_v2_vits", 70);
    if (!SANITIZED) /* the same kernels with a Sigmoid at the end */
        check_photo("depth_anything_v2_metric_hypersim_vits", 70);
}

TEST(photo_path_on_device_matches_infer_image) {
    check_photo("depth_anything_v2_vits", 0);
    check_photo("depth_anything_v2_metric_hypersim_vits", 0);
}

int main(void) {
    if (!test_cuda_device("test_dav2_backend", "depth_anything_v2_vits", &g_device))
        return 0;
    if (g_device == DS_DEVICE_CUDA)
        setenv("DS_TEST_SLOW", "1", 1); /* seconds on a GPU */
    RUN(vits_net_matches_pytorch);
    if (!SANITIZED) {
        RUN(metric_hypersim_vits_net_matches_pytorch);
        if (getenv("DS_TEST_SLOW")) {
            RUN(vitb_net_matches_pytorch);
            RUN(vitl_net_matches_pytorch);
            RUN(metric_vkitti_vitl_net_matches_pytorch);
        } else {
            RUN(vitb_small_net_equals_cpu);
            RUN(vitl_small_net_equals_cpu);
            printf("note: DS_TEST_SLOW=1 runs ViT-B and the two ViT-L at 70x98 against PyTorch\n");
        }
    }
    RUN(photo_path_on_device_equals_cpu);
    if (getenv("DS_TEST_SLOW"))
        RUN(photo_path_on_device_matches_infer_image);
    else
        printf("note: DS_TEST_SLOW=1 also runs the 518x700 photo path on the device against infer_image\n");
    return test_summary();
}
