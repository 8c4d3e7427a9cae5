/*
 * model/da_head.c: the reassemble and fusion part of Depth Anything's DPT
 * heads (Depth-Anything-V2 depth_anything_v2/dpt.py DPTHead;
 * Depth-Anything-3 model/dpt.py DPT and model/dualdpt.py DualDPT).
 */
#include "model/da_head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/decoder.h" /* ds_decoder_layer_rn_in, ds_decoder_fusion_in */

/* torch.linspace(a, b, n) in float32 as its CPU kernel forms it: from the
 * start for the first half, from the end for the rest. */
static float linspace_at(float a, float b, int n, int i) {
    if (n == 1)
        return a;
    const float step = (b - a) / (float)(n - 1);
    return i < n / 2 ? a + step * (float)i : b - step * (float)(n - 1 - i);
}

ds_val ds_da_uv_add(ds_builder *b, ds_val x, int image_w, int image_h) {
    if (x < 0 || b->status != DS_OK)
        return -1;
    const int64_t *s = ds_b_shape(b, x);
    const int h = (int)s[1], w = (int)s[2], c = (int)s[3], quarter = c / 4;
    if (c % 4) {
        ds_b_error(b, DS_ERR_INTERNAL, "UV embedding of %d channels: not a multiple of 4", c);
        return -1;
    }
    float *pe;
    ds_val k = ds_b_constant_value(b, ds_b_name(b, "uv_embed_%dx%dx%d", h, w, c), h, w, c, &pe);
    if (!pe)
        return -1;
    /* create_uv_grid: spans from the aspect ratio, in Python doubles. u's C/2
     * channels depend on the column only and v's on the row only: each
     * column's and row's sin/cos are computed once (h + w of them, not h * w),
     * then copied to every pixel. */
    const double aspect = (double)image_w / image_h, diag = sqrt(aspect * aspect + 1.0);
    const double sx = aspect / diag, sy = 1.0 / diag;
    const int half_c = 2 * quarter;
    float *cols = malloc(((size_t)w + (size_t)h) * (size_t)half_c * sizeof *cols);
    if (!cols) {
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "UV embedding of %dx%dx%d: out of memory", h, w, c);
        return -1;
    }
    float *rows = cols + (size_t)w * half_c; /* (h, C/2): v's channels */
    for (int i = 0; i < w + h; i++) {
        const float t = i < w ? linspace_at((float)(-sx * (w - 1) / w), (float)(sx * (w - 1) / w), w, i)
                              : linspace_at((float)(-sy * (h - 1) / h), (float)(sy * (h - 1) / h), h, i - w);
        float *e = cols + (size_t)i * half_c; /* sin of each frequency, then cos */
        for (int k2 = 0; k2 < quarter; k2++) {
            const float a = t * (1.0f / powf(100.0f, (float)k2 / (float)quarter));
            e[k2] = (float)sin((double)a) * 0.1f;
            e[quarter + k2] = (float)cos((double)a) * 0.1f;
        }
    }
    for (int y = 0; y < h; y++)
        for (int xi = 0; xi < w; xi++) {
            float *p = pe + ((int64_t)y * w + xi) * c; /* u's C/2 channels, then v's */
            memcpy(p, cols + (size_t)xi * half_c, (size_t)half_c * sizeof *p);
            memcpy(p + half_c, rows + (size_t)y * half_c, (size_t)half_c * sizeof *p);
        }
    free(cols);
    return ds_b_add(b, x, k, DS_ACT_NONE);
}

/* projects[i] -> [UV] -> resize_layers[i]; marks head_project{i+1}. */
static ds_val reassemble(ds_builder *b, ds_val x, int i, const ds_arch_info *cfg, const ds_da_head *h) {
    const int out = cfg->reassemble[i];
    if (h->norm)
        x = ds_b_layernorm(b, x, h->norm, h->norm_eps);
    ds_conv_spec p = {.name = ds_b_name(b, "%s.projects.%d", h->scope, i), .out = out, .k = 1, .stride = 1,
                      .bias = true};
    x = ds_b_conv(b, x, &p, -1);
    if (h->uv_w)
        x = ds_da_uv_add(b, x, h->uv_w, h->uv_h);
    const char *resize = ds_b_name(b, "%s.resize_layers.%d", h->scope, i);
    if (i == 0 || i == 1) {
        x = ds_b_conv_transpose(b, x, resize, out, i == 0 ? 4 : 2);
    } else if (i == 3) {
        ds_conv_spec down = {.name = resize, .out = out, .k = 3, .stride = 2, .pad = 1, .bias = true};
        x = ds_b_conv(b, x, &down, -1);
    }
    ds_b_mark(b, ds_b_name(b, "head_project%d", i + 1), x);
    return x;
}

ds_val ds_da_head_fuse(ds_builder *b, const ds_val taps[4], const ds_arch_info *cfg, const ds_da_head *h) {
    ds_val layer[4], rn[4];
    for (int i = 0; i < 4; i++)
        layer[i] = reassemble(b, taps[i], i, cfg, h);
    const char *scratch = ds_b_name(b, "%s.scratch", h->scope);
    const int f = cfg->features, width[4] = {f, f, f, f};
    ds_decoder_layer_rn_in(b, scratch, layer, width, rn);
    if (b->status != DS_OK)
        return -1;
    const int64_t *s3 = ds_b_shape(b, rn[2]), *s2 = ds_b_shape(b, rn[1]), *s1 = ds_b_shape(b, rn[0]);
    const int h3 = (int)s3[1], w3 = (int)s3[2], h2 = (int)s2[1], w2 = (int)s2[2];
    const int h1 = (int)s1[1], w1 = (int)s1[2];
    ds_val path = h->deepest_unit1 ? ds_decoder_fusion_in(b, scratch, 4, rn[3], -1, h3, w3, f, false)
                                   : ds_decoder_fusion_deepest(b, scratch, 4, rn[3], h3, w3, f);
    path = ds_decoder_fusion_in(b, scratch, 3, path, rn[2], h2, w2, f, false);
    path = ds_decoder_fusion_in(b, scratch, 2, path, rn[1], h1, w1, f, false);
    return ds_decoder_fusion_in(b, scratch, 1, path, rn[0], 0, 0, f, false);
}
