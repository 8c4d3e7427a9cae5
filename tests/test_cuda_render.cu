/*
 * test_cuda_render.cu: the frame kernels (kernels/scene/render.cu, through
 * kernels/scene/render_host.cu) against the plain C path (runtime/scene/render_cpu.c):
 * the same scene seen from the same cameras, through ds_scene with
 * DS_DEVICE_CUDA_EMU (or DS_DEVICE_CUDA on a GPU) and DS_DEVICE_CPU.
 *
 * Both evaluate render_math.h without FMA contraction, and the z-buffer is
 * an order-free atomic minimum, so under emulation (any schedule) the
 * frames are byte for byte the same. A GPU contracts into FMAs: a pixel on
 * a triangle's edge may then fall to its neighbour, so there the frames
 * must agree to 40 dB PSNR. Cases: odd sizes, both aspect ratios, 2x2, a
 * mirrored border, every camera path, vertices behind the camera, and a
 * view with nothing in it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda_test.h" /* cuda_test_begin, kernel_launches */
#include "depthsolve.h"

namespace DS_CUDA_NS {

/* A photo with detail and a depth map with smooth parts and a step. */
static void scene_data(int w, int h, std::vector<uint8_t> &rgb, std::vector<float> &depth) {
    rgb.resize((size_t)w * h * 3);
    depth.resize((size_t)w * h);
    uint32_t s = 777;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                rgb[k * 3 + c] = (uint8_t)((s >> 24) / 2 + (c == 0 ? 4 * x : 3 * y) % 128);
            }
            const float dx = (float)x - 0.5f * (float)w, dy = (float)y - 0.4f * (float)h;
            const int near = dx * dx + dy * dy < 0.05f * (float)(w * w + h * h);
            depth[k] = (near ? 4.0f : 1.0f) + 0.5f * sinf(0.37f * (float)x + 0.21f * (float)y);
        }
}

/* Renders every camera on both paths; the frames must agree. */
static void compare(int w, int h, const std::vector<ds_camera> &cams, const char *what) {
    std::vector<uint8_t> rgb;
    std::vector<float> depth;
    scene_data(w, h, rgb, depth);
    ds_scene_params sp = ds_scene_default_params();
    CHECK(ds_scene_margin(&sp, w, h, cams.data(), (int)cams.size(), &sp.margin) == DS_OK);
    ds_scene *cpu = NULL, *gpu = NULL;
    sp.device = DS_DEVICE_CPU;
    CHECK(ds_scene_create(rgb.data(), w, h, (size_t)w * 3, depth.data(), &sp, &cpu) == DS_OK);
    sp.device = cuda_is_emulated() ? DS_DEVICE_CUDA_EMU : DS_DEVICE_CUDA;
    const ds_status made = ds_scene_create(rgb.data(), w, h, (size_t)w * 3, depth.data(), &sp, &gpu);
    CHECK_MSG(made == DS_OK, "%s", ds_last_error());
    CHECK(!strcmp(ds_scene_device(gpu), cuda_is_emulated() ? "cuda-emu" : "cuda"));
    /* a row stride wider than the frame: the bytes between rows stay as they were */
    const size_t stride = (size_t)w * 3 + 5;
    std::vector<uint8_t> a(stride * h, 7), b(stride * h, 7);
    double worst = INFINITY;
    for (size_t i = 0; i < cams.size(); i++) {
        CHECK(ds_scene_render(cpu, &cams[i], a.data(), stride) == DS_OK);
        CHECK_MSG(ds_scene_render(gpu, &cams[i], b.data(), stride) == DS_OK, "%s", ds_last_error());
        for (int y = 0; y < h; y++)
            CHECK(b[(size_t)y * stride + (size_t)w * 3] == 7);
        const double p = test_psnr_u8(a.data(), b.data(), a.size());
        worst = fmin(worst, p);
        if (cuda_is_emulated())
            CHECK_MSG(a == b, "%s %dx%d camera %zu: frames differ (PSNR %.1f dB)", what, w, h, i, p);
        else
            CHECK_MSG(p > 40.0, "%s %dx%d camera %zu: PSNR %.1f dB", what, w, h, i, p);
    }
    printf("    %-8s %4dx%-4d margin %3d, %zu cameras: %s\n", what, w, h, sp.margin, cams.size(),
           isinf(worst) ? "identical" : "PSNR above 40 dB");
    ds_scene_free(cpu);
    ds_scene_free(gpu);
}

/* n cameras along each path, ending at its far end. */
static std::vector<ds_camera> path_cameras(ds_motion m, float strength, int n) {
    const ds_scene_params sp = ds_scene_default_params();
    ds_path_params path = {m, strength, 0.6f};
    std::vector<ds_camera> cams(n);
    for (int i = 0; i < n; i++)
        ds_camera_on_path(&path, &sp, n > 1 ? (float)i / (float)(n - 1) : 0.0f, &cams[i]);
    return cams;
}

TEST(every_path_matches_the_c_path) {
    const int sizes[][2] = {{61, 37}, {37, 61}, {2, 2}, {97, 5}, {160, 90}};
    for (const auto &sz : sizes)
        for (int m = 0; m < DS_MOTION_COUNT; m++)
            compare(sz[0], sz[1], path_cameras((ds_motion)m, -1.0f, 4), ds_motion_name((ds_motion)m));
}

TEST(behind_the_camera_and_empty_views) {
    /* a dolly past the nearest surface (vertices behind the near plane),
     * and a camera beyond the far plane looking away from everything */
    std::vector<ds_camera> cams = path_cameras(DS_MOTION_DOLLY, 0.9f, 2);
    ds_camera away = ds_camera_identity();
    away.position[2] = -30.0f;
    cams.push_back(away);
    compare(53, 41, cams, "extreme");
}

TEST(kernels_ran) {
    if (!cuda_is_emulated())
        return;
    const char *names[] = {"render_project_kernel", "render_raster_kernel", "render_resolve_kernel",
                           "render_fill_kernel"};
    for (const char *n : names)
        CHECK_MSG(kernel_launches(n) > 0, "%s never ran", n);
}

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    if (!cuda_test_begin(argv[0])) /* no device: skipped, said so */
        return 0;
    const double t0 = test_seconds();
    RUN(every_path_matches_the_c_path);
    RUN(behind_the_camera_and_empty_views);
    RUN(kernels_ran);
    printf("    %.2f s\n", test_seconds() - t0);
    return test_summary();
}
