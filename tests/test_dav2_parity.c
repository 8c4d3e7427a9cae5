/*
 * test_dav2_parity.c: the Depth Anything V2 networks, run by the engine on
 * the synthetic-weight models, against the official PyTorch outputs of
 * tests/data/reference/<model>/net_70x98 (a 5x7 patch grid) at every dumped
 * stage (pos_embed_resized, backbone_layerN, head_projectN,
 * scratch_layerN_rn, scratch_refinenetN, head_conv1, head_pre_act) and the
 * output, and the output against the float64 truth (f64/).
 *
 * Tolerance: relative L2 <= 1e-4 (the reference README: PyTorch float32 is
 * 2.5e-7 .. 2e-6 from float64 on every tensor; above 1e-4 is a bug). A
 * metric model's directory holds only what differs from its relative twin
 * (same_as.json names where the rest is).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "depthsolve.h"
#include "src/io/npy.h"
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/test.h"

static const double TOLERANCE = 1e-4;
enum { H = 70, W = 98, STAGES = 19 };

typedef struct stage_check {
    char dir[256], twin[560]; /* the case's directory; where same_as.json sends the rest */
    int n_stages;
    double worst;
    char failure[512];
} stage_check;

/* dir/name.npy, else the twin's (same_as.json). */
static ds_status read_ref(const stage_check *c, const char *dir, const char *name, ds_npy *out) {
    char path[900];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (access(path, R_OK) != 0 && c->twin[0])
        snprintf(path, sizeof path, "%s/%s.npy", c->twin, name);
    return ds_npy_read(path, out);
}

static void compare_to(stage_check *c, const char *dir, const char *label, const char *name, const float *data,
                       size_t n) {
    ds_npy ref;
    if (read_ref(c, dir, name, &ref) != DS_OK) {
        snprintf(c->failure, sizeof c->failure, "%s", ds_last_error());
        return;
    }
    if ((size_t)ds_npy_numel(&ref) != n) {
        snprintf(c->failure, sizeof c->failure, "%s: %zu values, the reference has %lld", name, n,
                 (long long)ds_npy_numel(&ref));
    } else {
        double e = op_rel_l2(data, ref.data, n);
        printf("    %-20s %-4s rel L2 %.2e\n", name, label, e);
        c->n_stages++;
        c->worst = e > c->worst ? e : c->worst;
        if (!(e <= TOLERANCE) && !c->failure[0])
            snprintf(c->failure, sizeof c->failure, "%s (%s): relative L2 %.3g > %.0e", name, label, e, TOLERANCE);
    }
    ds_npy_free(&ref);
}

/* A stage (1, C, h, w) as the reference stores it: token sequences
 * (1, 1, T, C) as (1, T, C). */
static void on_stage(const char *name, const float *nchw, int ch, int h, int w, void *user) {
    stage_check *c = user;
    size_t n = (size_t)ch * h * w;
    if (h != 1) {
        compare_to(c, c->dir, "fp32", name, nchw, n);
        return;
    }
    float *tc = malloc(n * sizeof *tc);
    for (int t = 0; tc && t < w; t++)
        for (int k = 0; k < ch; k++)
            tc[(size_t)t * ch + k] = nchw[(size_t)k * w + t];
    if (tc)
        compare_to(c, c->dir, "fp32", name, tc, n);
    free(tc);
}

/* The twin directory of same_as.json, if the case has one. */
static void find_twin(stage_check *c) {
    char path[300];
    snprintf(path, sizeof path, "%s/same_as.json", c->dir);
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    if (!text)
        return;
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(j, "dir");
    if (cJSON_IsString(dir))
        snprintf(c->twin, sizeof c->twin, "%s/%s", c->dir, dir->valuestring);
    cJSON_Delete(j);
    free(text);
}

static void check_net(const char *arch, int reference) {
    char model[512], input[600];
    stage_check c;
    memset(&c, 0, sizeof c);
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(c.dir, sizeof c.dir, "tests/data/reference/%s/net_%dx%d", arch, H, W);
    snprintf(input, sizeof input, "%s/input.npy", c.dir);
    find_twin(&c);
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
    static float depth[H * W];
    printf("  %s (%s ops)\n", arch, reference ? "reference" : "fast");
    ds_status s = ds_engine_run_stages(e, x.data, H, W, depth, on_stage, &c);
    ds_engine_free(e);
    ds_npy_free(&x);
    CHECK_OK(s);
    compare_to(&c, c.dir, "fp32", "output", depth, H * W);
    char f64[300];
    snprintf(f64, sizeof f64, "%s/f64", c.dir);
    compare_to(&c, f64, "fp64", "output", depth, H * W);
    CHECK_MSG(!c.failure[0], "%s", c.failure);
    CHECK_MSG(c.n_stages == STAGES + 2, "%d of %d tensors compared", c.n_stages, STAGES + 2);
    /* metres inside the Sigmoid's range; relative depth >= 0 */
    for (int i = 0; i < H * W; i++)
        CHECK_MSG(depth[i] >= 0.0f && (info.quantity != DS_DEPTH_METRIC || depth[i] < info.max_depth),
                  "output %g at %d", (double)depth[i], i);
}

TEST(vits_matches_pytorch) { check_net("depth_anything_v2_vits", 0); }
TEST(vitb_matches_pytorch) { check_net("depth_anything_v2_vitb", 0); }
TEST(vitl_matches_pytorch) { check_net("depth_anything_v2_vitl", 0); }
TEST(metric_hypersim_vits_matches_pytorch) { check_net("depth_anything_v2_metric_hypersim_vits", 0); }
TEST(metric_vkitti_vitl_matches_pytorch) { check_net("depth_anything_v2_metric_vkitti_vitl", 0); }
TEST(vits_reference_ops_match_pytorch) { check_net("depth_anything_v2_vits", 1); }

int main(void) {
    RUN(vits_matches_pytorch);
    RUN(vitb_matches_pytorch);
    RUN(vitl_matches_pytorch);
    RUN(metric_hypersim_vits_matches_pytorch);
    RUN(metric_vkitti_vitl_matches_pytorch);
    RUN(vits_reference_ops_match_pytorch);
    return test_summary();
}
