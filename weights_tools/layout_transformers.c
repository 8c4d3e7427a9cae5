/*
 * layout_transformers.c: Depth Anything V2 as Hugging Face Transformers
 * stores it (DepthAnythingForDepthEstimation: the model.safetensors of the
 * depth-anything/Depth-Anything-V2-*-hf pages), renamed in place into the
 * official state_dict names (transformers' convert_depth_anything_to_hf.py
 * read backwards):
 *
 *   backbone.embeddings.{cls_token, mask_token}      pretrained.{cls_token, mask_token}
 *   backbone.embeddings.position_embeddings          pretrained.pos_embed
 *   backbone.embeddings.patch_embeddings.projection  pretrained.patch_embed.proj
 *   backbone.encoder.layer.I.{norm1, norm2, mlp.fc1, mlp.fc2}   pretrained.blocks.I.(same)
 *   backbone.encoder.layer.I.layer_scaleK.lambda1    pretrained.blocks.I.lsK.gamma
 *   backbone.encoder.layer.I.attention.output.dense  pretrained.blocks.I.attn.proj
 *   backbone.encoder.layer.I.attention.attention.{query, key, value}
 *                                                    pretrained.blocks.I.attn.qkv (rows q | k | v)
 *   backbone.layernorm                               pretrained.norm
 *   neck.reassemble_stage.layers.I.{projection, resize}   depth_head.{projects, resize_layers}.I
 *   neck.convs.I                                     depth_head.scratch.layer{I+1}_rn
 *   neck.fusion_stage.layers.J.projection            depth_head.scratch.refinenet{4-J}.out_conv
 *   neck.fusion_stage.layers.J.residual_layerK.convolutionL
 *                                                    depth_head.scratch.refinenet{4-J}.resConfUnitK.convL
 *   head.conv1, head.conv2, head.conv3               depth_head.scratch.output_conv1, output_conv2.0, .2
 *
 * A key outside these rules keeps its name (the converter then names it as
 * unexpected). The relative and metric heads have the same tensors; which
 * one a file holds is not in it (detect.c asks the file's path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "weights_tools/convert.h"

/* Prefix renames, first match wins; "%d" in both takes the layer number. */
static const struct {
    const char *from, *to;
} RULES[] = {
    {"backbone.embeddings.cls_token", "pretrained.cls_token"},
    {"backbone.embeddings.mask_token", "pretrained.mask_token"},
    {"backbone.embeddings.position_embeddings", "pretrained.pos_embed"},
    {"backbone.embeddings.patch_embeddings.projection.", "pretrained.patch_embed.proj."},
    {"backbone.encoder.layer.%d.layer_scale1.lambda1", "pretrained.blocks.%d.ls1.gamma"},
    {"backbone.encoder.layer.%d.layer_scale2.lambda1", "pretrained.blocks.%d.ls2.gamma"},
    {"backbone.encoder.layer.%d.attention.output.dense.", "pretrained.blocks.%d.attn.proj."},
    {"backbone.encoder.layer.%d.", "pretrained.blocks.%d."},
    {"backbone.layernorm.", "pretrained.norm."},
    {"neck.reassemble_stage.layers.%d.projection.", "depth_head.projects.%d."},
    {"neck.reassemble_stage.layers.%d.resize.", "depth_head.resize_layers.%d."},
    {"head.conv1.", "depth_head.scratch.output_conv1."},
    {"head.conv2.", "depth_head.scratch.output_conv2.0."},
    {"head.conv3.", "depth_head.scratch.output_conv2.2."},
};

/* `name` with prefix `pattern` ("%d" for a number): the number (0 if none)
 * and the rest of the name; NULL if it does not start so. */
static const char *match(const char *name, const char *pattern, int *number) {
    const char *hole = strstr(pattern, "%d");
    size_t head = hole ? (size_t)(hole - pattern) : strlen(pattern);
    *number = 0;
    if (strncmp(name, pattern, head) != 0)
        return NULL;
    if (!hole)
        return name + head;
    const char *p = name + head;
    if (*p < '0' || *p > '9')
        return NULL;
    char *end;
    long v = strtol(p, &end, 10);
    if (v > 100000)
        return NULL;
    *number = (int)v;
    size_t tail = strlen(hole + 2);
    return strncmp(end, hole + 2, tail) == 0 ? end + tail : NULL;
}

/* The official name of Transformers' `name` into out, or 0 if no rule applies
 * (q, k and v are joined apart). */
static int official_name(const char *name, char *out, size_t len) {
    int k, l, n;
    const char *rest;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        if (!(rest = match(name, RULES[i].from, &n)))
            continue;
        const char *hole = strstr(RULES[i].to, "%d");
        if (hole)
            snprintf(out, len, "%.*s%d%s%s", (int)(hole - RULES[i].to), RULES[i].to, n, hole + 2, rest);
        else
            snprintf(out, len, "%s%s", RULES[i].to, rest);
        return 1;
    }
    if ((rest = match(name, "neck.convs.%d.", &n))) {
        snprintf(out, len, "depth_head.scratch.layer%d_rn.%s", n + 1, rest);
        return 1;
    }
    if ((rest = match(name, "neck.fusion_stage.layers.%d.", &n)) && n < 4) {
        const char *r2;
        if ((r2 = match(rest, "projection.", &k))) {
            snprintf(out, len, "depth_head.scratch.refinenet%d.out_conv.%s", 4 - n, r2);
            return 1;
        }
        if ((r2 = match(rest, "residual_layer%d.", &k)) && (r2 = match(r2, "convolution%d.", &l))) {
            snprintf(out, len, "depth_head.scratch.refinenet%d.resConfUnit%d.conv%d.%s", 4 - n, k, l, r2);
            return 1;
        }
    }
    return 0;
}

static ds_ckpt_tensor *find(ds_ckpt *ck, const char *name) {
    for (size_t i = 0; i < ck->n_tensors; i++)
        if (!strcmp(ck->tensors[i].name, name))
            return &ck->tensors[i];
    return NULL;
}

/* Layer `layer`'s query, key and value `leaf` (weight or bias) joined into
 * one tensor, rows q | k | v, of the official qkv name; 0 if the layer has none. */
static ds_status join_qkv(ds_ckpt *ck, const char *label, int layer, const char *leaf, int *joined) {
    static const char *const parts[3] = {"query", "key", "value"};
    ds_ckpt_tensor *t[3];
    char name[160];
    *joined = 0;
    for (int p = 0; p < 3; p++) {
        snprintf(name, sizeof name, "backbone.encoder.layer.%d.attention.attention.%s.%s", layer, parts[p], leaf);
        t[p] = find(ck, name);
    }
    if (!t[0] && !t[1] && !t[2])
        return DS_OK;
    for (int p = 0; p < 3; p++) {
        if (!t[p])
            return ds_fail(DS_ERR_MODEL, "%s: layer %d has no attention %s.%s beside the others", label, layer,
                           parts[p], leaf);
        if (t[p]->dtype != t[0]->dtype || t[p]->ndim != t[0]->ndim || t[p]->nbytes != t[0]->nbytes ||
            memcmp(t[p]->shape, t[0]->shape, sizeof t[0]->shape))
            return ds_fail(DS_ERR_MODEL, "%s: layer %d: attention query, key and value %s differ in shape or type",
                           label, layer, leaf);
    }
    const size_t bytes = t[0]->nbytes;
    uint8_t *data = malloc(3 * bytes + 1);
    char *qkv = malloc(96);
    if (!data || !qkv) {
        free(data);
        free(qkv);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory joining q, k and v", label);
    }
    for (int p = 0; p < 3; p++)
        if (bytes)
            memcpy(data + p * bytes, t[p]->data, bytes);
    snprintf(qkv, 96, "pretrained.blocks.%d.attn.qkv.%s", layer, leaf);
    int64_t shape[DS_MAX_DIMS];
    memcpy(shape, t[0]->shape, sizeof shape);
    const int ndim = t[0]->ndim;
    const ds_dtype dtype = t[0]->dtype;
    if (ndim > 0)
        shape[0] *= 3;
    /* the parts leave the list (pointers into it go stale: look each up again) */
    for (int p = 0; p < 3; p++) {
        snprintf(name, sizeof name, "backbone.encoder.layer.%d.attention.attention.%s.%s", layer, parts[p], leaf);
        ds_ckpt_tensor *gone = find(ck, name);
        free(gone->name);
        free(gone->owned);
        *gone = ck->tensors[--ck->n_tensors];
    }
    *joined = 1;
    return ds_ckpt_push(ck, qkv, dtype, ndim, shape, data, 3 * bytes);
}

static int is_transformers_dav2(ds_ckpt *ck) {
    return find(ck, "backbone.embeddings.patch_embeddings.projection.weight") && find(ck, "neck.convs.0.weight") &&
           find(ck, "head.conv3.weight");
}

ds_status ds_ckpt_to_official(ds_ckpt *ck, const char *label, const char **layout) {
    *layout = NULL;
    if (!is_transformers_dav2(ck))
        return DS_OK;
    for (int layer = 0, more = 1; more; layer++) {
        int w, b;
        DS_TRY(join_qkv(ck, label, layer, "weight", &w));
        DS_TRY(join_qkv(ck, label, layer, "bias", &b));
        more = w || b;
    }
    for (size_t i = 0; i < ck->n_tensors; i++) {
        char to[192];
        if (!official_name(ck->tensors[i].name, to, sizeof to))
            continue;
        char *copy = strdup(to);
        if (!copy)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory renaming tensors", label);
        free(ck->tensors[i].name);
        ck->tensors[i].name = copy;
    }
    *layout = "transformers";
    return DS_OK;
}
