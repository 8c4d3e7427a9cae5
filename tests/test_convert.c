/*
 * test_convert.c: synth + convert for all four architectures. Every stored
 * tensor is recomputed here from the synthetic formula with a plain
 * reference fold (BatchNorm, weight standardization, channels-last layout)
 * and compared. Also: the formula's published check values, architecture
 * detection, and errors for missing, unexpected and mis-shaped tensors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/arch_plan.h"
#include "weights_tools/convert.h"
#include "base/error.h"
#include "gguf/gguf.h"
#include "weights_tools/synth.h"
#include "tests/test.h"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

TEST(formula_matches_published_check_values) {
    const char *k = "pretrained.layer1.0.weight";
    int64_t w_shape[4] = {32, 3, 3, 3};
    uint64_t seed = ds_synth_seed(k);
    CHECK(bits(ds_synth_value(k, 4, w_shape, seed, 0)) == 0x3dd81f6c);
    CHECK(bits(ds_synth_value(k, 4, w_shape, seed, 2)) == 0xbe3ac958);
    const char *v = "pretrained.layer1.1.running_var";
    int64_t c_shape[1] = {32};
    CHECK(bits(ds_synth_value(v, 1, c_shape, ds_synth_seed(v), 0)) == 0x3ffeeacc);
    const char *g = "pretrained.layer1.1.weight";
    CHECK(bits(ds_synth_value(g, 1, c_shape, ds_synth_seed(g), 1)) == 0x3f805c14);
    const char *ab = "pretrained.model.blocks.0.m.attention_biases"; /* dpt_levit_224: plain u */
    int64_t ab_shape[2] = {6, 196};
    CHECK(bits(ds_synth_value(ab, 2, ab_shape, ds_synth_seed(ab), 0)) == 0xbf3bcc04);
    const char *g1 = "pretrained.model.blocks.0.gamma_1"; /* BEiT's layer scale: 0.5 + 0.25 u */
    const int64_t g1_shape[1] = {768}, rpb_shape[2] = {2212, 12};
    CHECK(bits(ds_synth_value(g1, 1, g1_shape, ds_synth_seed(g1), 0)) == 0x3f20f2e0);
    const char *rpb = "pretrained.model.blocks.0.attn.relative_position_bias_table"; /* plain u */
    CHECK(bits(ds_synth_value(rpb, 2, rpb_shape, ds_synth_seed(rpb), 1)) == 0x3f61165e);
}

/* The reference README's check values for the rows Depth Anything V2 adds. */
TEST(formula_matches_dav2_check_values) {
    const struct {
        const char *key;
        int ndim;
        int64_t shape[4];
        uint32_t bits;
    } rows[] = {
        {"pretrained.blocks.0.ls1.gamma", 1, {384}, 0x3f0865b9},
        {"pretrained.patch_embed.proj.weight", 4, {384, 3, 14, 14}, 0xbdaee5cb},
        {"depth_head.resize_layers.0.weight", 4, {48, 48, 4, 4}, 0x3c07a0e3},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const float v = ds_synth_value(rows[i].key, rows[i].ndim, rows[i].shape, ds_synth_seed(rows[i].key), 0);
        CHECK_MSG(bits(v) == rows[i].bits, "%s[0] = %.9g (%08x), published %08x", rows[i].key, v, bits(v),
                  rows[i].bits);
    }
    /* the head's last conv: 0.005 u and 1 + 0.1 u, not the plain rows */
    const int64_t ws[4] = {1, 32, 1, 1}, bs[1] = {1};
    const char *w = "depth_head.scratch.output_conv2.2.weight", *b = "depth_head.scratch.output_conv2.2.bias";
    const float u = ds_synth_uniform(ds_synth_seed(w), 0), ub = ds_synth_uniform(ds_synth_seed(b), 0);
    CHECK(ds_synth_value(w, 4, ws, ds_synth_seed(w), 0) == 0.005f * u);
    CHECK(ds_synth_value(b, 1, bs, ds_synth_seed(b), 0) == 1.0f + 0.1f * ub);
}

TEST(input_generator_matches_reference_input) {
    FILE *f = fopen("tests/data/reference/midas_v21_small_256/net_64x96/input.npy", "rb");
    CHECK(f);
    static float ref[3 * 64 * 96], mine[3 * 64 * 96];
    fseek(f, -(long)sizeof ref, SEEK_END); /* float32 payload is the file's tail */
    size_t got = fread(ref, 1, sizeof ref, f);
    fclose(f);
    CHECK(got == sizeof ref);
    ds_synth_input(64, 96, mine);
    CHECK(memcmp(ref, mine, sizeof ref) == 0);
}

static float *formula(const char *key, int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    float *v = malloc((size_t)n * sizeof *v + 1);
    ds_synth_fill(key, ndim, shape, v);
    return v;
}

static float *formula_1d(const char *prefix, const char *leaf, int64_t n) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", prefix, leaf);
    return formula(key, 1, &n);
}

/* The BatchNorm d->bn folded into `bias` (out values, the layer's own bias or
 * zeros on entry); returns its scales gamma / sqrt(var + eps), or NULL
 * without a BatchNorm. */
static double *bn_factors(const ds_param_decl *d, int64_t out, float *bias) {
    if (!d->bn)
        return NULL;
    float *g = formula_1d(d->bn, "weight", out), *be = formula_1d(d->bn, "bias", out);
    float *mu = formula_1d(d->bn, "running_mean", out), *var = formula_1d(d->bn, "running_var", out);
    double *a = malloc((size_t)out * sizeof *a);
    for (int64_t o = 0; o < out; o++) {
        a[o] = (double)g[o] / sqrt((double)var[o] + d->bn_eps);
        bias[o] = (float)(((double)bias[o] - mu[o]) * a[o] + be[o]);
    }
    free(g), free(be), free(mu), free(var);
    return a;
}

/* Expected stored weight and bias of one declaration, by the plainest route. */
static void reference_fold(const ds_param_decl *d, float **w_out, float **b_out, int64_t *n_w) {
    const int64_t *s = d->shape;
    float *w = formula(d->weight_name, d->ndim, s);
    int64_t n = 1;
    for (int i = 0; i < d->ndim; i++)
        n *= s[i];
    *n_w = n;
    float *bias = NULL;
    if (d->kind == DS_PARAM_CONV) {
        int64_t per = n / s[0];
        bias = d->has_bias ? formula_1d(d->name, "bias", s[0]) : calloc((size_t)s[0], 4);
        float *out = malloc((size_t)n * 4);
        float *g = NULL, *be = NULL, *mu = NULL, *var = NULL;
        if (d->bn) {
            g = formula_1d(d->bn, "weight", s[0]);
            be = formula_1d(d->bn, "bias", s[0]);
            mu = formula_1d(d->bn, "running_mean", s[0]);
            var = formula_1d(d->bn, "running_var", s[0]);
        }
        for (int64_t o = 0; o < s[0]; o++) {
            double mean = 0, sq = 0;
            for (int64_t i = 0; i < per; i++)
                mean += w[o * per + i];
            mean /= (double)per;
            for (int64_t i = 0; i < per; i++)
                sq += (w[o * per + i] - mean) * (w[o * per + i] - mean);
            double std = sqrt(sq / (double)per + d->ws_eps);
            double a = d->bn ? (double)g[o] / sqrt((double)var[o] + d->bn_eps) : 1.0;
            for (int64_t c = 0; c < s[1]; c++)
                for (int64_t y = 0; y < s[2]; y++)
                    for (int64_t x = 0; x < s[3]; x++) {
                        float v = w[((o * s[1] + c) * s[2] + y) * s[3] + x];
                        if (d->ws_eps > 0)
                            v = (float)((v - mean) / std);
                        if (d->bn)
                            v = (float)((double)v * a);
                        out[((o * s[2] + y) * s[3] + x) * s[1] + c] = v;
                    }
            if (d->bn)
                bias[o] = (float)(((double)bias[o] - mu[o]) * a + be[o]);
        }
        if (!d->has_bias && !d->bn) {
            free(bias);
            bias = NULL;
        }
        free(g), free(be), free(mu), free(var), free(w);
        w = out;
    } else if (d->kind == DS_PARAM_CONV_T) { /* (I, O, kh, kw) -> (I, kh, kw, O), BatchNorm over O */
        float *out = malloc((size_t)n * 4);
        bias = d->has_bias ? formula_1d(d->name, "bias", s[1]) : calloc((size_t)s[1], 4);
        double *a = bn_factors(d, s[1], bias);
        for (int64_t i = 0; i < s[0]; i++)
            for (int64_t o = 0; o < s[1]; o++)
                for (int64_t y = 0; y < s[2]; y++)
                    for (int64_t x = 0; x < s[3]; x++) {
                        float v = w[((i * s[1] + o) * s[2] + y) * s[3] + x];
                        out[((i * s[2] + y) * s[3] + x) * s[1] + o] = a ? (float)((double)v * a[o]) : v;
                    }
        free(a);
        free(w);
        w = out;
        if (!d->has_bias && !d->bn) {
            free(bias);
            bias = NULL;
        }
    } else if (d->kind == DS_PARAM_LINEAR && d->bn) { /* LinearNorm: (O, I) rows scaled, bias from the BatchNorm */
        bias = calloc((size_t)s[0], 4);
        double *a = bn_factors(d, s[0], bias);
        for (int64_t o = 0; o < s[0]; o++)
            for (int64_t i = 0; i < s[1]; i++)
                w[o * s[1] + i] = (float)((double)w[o * s[1] + i] * a[o]);
        free(a);
    } else if ((d->kind == DS_PARAM_LINEAR || d->kind == DS_PARAM_NORM) && d->has_bias) {
        bias = formula_1d(d->name, "bias", s[0]);
    }
    if (d->row_scale) { /* layer scale: each output row and its bias times gamma, rounded once */
        float *gamma = formula(d->row_scale, 1, &s[0]);
        for (int64_t o = 0; o < s[0]; o++) {
            for (int64_t i = 0; i < n / s[0]; i++)
                w[o * (n / s[0]) + i] = (float)((double)w[o * (n / s[0]) + i] * gamma[o]);
            bias[o] = (float)((double)bias[o] * gamma[o]);
        }
        free(gamma);
    }
    *w_out = w;
    *b_out = bias;
}

/* Within `ulps` units in the last place (0: bit-identical). */
static int close_ulps(float a, float b, int ulps) {
    if (a == b)
        return 1;
    int32_t ia = (int32_t)bits(a), ib = (int32_t)bits(b);
    if ((ia < 0) != (ib < 0))
        return 0;
    return abs(ia - ib) <= ulps;
}

static void check_synth_model(ds_arch arch) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", test_models_dir(), ds_arch_name(arch));
    ds_gguf *g;
    CHECK_OK(ds_gguf_open(path, &g));
    const char *name = NULL;
    CHECK_OK(ds_gguf_get_str(g, "general.architecture", &name));
    CHECK(!strcmp(name, ds_arch_name(arch)));
    ds_arch_plan plan;
    CHECK_OK(ds_arch_plan_make(arch, &plan));
    size_t expected_tensors = 0;
    for (size_t i = 0; i < plan.n_decls; i++) {
        const ds_param_decl *d = &plan.decls[i];
        if (d->unused) {
            CHECK_MSG(!ds_gguf_find_tensor(g, d->weight_name), "%s should be dropped",
                      d->weight_name);
            continue;
        }
        float *w, *bias;
        int64_t n;
        reference_fold(d, &w, &bias, &n);
        /* weight standardization divides where the converter multiplies by 1/std */
        int ulps = d->ws_eps > 0 ? 2 : 0;
        const ds_gguf_tensor *t = ds_gguf_find_tensor(g, d->weight_name);
        CHECK_MSG(t && t->dtype == DS_F32, "%s missing", d->weight_name);
        CHECK((int64_t)(t->nbytes / 4) == n);
        const float *got = t->data;
        for (int64_t k = 0; k < n; k++)
            CHECK_MSG(close_ulps(got[k], w[k], ulps), "%s[%lld]: %.9g vs reference %.9g",
                      d->weight_name, (long long)k, got[k], w[k]);
        expected_tensors++;
        if (bias) {
            const ds_gguf_tensor *tb = ds_gguf_find_tensor(g, d->bias_name);
            CHECK_MSG(tb && tb->dtype == DS_F32, "%s missing", d->bias_name);
            const float *gb = tb->data;
            for (size_t k = 0; k < tb->nbytes / 4; k++)
                CHECK_MSG(close_ulps(gb[k], bias[k], 0), "%s[%zu]: %.9g vs %.9g", d->bias_name,
                          k, gb[k], bias[k]);
            expected_tensors++;
        } else {
            CHECK_MSG(!d->bias_name || !ds_gguf_find_tensor(g, d->bias_name), "%s unexpected",
                      d->bias_name);
        }
        free(w);
        free(bias);
    }
    CHECK_MSG(ds_gguf_n_tensors(g) == expected_tensors, "%zu tensors, expected %zu",
              ds_gguf_n_tensors(g), expected_tensors);
    ds_arch_plan_free(&plan);
    ds_gguf_close(g);
}

TEST(synth_small_folds_like_reference) { check_synth_model(DS_ARCH_MIDAS_V21_SMALL_256); }
TEST(synth_v21_384_folds_like_reference) { check_synth_model(DS_ARCH_MIDAS_V21_384); }
TEST(synth_dpt_hybrid_folds_like_reference) { check_synth_model(DS_ARCH_DPT_HYBRID_384); }
TEST(synth_dpt_large_folds_like_reference) { check_synth_model(DS_ARCH_DPT_LARGE_384); }
TEST(synth_dpt_levit_folds_like_reference) { check_synth_model(DS_ARCH_DPT_LEVIT_224); }
/* every kind Swin v2 adds: linears without bias, q/v biases, logit scales (not the buffers: never stored) */
TEST(synth_swin2_tiny_folds_like_reference) { check_synth_model(DS_ARCH_DPT_SWIN2_TINY_256); }

/* The published check values of the Swin v2 rows of the formula. */
TEST(swin2_formula_rows_match_published_check_values) {
    const char *ls = "pretrained.model.layers.0.blocks.0.attn.logit_scale";
    const int64_t ls_shape[3] = {3, 1, 1}, qb_shape[1] = {96};
    CHECK(bits(ds_synth_value(ls, 3, ls_shape, ds_synth_seed(ls), 0)) == 0x3fdd9d2c);
    const char *qb = "pretrained.model.layers.0.blocks.0.attn.q_bias";
    CHECK(bits(ds_synth_value(qb, 1, qb_shape, ds_synth_seed(qb), 0)) == 0xbdc6a127);
}
TEST(synth_depth_anything_v2_folds_like_reference) { check_synth_model(DS_ARCH_DEPTH_ANYTHING_V2_VITS); }
/* BEiT-B: q/v biases, the layer scale folded, the index buffers checked and
 * not stored (BEiT-L declares the same kinds: 3x the time for nothing new) */
TEST(synth_beit_base_folds_like_reference) { check_synth_model(DS_ARCH_DPT_BEIT_BASE_384); }

TEST(metadata_describes_the_model) {
    char path[512];
    snprintf(path, sizeof path, "%s/dpt_hybrid_384.gguf", test_models_dir());
    ds_gguf *g;
    CHECK_OK(ds_gguf_open(path, &g));
    uint32_t u;
    const char *s;
    float mean[3];
    int32_t hooks[4];
    CHECK_OK(ds_gguf_get_u32(g, "depthsolve.net_size", &u));
    CHECK(u == 384);
    CHECK_OK(ds_gguf_get_str(g, "depthsolve.resize_method", &s));
    CHECK(!strcmp(s, "minimal"));
    CHECK_OK(ds_gguf_get_f32_array(g, "depthsolve.mean", mean, 3));
    CHECK(mean[0] == 0.5f && mean[2] == 0.5f);
    CHECK_OK(ds_gguf_get_i32_array(g, "depthsolve.vit.hooks", hooks, 4));
    CHECK(hooks[0] == -1 && hooks[2] == 8 && hooks[3] == 11);
    CHECK_OK(ds_gguf_get_u32(g, "depthsolve.format_version", &u));
    CHECK(u == 1);
    ds_gguf_close(g);
}

TEST(f16_weights_are_the_rounded_f32_weights) {
    char path[512];
    snprintf(path, sizeof path, "%s/small_f16.gguf", getenv("DS_TEST_TMP") ? getenv("DS_TEST_TMP") : "/tmp");
    ds_convert_params p = ds_convert_default_params();
    p.dtype = DS_WEIGHTS_F16;
    CHECK_OK(ds_synth_file(DS_ARCH_MIDAS_V21_SMALL_256, path, &p));
    char f32_path[512];
    snprintf(f32_path, sizeof f32_path, "%s/midas_v21_small_256.gguf", test_models_dir());
    ds_gguf *h, *f;
    CHECK_OK(ds_gguf_open(path, &h));
    CHECK_OK(ds_gguf_open(f32_path, &f));
    CHECK(ds_gguf_n_tensors(h) == ds_gguf_n_tensors(f));
    size_t n_f16 = 0, n_matrices = 0;
    for (size_t i = 0; i < ds_gguf_n_tensors(f); i++)
        n_matrices += ds_gguf_tensor_at(f, i)->ndim >= 2;
    for (size_t i = 0; i < ds_gguf_n_tensors(h); i++) {
        const ds_gguf_tensor *a = ds_gguf_tensor_at(h, i);
        const ds_gguf_tensor *b = ds_gguf_find_tensor(f, a->name);
        CHECK(b && b->dtype == DS_F32);
        const float *ref = b->data;
        size_t n = b->nbytes / 4;
        if (a->dtype == DS_F16) {
            n_f16++;
            CHECK(a->ndim >= 2);
            const uint16_t *hv = a->data;
            for (size_t k = 0; k < n; k++)
                CHECK_MSG(hv[k] == ds_f32_to_f16(ref[k]), "%s[%zu]", a->name, k);
        } else {
            CHECK_MSG(a->dtype == DS_F32 && a->ndim == 1, "%s should stay f32", a->name);
            CHECK(memcmp(a->data, b->data, b->nbytes) == 0);
        }
    }
    CHECK(n_f16 == n_matrices && n_f16 > 0);
    uint32_t ft;
    CHECK_OK(ds_gguf_get_u32(h, "general.file_type", &ft));
    CHECK(ft == 1);
    ds_gguf_close(h);
    ds_gguf_close(f);
    remove(path);
}

/* Names and shapes are what detection reads: every architecture's raw keys, without values
 * (synthetic values of the eight networks would be 4.6 GB to fill per run). */
static ds_status keys_only(ds_arch arch, ds_ckpt *ck) {
    memset(ck, 0, sizeof *ck);
    ds_arch_plan plan;
    DS_TRY(ds_arch_plan_make(arch, &plan));
    ds_status s = DS_OK;
    for (size_t i = 0; i < plan.n_decls && s == DS_OK; i++) {
        ds_raw_key keys[DS_RAW_KEYS_MAX];
        const int n = ds_raw_keys(&plan.decls[i], keys);
        for (int k = 0; k < n && s == DS_OK; k++)
            s = ds_ckpt_push(ck, strdup(keys[k].name), keys[k].is_int64 ? DS_I64 : DS_F32, keys[k].ndim,
                             keys[k].shape, NULL, 0);
    }
    ds_arch_plan_free(&plan);
    return s;
}

TEST(detects_each_architecture) {
    for (int a = 0; a < DS_ARCH_COUNT; a++) {
        /* architectures with the same tensors (Depth Anything V2's relative and
         * metric heads) are told apart by the file's name: each twin is
         * checked on the checkpoint of the one without a file hint */
        if (ds_arch_get((ds_arch)a)->file_hint)
            continue;
        ds_ckpt ck;
        CHECK_OK(keys_only((ds_arch)a, &ck));
        for (int t = 0; t < DS_ARCH_COUNT; t++) {
            if (t != a && (ds_arch_twins((ds_arch)a) < 2 ||
                           strcmp(ds_arch_get((ds_arch)t)->backbone, ds_arch_get((ds_arch)a)->backbone) ||
                           ds_arch_get((ds_arch)t)->net_size != ds_arch_get((ds_arch)a)->net_size))
                continue;
            char label[128];
            snprintf(label, sizeof label, "/models/%s.pth", ds_arch_name((ds_arch)t));
            ds_arch got;
            CHECK_OK(ds_detect_arch(&ck, label, &got));
            CHECK_MSG(got == (ds_arch)t, "%s detected as %s", label, ds_arch_name(got));
        }
        ds_ckpt_free(&ck);
    }
}

static ds_ckpt_tensor *find_mut(ds_ckpt *ck, const char *name) {
    for (size_t i = 0; i < ck->n_tensors; i++)
        if (!strcmp(ck->tensors[i].name, name))
            return &ck->tensors[i];
    return NULL;
}

static ds_status convert_small(ds_ckpt *ck, ds_arch arch) {
    ds_convert_params p = ds_convert_default_params();
    p.arch = arch;
    ds_converted c;
    ds_status s = ds_convert_ckpt(ck, "ck.pt", NULL, &p, &c);
    ds_converted_free(&c);
    return s;
}

TEST(missing_tensor_is_named) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    ds_ckpt_tensor *t = find_mut(&ck, "scratch.refinenet2.out_conv.bias");
    CHECK(t);
    free(t->name);
    t->name = strdup("scratch.refinenet2.out_conv.bias_renamed");
    ds_arch got;
    CHECK_FAILS(ds_detect_arch(&ck, "ck.pt", &got), DS_ERR_MODEL,
                "looks like midas_v21_small_256");
    CHECK_FAILS(convert_small(&ck, DS_ARCH_MIDAS_V21_SMALL_256), DS_ERR_MODEL,
                "missing tensor 'scratch.refinenet2.out_conv.bias' (64)");
    ds_ckpt_free(&ck);
}

TEST(misshaped_tensor_is_named) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    ds_ckpt_tensor *t = find_mut(&ck, "scratch.layer2_rn.weight");
    CHECK(t);
    t->shape[0] = 64;
    t->nbytes /= 2;
    CHECK_FAILS(convert_small(&ck, DS_ARCH_MIDAS_V21_SMALL_256), DS_ERR_MODEL,
                "'scratch.layer2_rn.weight' has shape 64x48x3x3, midas_v21_small_256 expects 128x48x3x3");
    ds_ckpt_free(&ck);
}

TEST(unexpected_tensor_is_named) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    int64_t shape[1] = {4};
    CHECK_OK(ds_ckpt_push(&ck, strdup("scratch.extra.weight"), DS_F32, 1, shape, calloc(4, 4), 16));
    CHECK_FAILS(convert_small(&ck, DS_ARCH_UNKNOWN), DS_ERR_MODEL,
                "unexpected tensor 'scratch.extra.weight'");
    ds_ckpt_free(&ck);
}

TEST(wrong_architecture_is_refused) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_LARGE_384), DS_ERR_MODEL,
                "needed by dpt_large_384");
    ds_ckpt_free(&ck);
    ds_ckpt other = {0};
    int64_t shape[2] = {2, 2};
    CHECK_OK(ds_ckpt_push(&other, strdup("fc.weight"), DS_F32, 2, shape, calloc(4, 4), 16));
    ds_arch got;
    CHECK_FAILS(ds_detect_arch(&other, "resnet.pt", &got), DS_ERR_MODEL,
                "resnet.pt: not a known MiDaS checkpoint");
    ds_ckpt_free(&other);
}

/* A checkpoint's buffer must hold what the model computes: dpt_swin_large_384's
 * declarations up to its first relative_position_index (int64), as computed,
 * get the conversion past it (to the next tensor, missing here); one value
 * changed, it is refused by name. */
TEST(changed_buffer_is_refused) {
    ds_arch_plan plan;
    CHECK_OK(ds_arch_plan_make(DS_ARCH_DPT_SWIN_LARGE_384, &plan));
    ds_ckpt ck;
    memset(&ck, 0, sizeof ck);
    const ds_param_decl *buffer = NULL;
    for (size_t i = 0; i < plan.n_decls && !buffer; i++) {
        const ds_param_decl *d = &plan.decls[i];
        ds_raw_key keys[DS_RAW_KEYS_MAX];
        const int nk = ds_raw_keys(d, keys);
        for (int k = 0; k < nk; k++) {
            int64_t n = 1;
            for (int j = 0; j < keys[k].ndim; j++)
                n *= keys[k].shape[j];
            void *data = malloc((size_t)n * 8 + 1);
            CHECK(data);
            for (int64_t j = 0; keys[k].is_int64 && j < n; j++)
                ((int64_t *)data)[j] = (int64_t)d->expect[j];
            if (!keys[k].is_int64)
                ds_synth_fill(keys[k].name, keys[k].ndim, keys[k].shape, data);
            CHECK_OK(ds_ckpt_push(&ck, strdup(keys[k].name), keys[k].is_int64 ? DS_I64 : DS_F32, keys[k].ndim,
                                  keys[k].shape, data, (size_t)n * (keys[k].is_int64 ? 8 : 4)));
        }
        if (d->kind == DS_PARAM_BUFFER && d->is_int64)
            buffer = d;
    }
    CHECK(buffer && strstr(buffer->name, "relative_position_index"));
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_SWIN_LARGE_384), DS_ERR_MODEL, "missing tensor");
    ((int64_t *)find_mut(&ck, buffer->name)->owned)[5] += 1;
    char needle[300];
    snprintf(needle, sizeof needle, "buffer '%s' holds 260 at element 5 where dpt_swin_large_384 computes 259",
             buffer->name);
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_SWIN_LARGE_384), DS_ERR_MODEL, needle);
    ds_ckpt_free(&ck);
    ds_arch_plan_free(&plan);
}

TEST(integer_weight_is_refused) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    ds_ckpt_tensor *t = find_mut(&ck, "scratch.output_conv.4.bias");
    CHECK(t);
    t->dtype = DS_I32;
    CHECK_FAILS(convert_small(&ck, DS_ARCH_MIDAS_V21_SMALL_256), DS_ERR_MODEL,
                "'scratch.output_conv.4.bias' has dtype i32, expected floating point");
    ds_ckpt_free(&ck);
}

/* A NaN or infinity in a weight, or a negative BatchNorm variance (which
 * folds into NaN), fails the write naming the checkpoint and tensor, and no
 * output file is left. */
TEST(non_finite_weights_are_refused) {
    static const struct {
        const char *tensor;
        size_t at;
        float value;
        const char *needle;
    } cases[] = {
        {"scratch.layer2_rn.weight", 5, NAN, "ck.pt: tensor 'scratch.layer2_rn.weight' comes out NaN at element"},
        {"scratch.output_conv.4.bias", 0, INFINITY, "tensor 'scratch.output_conv.4.bias' comes out infinite"},
        {"pretrained.layer1.1.running_var", 3, -1.0f, "comes out NaN"},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/nan_small.gguf", getenv("DS_TEST_TMP") ? getenv("DS_TEST_TMP") : "/tmp");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ds_ckpt ck;
        CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
        ds_ckpt_tensor *t = find_mut(&ck, cases[i].tensor);
        CHECK(t && t->dtype == DS_F32);
        memcpy((uint8_t *)t->data + cases[i].at * sizeof(float), &cases[i].value, sizeof(float));
        ds_convert_params p = ds_convert_default_params();
        p.arch = DS_ARCH_MIDAS_V21_SMALL_256;
        ds_converted c;
        remove(path);
        CHECK_OK(ds_convert_ckpt(&ck, "ck.pt", NULL, &p, &c));
        CHECK_FAILS(ds_gguf_write_file(c.writer, path), DS_ERR_MODEL, cases[i].needle);
        FILE *f = fopen(path, "rb");
        CHECK_MSG(!f, "%s: a failed conversion left %s", cases[i].tensor, path);
        if (f)
            fclose(f);
        ds_converted_free(&c);
        ds_ckpt_free(&ck);
    }
}

/* BEiT: the relative_position_index buffers are checked (an integer tensor of
 * the trained grid's shape) and dropped; the qkv linear has no bias of its
 * own, q_bias and v_bias stand for it. */
TEST(beit_index_buffers_are_checked) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_DPT_BEIT_BASE_384, &ck));
    const char *name = "pretrained.model.blocks.3.attn.relative_position_index";
    ds_ckpt_tensor *t = find_mut(&ck, name);
    CHECK(t && t->dtype == DS_I64 && t->ndim == 2 && t->shape[0] == 577 && t->shape[1] == 577);
    ((int64_t *)t->owned)[5] += 1; /* row 0 (the class query): the table's row R - 3 = 2209 */
    char needle[300];
    snprintf(needle, sizeof needle, "buffer '%s' holds 2210 at element 5 where dpt_beit_base_384 computes 2209", name);
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_BEIT_BASE_384), DS_ERR_MODEL, needle);
    ((int64_t *)t->owned)[5] -= 1;
    ds_ckpt_tensor *q = find_mut(&ck, "pretrained.model.blocks.0.attn.q_bias");
    CHECK(q);
    free(q->name);
    q->name = strdup("pretrained.model.blocks.0.attn.qkv.bias");
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_BEIT_BASE_384), DS_ERR_MODEL,
                "missing tensor 'pretrained.model.blocks.0.attn.q_bias' (768)");
    ds_ckpt_free(&ck);
}

TEST(data_parallel_prefix_and_f16_input_are_accepted) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_MIDAS_V21_SMALL_256, &ck));
    for (size_t i = 0; i < ck.n_tensors; i++) {
        ds_ckpt_tensor *t = &ck.tensors[i];
        char *name = malloc(strlen(t->name) + 8);
        sprintf(name, "module.%s", t->name);
        free(t->name);
        t->name = name;
        if (t->dtype == DS_F32) { /* store as f16, as a half-precision checkpoint would */
            size_t n = t->nbytes / 4;
            uint16_t *h = malloc(n * 2 + 1);
            for (size_t k = 0; k < n; k++)
                h[k] = ds_f32_to_f16(((const float *)t->data)[k]);
            free(t->owned);
            t->data = t->owned = h;
            t->nbytes = n * 2;
            t->dtype = DS_F16;
        }
    }
    ds_arch got;
    CHECK_OK(ds_detect_arch(&ck, "dp.pt", &got));
    CHECK(got == DS_ARCH_MIDAS_V21_SMALL_256);
    CHECK_OK(convert_small(&ck, DS_ARCH_UNKNOWN));
    ds_ckpt_free(&ck);
}

/* dpt_levit_224's attention_bias_idxs: synth writes what timm computes
 * (int64, |dy| * res + |dx|, queries of the subsampling blocks on the even
 * rows and columns); convert checks a checkpoint's copy against it and
 * stores none; a checkpoint without them converts (they are rebuilt). */
TEST(levit_index_buffers_are_checked_not_stored) {
    ds_ckpt ck;
    CHECK_OK(ds_synth_ckpt(DS_ARCH_DPT_LEVIT_224, &ck));
    const ds_ckpt_tensor *b0 = find_mut(&ck, "pretrained.model.blocks.0.m.attention_bias_idxs");
    const ds_ckpt_tensor *b8 = find_mut(&ck, "pretrained.model.blocks.8.attention_bias_idxs");
    CHECK(b0 && b0->dtype == DS_I64 && b0->shape[0] == 196 && b0->shape[1] == 196);
    CHECK(b8 && b8->dtype == DS_I64 && b8->shape[0] == 49 && b8->shape[1] == 196);
    const int64_t *i0 = b0->data, *i8 = b8->data;
    /* query (1, 1) to key (0, 0): 1 * 14 + 1; query 1 of block 8 sits at (0, 2), key (3, 0): 3 * 14 + 2 */
    CHECK(i0[15 * 196 + 0] == 15 && i0[0] == 0 && i0[195] == 13 * 14 + 13);
    CHECK(i8[1 * 196 + 3 * 14] == 3 * 14 + 2 && i8[48 * 196 + 195] == 1 * 14 + 1);
    CHECK_OK(convert_small(&ck, DS_ARCH_UNKNOWN));
    ds_ckpt_tensor *t = find_mut(&ck, "pretrained.model.blocks.8.attention_bias_idxs");
    ((int64_t *)t->owned)[7] += 1;
    CHECK_FAILS(convert_small(&ck, DS_ARCH_DPT_LEVIT_224), DS_ERR_MODEL,
                "buffer 'pretrained.model.blocks.8.attention_bias_idxs' holds 8 at element 7 where dpt_levit_224 "
                "computes 7");
    ds_ckpt without = {0};
    int buffers = 0;
    for (size_t i = 0; i < ck.n_tensors; i++) {
        const ds_ckpt_tensor *c = &ck.tensors[i];
        if (strstr(c->name, "attention_bias_idxs")) {
            buffers++;
            continue;
        }
        void *copy = malloc(c->nbytes + 1);
        memcpy(copy, c->data, c->nbytes);
        CHECK_OK(ds_ckpt_push(&without, strdup(c->name), c->dtype, c->ndim, c->shape, copy, c->nbytes));
    }
    CHECK_MSG(buffers == 14, "%d index buffers, wanted 14 (12 attentions, 2 subsampling)", buffers);
    CHECK_OK(convert_small(&without, DS_ARCH_DPT_LEVIT_224));
    ds_ckpt_free(&without);
    ds_ckpt_free(&ck);
}

int main(void) {
    RUN(formula_matches_published_check_values);
    RUN(formula_matches_dav2_check_values);
    RUN(input_generator_matches_reference_input);
    RUN(synth_small_folds_like_reference);
    RUN(synth_v21_384_folds_like_reference);
    RUN(synth_dpt_hybrid_folds_like_reference);
    RUN(synth_dpt_large_folds_like_reference);
    RUN(synth_dpt_levit_folds_like_reference);
    RUN(levit_index_buffers_are_checked_not_stored);
    RUN(synth_swin2_tiny_folds_like_reference);
    RUN(swin2_formula_rows_match_published_check_values);
    RUN(synth_depth_anything_v2_folds_like_reference);
    RUN(synth_beit_base_folds_like_reference);
    RUN(metadata_describes_the_model);
    RUN(f16_weights_are_the_rounded_f32_weights);
    RUN(detects_each_architecture);
    RUN(missing_tensor_is_named);
    RUN(misshaped_tensor_is_named);
    RUN(unexpected_tensor_is_named);
    RUN(wrong_architecture_is_refused);
    RUN(integer_weight_is_refused);
    RUN(non_finite_weights_are_refused);
    RUN(changed_buffer_is_refused);
    RUN(beit_index_buffers_are_checked);
    RUN(data_parallel_prefix_and_f16_input_are_accepted);
    return test_summary();
}
