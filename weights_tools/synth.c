/* synth.c: synthetic weights, bit-exact with the reference README's formula. */
#include "weights_tools/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/arch_plan.h" /* ds_arch_plan, ds_raw_keys */
#include "base/error.h"     /* ds_fail */

uint64_t ds_synth_seed(const char *key) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

float ds_synth_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (float)(z >> 40) * 0x1p-23f - 1.0f;
}

static const char *leaf_of(const char *key) {
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* The formula's cases: value = scale * u + offset, by the key's leaf and rank. */
typedef struct rule {
    float scale, offset;
    int add_offset; /* two float32 operations (multiply, then add), never fused */
} rule;

/* Rows of the formula for exact keys (the reference README's extra rows):
 * Depth Anything V2's last convolution, whose plain formula left every
 * output at zero (relative) or a saturated Sigmoid (metric); Depth Anything
 * 3's last convolutions and field of view. */
static const struct {
    const char *key;
    rule r;
} key_rules[] = {
    {"depth_head.scratch.output_conv2.2.weight", {0.005f, 0.0f, 0}},
    {"depth_head.scratch.output_conv2.2.bias", {0.1f, 1.0f, 1}},
    /* Depth Anything 3 (DA3_ROWS): exp overflowed, the field of view was 0 */
    {"model.head.scratch.output_conv2.2.weight", {0.005f, 0.0f, 0}},
    {"model.head.scratch.output_conv2.2.bias", {0.1f, 1.0f, 1}},
    {"model.head.scratch.sky_output_conv2.2.weight", {0.005f, 0.0f, 0}},
    {"model.head.scratch.sky_output_conv2.2.bias", {0.1f, -0.2f, 1}},
    {"model.cam_dec.fc_fov.0.weight", {0.002f, 0.0f, 0}},
    {"model.cam_dec.fc_fov.0.bias", {0.1f, 1.0f, 1}},
};

static rule rule_for(const char *key, int ndim, const int64_t *shape) {
    for (size_t i = 0; i < sizeof key_rules / sizeof key_rules[0]; i++)
        if (!strcmp(key, key_rules[i].key))
            return key_rules[i].r;
    const char *leaf = leaf_of(key);
    if (ndim >= 2 && !strcmp(leaf, "weight")) {
        int64_t fan_in = 1;
        for (int d = 1; d < ndim; d++)
            fan_in *= shape[d];
        return (rule){(float)sqrt(6.0 / (double)fan_in), 0.0f, 0};
    }
    if (!strcmp(leaf, "running_var"))
        return (rule){0.5f, 1.5f, 1};
    if (!strcmp(leaf, "running_mean"))
        return (rule){0.1f, 0.0f, 0};
    if (ndim == 1 && !strcmp(leaf, "weight"))
        return (rule){0.1f, 1.0f, 1};
    if (!strcmp(leaf, "bias"))
        return (rule){0.1f, 0.0f, 0};
    if (!strcmp(leaf, "attention_biases")) /* LeViT */
        return (rule){1.0f, 0.0f, 0};
    if (!strcmp(leaf, "relative_position_bias_table"))
        return (rule){1.0f, 0.0f, 0};
    if (!strcmp(leaf, "logit_scale"))
        return (rule){0.5f, 1.5f, 1};
    if (!strcmp(leaf, "q_bias") || !strcmp(leaf, "v_bias"))
        return (rule){0.1f, 0.0f, 0};
    if (!strcmp(leaf, "gamma") || !strcmp(leaf, "gamma_1") || !strcmp(leaf, "gamma_2"))
        return (rule){0.25f, 0.5f, 1}; /* layer scale */
    return (rule){0.02f, 0.0f, 0};
}

static float apply(rule r, float u) {
    float v = u * r.scale; /* the README writes `u * scale` and `0.5f * u`: same product */
    return r.add_offset ? r.offset + v : v;
}

float ds_synth_value(const char *key, int ndim, const int64_t *shape, uint64_t seed, uint64_t i) {
    return apply(rule_for(key, ndim, shape), ds_synth_uniform(seed, i));
}

void ds_synth_fill(const char *key, int ndim, const int64_t *shape, float *out) {
    ds_synth_fill_seeded(key, ndim, shape, ds_synth_seed(key), out);
}

void ds_synth_fill_seeded(const char *key, int ndim, const int64_t *shape, uint64_t seed, float *out) {
    rule r = rule_for(key, ndim, shape);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    for (int64_t i = 0; i < n; i++)
        out[i] = apply(r, ds_synth_uniform(seed, (uint64_t)i));
}

/* A key's values: the formula's, or a computed buffer's own (`expect`, NULL otherwise). */
static ds_status push_key(ds_ckpt *ck, const ds_raw_key *k, const float *expect) {
    char *name = strdup(k->name);
    if (!name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t numel = 1;
    for (int d = 0; d < k->ndim; d++)
        numel *= k->shape[d];
    size_t esize = k->is_int64 ? 8 : 4;
    void *data = calloc((size_t)numel, esize);
    if (!data) {
        free(name);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for %s", k->name);
    }
    if (expect) /* a buffer: the values the model computes, as its checkpoints hold them */
        for (int64_t i = 0; i < numel; i++) {
            if (k->is_int64)
                ((int64_t *)data)[i] = (int64_t)expect[i];
            else
                ((float *)data)[i] = expect[i];
        }
    else if (!k->is_int64)
        ds_synth_fill(k->name, k->ndim, k->shape, data);
    return ds_ckpt_push(ck, name, k->is_int64 ? DS_I64 : DS_F32, k->ndim, k->shape, data,
                        (size_t)numel * esize);
}

ds_status ds_synth_ckpt(ds_arch arch, ds_ckpt *out) {
    memset(out, 0, sizeof *out);
    ds_arch_plan plan;
    DS_TRY(ds_arch_plan_make(arch, &plan));
    ds_status s = DS_OK;
    for (size_t i = 0; i < plan.n_decls && s == DS_OK; i++) {
        ds_raw_key keys[DS_RAW_KEYS_MAX];
        int n = ds_raw_keys(&plan.decls[i], keys);
        const ds_param_decl *d = &plan.decls[i];
        for (int k = 0; k < n && s == DS_OK; k++)
            s = push_key(out, &keys[k], d->kind == DS_PARAM_BUFFER ? d->expect : NULL);
    }
    ds_arch_plan_free(&plan);
    out->format = "synthetic";
    if (s != DS_OK)
        ds_ckpt_free(out);
    return s;
}

void ds_synth_input(int h, int w, float *out) {
    char key[64];
    snprintf(key, sizeof key, "input:%dx%d", h, w);
    uint64_t seed = ds_synth_seed(key);
    for (uint64_t i = 0; i < (uint64_t)3 * (uint64_t)h * (uint64_t)w; i++)
        out[i] = 2.0f * ds_synth_uniform(seed, i);
}
