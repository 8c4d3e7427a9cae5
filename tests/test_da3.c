/*
 * test_da3.c: Depth Anything 3's networks, run by the engine on the
 * synthetic-weight models, against the official PyTorch outputs of
 * tests/data/reference/<model>/net_70x98 at every dumped stage the engine
 * runs (pos_embed_resized, backbone_layerN, head_projectN,
 * scratch_layerN_rn, scratch_refinenetN, head_conv1, head_pre_act;
 * cam_token and pose_enc for da3_small; sky_pre_act, head_depth for the
 * large ones), their outputs (depth, depth_conf, sky) and, from pose_enc,
 * extrinsics and intrinsics; outputs also against the float64 truth (f64/).
 * The ray branch of da3_small (scratch_refinenetN_aux, head_conv1_aux,
 * ray_pre_act, head_ray*) is not run: the model deletes its result.
 *
 * With DS_TEST_DEVICE=cuda (`make test-gpu`) the CUDA cases run on the GPU.
 * The sanitizer build runs da3_small's fast ops only; the network on the
 * reference ops with DS_TEST_SLOW=1.
 * Also the post-processing on its own: the camera of a known pose, and the
 * sky step's quantile on ties, tiny masks and NaN.
 *
 * Tolerance: relative L2 <= 1e-4 (the reference README measures float32
 * PyTorch against float64 at 5e-7 .. 2e-6 here).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "model/da3_post.h" /* ds_da3_camera, ds_da3_sky_fill */
#include "src/io/image.h" /* ds_image_read */
#include "src/io/npy.h"
#include "tests/net_stages.h"
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/test.h"

static const double TOLERANCE = 1e-4;

/* The CUDA backend's device: the emulator in `make test`, the GPU with
 * DS_TEST_DEVICE=cuda (`make test-gpu`). */
static ds_device g_device = DS_DEVICE_CUDA_EMU;

enum { H = 70, W = 98 };

/* The stages, and a copy of the outputs the checks need after the run. */
typedef struct capture {
    net_stages stages;
    float pose_enc[9];
    float *sky;
    int have_pose, have_sky;
} capture;

static void on_stage(const char *name, const float *nchw, int ch, int h, int w, void *user) {
    capture *c = user;
    net_stages_on_stage(name, nchw, ch, h, w, &c->stages);
    if (!strcmp(name, "pose_enc") && ch == 9) {
        memcpy(c->pose_enc, nchw, sizeof c->pose_enc);
        c->have_pose = 1;
    } else if (!strcmp(name, "sky") && c->sky && ch == 1 && h == H && w == W) {
        memcpy(c->sky, nchw, (size_t)H * W * sizeof *c->sky);
        c->have_sky = 1;
    }
}

static void both(net_stages *c, const char *name, const float *v, size_t n) {
    char f64[300];
    snprintf(f64, sizeof f64, "%s/f64", c->dir);
    net_stages_compare(c, NULL, "fp32", name, v, n);
    net_stages_compare(c, f64, "fp64", name, v, n);
}

/* arch's net case; `stages`: how many comparisons in all. `input_from`: the
 * folder whose input.npy the case uses (the metric model keeps only what
 * differs from the mono one). */
static void check_net_on(const char *arch, const char *input_from, ds_device device, int reference, int stages) {
    char model[512], dir[256], input[600];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_%dx%d", arch, H, W);
    snprintf(input, sizeof input, "tests/data/reference/%s/net_%dx%d/input.npy", input_from, H, W);
    ds_npy x;
    CHECK_OK(ds_npy_read(input, &x));
    CHECK(ds_npy_numel(&x) == 3 * H * W);
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = device;
    p.reference = reference;
    p.autotune = 0;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    float *depth = malloc((size_t)H * W * sizeof *depth), *sky = malloc((size_t)H * W * sizeof *sky);
    CHECK(depth && sky);
    capture c = {.sky = sky};
    net_stages_init(&c.stages, dir, TOLERANCE);
    printf("  %s (%s)\n", arch, device == DS_DEVICE_CUDA_EMU ? "cuda-emu" : device == DS_DEVICE_CUDA ? "cuda"
                                 : reference ? "reference ops" : "fast ops");
    ds_status s = ds_engine_run_stages(e, x.data, H, W, depth, on_stage, &c);
    ds_engine_free(e);
    ds_npy_free(&x);
    CHECK_OK(s);
    if (c.have_pose) { /* da3_small: depth, confidence (a stage) and the camera */
        both(&c.stages, "depth", depth, (size_t)H * W);
        float ext[12], intr[9];
        ds_da3_camera(c.pose_enc, W, H, ext, intr);
        both(&c.stages, "extrinsics", ext, 12);
        both(&c.stages, "intrinsics", intr, 9);
    } else { /* the large ones: the depth after the engine's sky step */
        CHECK(c.have_sky);
        both(&c.stages, "depth", depth, (size_t)H * W);
        both(&c.stages, "sky", sky, (size_t)H * W);
    }
    int positive = 1;
    for (int i = 0; i < H * W; i++)
        positive &= depth[i] > 0.0f;
    free(depth);
    free(sky);
    CHECK_MSG(!c.stages.failure[0], "%s", c.stages.failure);
    CHECK_MSG(c.stages.n_stages == stages, "%d comparisons", c.stages.n_stages);
    CHECK_MSG(positive, "a depth <= 0 (exp)");
}

static void check_net(const char *arch, const char *input_from, int reference, int stages) {
    check_net_on(arch, input_from, DS_DEVICE_CPU, reference, stages);
}

/* 1 pos_embed + 4 backbone + 4 project + 4 rn + 4 refinenet + head_conv1 +
 * head_pre_act + cam_token + depth_conf + pose_enc, then depth, extrinsics,
 * intrinsics twice each (fp32, fp64) */
TEST(small_matches_pytorch) { check_net("da3_small", "da3_small", 0, 22 + 6); }
/* 12 s on 2 busy cores: with DS_TEST_SLOW=1 (the new ops' references are
 * checked op by op in test_ops_da3.c in every run) */
TEST(small_reference_ops_match_pytorch) {
    const char *slow = getenv("DS_TEST_SLOW");
    if (!SANITIZED && slow && *slow == '1')
        check_net("da3_small", "da3_small", 1, 22 + 6);
    else
        printf("  (reference ops on the network: DS_TEST_SLOW=1)\n");
}
/* 1 + 4 + 4 + 4 + 4 + head_conv1 + head_pre_act + sky_pre_act + head_depth + sky
 * stages, then depth and sky twice each */
TEST(mono_large_matches_pytorch) {
    if (!SANITIZED) /* the 1.3 GB model: the plain build's */
        check_net("da3mono_large", "da3mono_large", 0, 22 + 4);
}

/* The CUDA backend under the CPU emulator: da3_small against PyTorch at
 * every stage; the large network (emulated GEMMs are plain loops; Mono and
 * Metric share it) on a 14x28
 * input against the CPU backend (the depth after the sky step), in the
 * plain build. */
TEST(small_cuda_emu_matches_pytorch) { check_net_on("da3_small", "da3_small", g_device, 0, 22 + 6); }

static void large_emu_equals_cpu(const char *arch) {
    if (SANITIZED)
        return;
    enum { SH = 14, SW = 28 };
    static float in[3 * SH * SW], depth[2][SH * SW];
    for (int i = 0; i < 3 * SH * SW; i++)
        in[i] = (float)sin(0.37 * i) * 2.0f;
    for (int k = 0; k < 2; k++) {
        ds_engine *e;
        CHECK_OK(test_open_engine(arch, k ? DS_DEVICE_CPU : g_device, 0, DS_PRECISION_FP32, &e));
        ds_status s = ds_engine_run(e, in, SH, SW, depth[k]);
        ds_engine_free(e);
        CHECK_OK(s);
    }
    const double err = op_rel_l2(depth[0], depth[1], SH * SW);
    printf("  %s at %dx%d, the CUDA backend against the CPU: depth rel L2 %.2e\n", arch, SH, SW, err);
    CHECK_MSG(err <= TOLERANCE, "relative L2 %.3g", err);
}

/* da3mono_large is the same network with the same tensors (its CPU parity above) */
TEST(metric_large_cuda_emu_equals_cpu) { large_emu_equals_cpu("da3metric_large"); }

/* A mesh built with the camera da3_small estimates for a photo (its field
 * of view along the long side, every vertex on its pixel's ray at its
 * depth), seen from that camera, is the photo: every vertex projects, by
 * the estimated focal length, back onto its own UV pixel position. */
TEST(mesh_from_estimated_camera_projects_to_the_photo) {
    ds_image img;
    CHECK_OK(ds_image_read("tests/data/reference/da3_small/pipeline_211x157/image.png", 0, &img));
    const int w = img.width, h = img.height;
    char model[512];
    snprintf(model, sizeof model, "%s/da3_small.gguf", test_models_dir());
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    float *depth = malloc((size_t)w * h * sizeof *depth);
    ds_solve_params sp = ds_solve_default_params();
    sp.height = 70;
    ds_extras ex = {0};
    ds_status st = ds_engine_solve_rgb8_ex(e, img.rgb, w, h, (size_t)w * 3, &sp, depth, &ex);
    ds_mesh_params mp = ds_mesh_default_params();
    mp.projection = DS_MESH_CAMERA;
    mp.metric = 1; /* DA3's depth, placed as it is */
    mp.fov_deg = w >= h ? ex.camera.fov_x_deg : ex.camera.fov_y_deg;
    ds_mesh m = {0}, asked = {0};
    if (st == DS_OK)
        st = ds_mesh_build(depth, w, h, &mp, &m);
    /* the engine's mesh call with fov 0 takes the same estimate itself */
    ds_mesh_params mp0 = ds_mesh_default_params();
    mp0.projection = DS_MESH_CAMERA;
    mp0.fov_deg = 0.0f;
    if (st == DS_OK)
        st = ds_engine_mesh_rgb8(e, img.rgb, w, h, (size_t)w * 3, &sp, &mp0, NULL, &asked);
    ds_engine_free(e);
    const bool same = st == DS_OK && asked.n_vertices == m.n_vertices && asked.n_triangles == m.n_triangles &&
                      asked.yfov == m.yfov &&
                      !memcmp(asked.vertices, m.vertices, (size_t)m.n_vertices * 8 * sizeof(float));
    ds_mesh_free(&asked);
    if (!same)
        ds_mesh_free(&m);
    CHECK_OK(st);
    CHECK_MSG(same, "ds_engine_mesh_rgb8 with fov 0: not the mesh of the estimated field of view");
    CHECK(ex.has_camera && ex.camera.width == w && ex.camera.fov_x_deg > 1.0f && ex.camera.fov_x_deg < 179.0f);
    /* the estimated camera's own focal length (pixels of the photo) along the long side */
    const double f = w >= h ? ex.camera.fx : ex.camera.fy;
    double worst = 0;
    for (int64_t i = 0; i < m.n_vertices; i++) {
        const float *v = m.vertices + i * 8; /* x y z nx ny nz u v; the camera looks down -Z, +Y up */
        const double px = f * v[0] / -v[2] + w / 2.0, py = -f * v[1] / -v[2] + h / 2.0;
        worst = fmax(worst, fmax(fabs(px - v[6] * w), fabs(py - v[7] * h)));
    }
    printf("  fov %.2f deg (estimated): %lld vertices back on their pixels within %.2e px\n", (double)mp.fov_deg,
           (long long)m.n_vertices, worst);
    ds_mesh_free(&m);
    free(depth);
    ds_image_free(&img);
    CHECK_MSG(worst < 1e-2, "a vertex %.3g px off its pixel", worst);
}

/* The identity rotation and a half turn about z; the fields of view to focal lengths. */
TEST(camera_of_known_poses) {
    const float id[9] = {1, 2, 3, 0, 0, 0, 2, 1.0f, 1.2f}; /* q = (0,0,0,2): not unit, still identity */
    float e[12], k[9];
    ds_da3_camera(id, 98, 70, e, k);
    const float want[12] = {1, 0, 0, -1, 0, 1, 0, -2, 0, 0, 1, -3};
    for (int i = 0; i < 12; i++)
        CHECK_MSG(fabsf(e[i] - want[i]) < 1e-6f, "extrinsics[%d] = %g", i, (double)e[i]);
    CHECK(fabsf(k[0] - 49.0f / tanf(0.6f)) < 1e-4f && fabsf(k[4] - 35.0f / tanf(0.5f)) < 1e-4f);
    CHECK(k[2] == 49.0f && k[5] == 35.0f && k[8] == 1.0f && k[1] == 0 && k[3] == 0 && k[6] == 0 && k[7] == 0);
    const float turn[9] = {1, 0, 0, 0, 0, 1, 0, 0.0f, 0.0f}; /* 180 degrees about z; fov 0 -> 1e-6 */
    ds_da3_camera(turn, 10, 10, e, k);
    CHECK(e[0] == -1.0f && e[5] == -1.0f && e[10] == 1.0f && e[3] == 1.0f);
    CHECK(k[0] == 5.0f / 1e-6f);
}

/* torch.quantile(v, 0.99) linear, by hand: sorted v, rank 0.99 (n - 1). */
static float quantile99(float *v, int n) {
    for (int i = 1; i < n; i++) /* insertion sort: small n */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            float t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    double r = 0.99 * (n - 1);
    int lo = (int)floor(r);
    return (float)(v[lo] + (r - lo) * (v[lo + 1 < n ? lo + 1 : lo] - v[lo]));
}

TEST(sky_fill_quantile) {
    enum { N = 64 };
    float depth[N], sky[N], v[N], copy[N];
    /* 11 clear, 53 sky: filled; ties among the clear depths */
    for (int i = 0; i < N; i++) {
        depth[i] = (float)(i % 5);
        sky[i] = i < 11 ? 0.1f : 0.9f;
    }
    for (int i = 0; i < 11; i++)
        v[i] = depth[i];
    float want = quantile99(v, 11), got = ds_da3_sky_fill(depth, sky, N);
    CHECK_MSG(fabsf(got - want) < 1e-6f, "quantile %g, want %g", (double)got, (double)want);
    for (int i = 0; i < N; i++)
        CHECK(i < 11 ? depth[i] == (float)(i % 5) : depth[i] == got);
    /* exactly 10 clear pixels: left alone; exactly 10 sky pixels: left alone */
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N; i++) {
            depth[i] = copy[i] = (float)i;
            sky[i] = (i < 10) == (t == 0) ? 0.0f : 1.0f;
        }
        CHECK(isnan(ds_da3_sky_fill(depth, sky, N)));
        CHECK(!memcmp(depth, copy, sizeof depth));
    }
    /* the threshold: 0.3 is sky, just below is not; NaN is sky */
    for (int i = 0; i < N; i++) {
        depth[i] = (float)(N - i);
        sky[i] = i < 20 ? nextafterf(0.3f, 0.0f) : (i < 40 ? 0.3f : NAN);
    }
    for (int i = 0; i < 20; i++)
        v[i] = depth[i];
    want = quantile99(v, 20);
    got = ds_da3_sky_fill(depth, sky, N);
    CHECK_MSG(fabsf(got - want) < 1e-5f, "quantile %.9g, want %.9g", (double)got, (double)want);
    CHECK(depth[19] == 45.0f && depth[20] == got && depth[63] == got);
    /* all equal: the quantile is that value */
    for (int i = 0; i < N; i++) {
        depth[i] = 2.5f;
        sky[i] = (float)(i % 2);
    }
    CHECK(ds_da3_sky_fill(depth, sky, N) == 2.5f);
}

int main(void) {
    if (!test_cuda_device("test_da3", "da3_small", &g_device))
        return 0;
    if (g_device == DS_DEVICE_CUDA) { /* make test-gpu: the device cases alone */
        RUN(small_cuda_emu_matches_pytorch);
        RUN(metric_large_cuda_emu_equals_cpu);
        return test_summary();
    }
    RUN(small_matches_pytorch);
    RUN(small_reference_ops_match_pytorch);
    RUN(mono_large_matches_pytorch);
    RUN(small_cuda_emu_matches_pytorch);
    RUN(metric_large_cuda_emu_equals_cpu);
    RUN(mesh_from_estimated_camera_projects_to_the_photo);
    RUN(camera_of_known_poses);
    RUN(sky_fill_quantile);
    return test_summary();
}
