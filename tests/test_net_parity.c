/*
 * test_net_parity.c: each network, run by the engine on the synthetic-weight
 * model, against the official PyTorch outputs of tests/data/reference/
 * <model>/net_HxW (64x96; dpt_levit_224's own 224x224) at every dumped stage
 * and at the output.
 *
 * The Swin models take one size: their cases are net_384x384 (net_256x256
 * for Swin2-T), whose input is the reference formula's 2 u("input:HxW")
 * (ds_synth_input, checked against a stored input in test_convert.c), and
 * whose dumps are every stage the reference kept a float32 copy of (the
 * 384 models' largest stages were left out for size).
 *
 * Tolerance (tests/ref_case.h): relative L2 <= 1e-4 against float32 PyTorch.
 * The reference README measures float32 PyTorch against float64 at 1.8e-6
 * (small), 3.0e-6 (v2.1 384), 3.1e-5 (DPT-Hybrid) and 1.1e-6 to 4.3e-6 for
 * Swin, 1.2e-6 to 4.5e-6 for BEiT: a correct float32 engine lands in that
 * range, and above 1e-4 is a bug. The BEiT cases (4 x 6 patches) also run
 * the relative position bias resized from the trained 32 x 32 or 24 x 24
 * grid. Where float32 PyTorch itself is further than 3e-5 from float64 (the
 * synthetic LeViT, 4.6e-7 at its first stage to 1.2e-3 at the output), the
 * float64 truth within 3x PyTorch's own distance. Each stage's measured
 * error is printed.
 *
 * Depth Anything V2's five reference networks at 70x98 (5x7 patches:
 * pos_embed_resized, backbone_layerN, head_projectN, scratch_layerN_rn,
 * scratch_refinenetN, head_conv1, head_pre_act), and their output against
 * the float64 truth (f64/) too: float32 PyTorch is 2.5e-7 .. 2e-6 from it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "depthsolve.h"
#include "src/io/npy.h"
#include "weights_tools/synth.h" /* ds_synth_input */
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/net_stages.h" /* net_stages: Depth Anything V2 */
#include "tests/ref_case.h" /* ref_case_target */
#include "tests/test.h"

typedef struct stage_check {
    const char *dir;
    int n_stages;
    char failure[512];
} stage_check;

/* Compares a tensor with its reference, if the case has one (the fixed-size
 * models dump fewer stages); n_stages counts the comparisons. */
static void compare(stage_check *c, const char *name, const float *data, size_t n,
                    const int64_t *shape, int ndim) {
    char path[600];
    double bound;
    if (!ref_case_target(c->dir, name, path, sizeof path, &bound))
        return;
    ds_npy ref;
    if (ds_npy_read(path, &ref) != DS_OK) {
        snprintf(c->failure, sizeof c->failure, "%s", ds_last_error());
        return;
    }
    int same = ref.ndim == ndim && (size_t)ds_npy_numel(&ref) == n;
    for (int d = 0; same && d < ndim; d++)
        same = ref.shape[d] == shape[d];
    if (!same) {
        snprintf(c->failure, sizeof c->failure, "%s: shape differs from the reference", name);
    } else {
        double e = op_rel_l2(data, ref.data, n);
        printf("    %-24s rel L2 %.2e (bound %.1e%s)\n", name, e, bound, strstr(path, "/f64/") ? ", float64" : "");
        c->n_stages++;
        if (!(e <= bound) && !c->failure[0])
            snprintf(c->failure, sizeof c->failure, "%s: relative L2 %.3g > %.2g", name, e, bound);
    }
    ds_npy_free(&ref);
}

static void on_stage(const char *name, const float *nchw, int ch, int h, int w, void *user) {
    int64_t shape[4] = {1, ch, h, w};
    compare(user, name, nchw, (size_t)ch * h * w, shape, 4);
}

/* Case net_HxW of `arch` on the (3, h, w) input x: every reference stage and
 * the output, `stages` in all; `reference`: the plain CPU ops. */
static void check_net_on(const char *arch, int h, int w, int stages, int reference, const float *x) {
    char model[512], dir[512];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_%dx%d", arch, h, w);
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    p.reference = reference;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    float *depth = malloc((size_t)h * w * sizeof *depth);
    CHECK(depth);
    stage_check c = {.dir = dir};
    printf("  %s (%s ops)\n", arch, reference ? "reference" : "fast");
    ds_status s = ds_engine_run_stages(e, x, h, w, depth, on_stage, &c);
    ds_engine_free(e);
    if (s == DS_OK) {
        int64_t shape[3] = {1, h, w};
        compare(&c, "output", depth, (size_t)h * w, shape, 3);
    }
    free(depth);
    CHECK_OK(s);
    CHECK_MSG(!c.failure[0], "%s", c.failure);
    CHECK_MSG(c.n_stages == stages, "%d stages compared, %d expected", c.n_stages, stages);
}

/* Case net_HxW of `arch` on the input it was dumped with (input.npy). */
static void check_net(const char *arch, int h, int w, int stages, int reference) {
    char input[600];
    snprintf(input, sizeof input, "tests/data/reference/%s/net_%dx%d/input.npy", arch, h, w);
    ds_npy x;
    CHECK_OK(ds_npy_read(input, &x));
    CHECK_MSG(ds_npy_numel(&x) == 3 * (int64_t)h * w, "%s: not 3x%dx%d", input, h, w);
    check_net_on(arch, h, w, stages, reference, x.data);
    ds_npy_free(&x);
}

TEST(small_matches_pytorch) { check_net("midas_v21_small_256", 64, 96, 14, 0); }
TEST(v21_384_matches_pytorch) { check_net("midas_v21_384", 64, 96, 14, 0); }
TEST(dpt_hybrid_matches_pytorch) { check_net("dpt_hybrid_384", 64, 96, 14, 0); }
TEST(dpt_large_matches_pytorch) { check_net("dpt_large_384", 64, 96, 14, 0); }
TEST(small_reference_ops_match_pytorch) { check_net("midas_v21_small_256", 64, 96, 14, 1); }
/* layer1..3, layer3_rn, refinenet3, stem_transpose, head_pre_relu, output */
TEST(dpt_levit_matches_pytorch) { check_net("dpt_levit_224", 224, 224, 8, 0); }
TEST(beit_large_512_matches_pytorch) { check_net("dpt_beit_large_512", 64, 96, 14, 0); }
TEST(beit_large_384_matches_pytorch) { check_net("dpt_beit_large_384", 64, 96, 14, 0); }
TEST(beit_base_384_matches_pytorch) { check_net("dpt_beit_base_384", 64, 96, 14, 0); }

/* A Swin network at its size, on the formula's input: every stage the
 * reference kept, and the output. */
static void check_fixed(const char *arch, int size, int stages) {
    float *x = malloc((size_t)3 * size * size * sizeof *x);
    CHECK(x);
    ds_synth_input(size, size, x);
    check_net_on(arch, size, size, stages, 0, x);
    free(x);
}

TEST(swin2_tiny_matches_pytorch) { check_fixed("dpt_swin2_tiny_256", 256, 8); }
TEST(swin2_large_matches_pytorch) { check_fixed("dpt_swin2_large_384", 384, 4); }
TEST(swin2_base_matches_pytorch) { check_fixed("dpt_swin2_base_384", 384, 4); }
TEST(swin_large_matches_pytorch) { check_fixed("dpt_swin_large_384", 384, 7); }

/* Under ASan the 384 networks only load (binding and the constants their
 * descriptions compute: position-bias MLPs, tables, labels); the plain build
 * runs them, and Swin2-T runs in both. */
static void check_loads(const char *arch) {
    char model[512];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    ds_engine_free(e);
    printf("    %s loads (its run is the plain build's)\n", arch);
}

TEST(swin_384_models_load) {
    check_loads("dpt_swin2_large_384");
    check_loads("dpt_swin2_base_384");
    check_loads("dpt_swin_large_384");
}

/* Depth Anything V2's case net_HxW (tests/net_stages.h: the metric models'
 * folders keep only what differs from their relative twin's; token
 * sequences): `stages` named stages and the output; `f64`: the output
 * against f64/ too. */
static void check_dav2(const char *arch, int h, int w, int stages, int reference, int f64) {
    char model[512], dir[256], input[600];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(dir, sizeof dir, "tests/data/reference/%s/net_%dx%d", arch, h, w);
    snprintf(input, sizeof input, "%s/input.npy", dir);
    ds_npy x;
    CHECK_OK(ds_npy_read(input, &x));
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    p.reference = reference;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    ds_model_info info;
    CHECK_OK(ds_engine_model_info(e, &info));
    float *depth = malloc((size_t)h * w * sizeof *depth);
    CHECK(depth);
    net_stages c;
    net_stages_init(&c, dir, REF_CASE_TOLERANCE);
    printf("  %s (%s ops)\n", arch, reference ? "reference" : "fast");
    ds_status s = ds_engine_run_stages(e, x.data, h, w, depth, net_stages_on_stage, &c);
    ds_engine_free(e);
    ds_npy_free(&x);
    CHECK_OK(s);
    net_stages_compare(&c, NULL, "fp32", "output", depth, (size_t)h * w);
    char f64_dir[300];
    snprintf(f64_dir, sizeof f64_dir, "%s/f64", dir);
    if (f64)
        net_stages_compare(&c, f64_dir, "fp64", "output", depth, (size_t)h * w);
    /* relative depth >= 0; metres inside the Sigmoid's range */
    int in_range = 1;
    for (int i = 0; i < h * w; i++)
        in_range &= depth[i] >= 0.0f && (info.quantity != DS_DEPTH_METRIC || depth[i] < info.max_depth);
    free(depth);
    CHECK_MSG(!c.failure[0], "%s", c.failure);
    CHECK_MSG(c.n_stages == stages + 1 + f64, "%d stages compared", c.n_stages);
    CHECK_MSG(in_range, "an output outside its range");
}

TEST(dav2_vits_matches_pytorch) { check_dav2("depth_anything_v2_vits", 70, 98, 19, 0, 1); }
TEST(dav2_vitb_matches_pytorch) { check_dav2("depth_anything_v2_vitb", 70, 98, 19, 0, 1); }
TEST(dav2_vitl_matches_pytorch) { check_dav2("depth_anything_v2_vitl", 70, 98, 19, 0, 1); }
TEST(dav2_metric_hypersim_vits_matches_pytorch) { check_dav2("depth_anything_v2_metric_hypersim_vits", 70, 98, 19, 0, 1); }
TEST(dav2_metric_vkitti_vitl_matches_pytorch) { check_dav2("depth_anything_v2_metric_vkitti_vitl", 70, 98, 19, 0, 1); }
TEST(dav2_vits_reference_ops_match_pytorch) { check_dav2("depth_anything_v2_vits", 70, 98, 19, 1, 1); }

int main(void) {
    RUN(small_matches_pytorch);
    RUN(v21_384_matches_pytorch);
    RUN(dpt_hybrid_matches_pytorch);
    RUN(dpt_large_matches_pytorch);
    RUN(small_reference_ops_match_pytorch);
    RUN(dpt_levit_matches_pytorch);
    RUN(swin2_tiny_matches_pytorch);
    RUN(beit_base_384_matches_pytorch);
    if (!SANITIZED) { /* the same code as BEiT-B's, on 3x the weights: the plain build's */
        RUN(beit_large_512_matches_pytorch);
        RUN(beit_large_384_matches_pytorch);
    }
    if (SANITIZED) {
        RUN(swin_384_models_load);
    } else {
        RUN(swin2_large_matches_pytorch);
        RUN(swin2_base_matches_pytorch);
        RUN(swin_large_matches_pytorch);
    }
    RUN(dav2_vits_matches_pytorch);
    RUN(dav2_metric_hypersim_vits_matches_pytorch);
    if (!SANITIZED) { /* Depth Anything's ViT-B and ViT-L in the plain build only */
        RUN(dav2_vitb_matches_pytorch);
        RUN(dav2_vitl_matches_pytorch);
        RUN(dav2_metric_vkitti_vitl_matches_pytorch);
        RUN(dav2_vits_reference_ops_match_pytorch);
    }
    return test_summary();
}
