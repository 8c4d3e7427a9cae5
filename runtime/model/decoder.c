/* model/decoder.c: fusion blocks, residual conv units and the depth head. */
#include "model/decoder.h"

void ds_decoder_layer_rn_in(ds_builder *b, const char *scope, const ds_val layer[4], const int width[4],
                            ds_val rn[4]) {
    for (int i = 0; i < 4; i++) {
        rn[i] = -1;
        if (layer[i] < 0) /* a backbone with fewer levels (LeViT) */
            continue;
        ds_conv_spec s = {.name = ds_b_name(b, "%s.layer%d_rn", scope, i + 1),
                          .out = width[i], .k = 3, .stride = 1, .pad = 1};
        rn[i] = ds_b_conv(b, layer[i], &s, -1);
        ds_b_mark(b, ds_b_name(b, "scratch_layer%d_rn", i + 1), rn[i]);
    }
}

void ds_decoder_layer_rn(ds_builder *b, const ds_val layer[4], const int width[4], ds_val rn[4]) {
    for (int i = 0; i < 4; i++)
        if (layer[i] >= 0)
            ds_b_mark(b, ds_b_name(b, "pretrained_layer%d", i + 1), layer[i]);
    ds_decoder_layer_rn_in(b, "scratch", layer, width, rn);
}

/* conv2(relu(conv1(relu(x)))) + skip, skip = x, or relu(x) for the in-place variant. */
static ds_val residual_conv_unit(ds_builder *b, const char *prefix, ds_val x, bool inplace_relu) {
    int64_t c = ds_b_shape(b, x)[3];
    ds_conv_spec c1 = {.name = ds_b_name(b, "%s.conv1", prefix), .out = (int)c, .k = 3,
                       .stride = 1, .pad = 1, .bias = true, .in_act = DS_ACT_RELU,
                       .act = DS_ACT_RELU};
    ds_val h = ds_b_conv(b, x, &c1, -1);
    ds_conv_spec c2 = {.name = ds_b_name(b, "%s.conv2", prefix), .out = (int)c, .k = 3,
                       .stride = 1, .pad = 1, .bias = true,
                       .res_act = inplace_relu ? DS_ACT_RELU : DS_ACT_NONE};
    return ds_b_conv(b, h, &c2, x);
}

ds_val ds_decoder_fusion(ds_builder *b, int n, ds_val x0, ds_val x1, int out_h, int out_w,
                         int out_conv, bool inplace_relu) {
    return ds_decoder_fusion_in(b, "scratch", n, x0, x1, out_h, out_w, out_conv, inplace_relu);
}

/* unit1: the deepest block (x1 < 0) still holds resConfUnit1 (declared unused) */
static ds_val fusion(ds_builder *b, const char *scope, int n, ds_val x0, ds_val x1, int out_h, int out_w,
                     int out_conv, bool inplace_relu, bool unit1) {
    const char *prefix = ds_b_name(b, "%s.refinenet%d", scope, n);
    ds_val out = x0;
    if (x1 >= 0) {
        ds_val r = residual_conv_unit(b, ds_b_name(b, "%s.resConfUnit1", prefix), x1, inplace_relu);
        out = ds_b_add(b, out, r, DS_ACT_NONE);
    } else if (x0 >= 0 && unit1) {
        /* the deepest block has one input: its first unit exists but never runs */
        int64_t c = ds_b_shape(b, x0)[3];
        int64_t shape[4] = {c, c, 3, 3};
        ds_b_unused(b, DS_PARAM_CONV, ds_b_name(b, "%s.resConfUnit1.conv1", prefix), 4, shape, true);
        ds_b_unused(b, DS_PARAM_CONV, ds_b_name(b, "%s.resConfUnit1.conv2", prefix), 4, shape, true);
    }
    out = residual_conv_unit(b, ds_b_name(b, "%s.resConfUnit2", prefix), out, inplace_relu);
    if (out < 0)
        return -1;
    const int64_t *s = ds_b_shape(b, out);
    int h = out_h ? out_h : (int)s[1] * 2;
    int w = out_h ? out_w : (int)s[2] * 2;
    /* out_conv(resize(x)) as resize(out_conv(x)) when the resize enlarges:
     * a 1x1 conv and a bilinear resize commute (each output pixel's weights
     * sum to 1, so the bias passes through unchanged), and the conv then
     * runs on the smaller grid, 4x fewer multiplies for a 2x upsample. */
    const bool conv_first = (int64_t)h * w >= s[1] * s[2];
    if (!conv_first)
        out = ds_b_resize(b, out, h, w, true);
    if (out_conv > 0) {
        ds_conv_spec oc = {.name = ds_b_name(b, "%s.out_conv", prefix), .out = out_conv,
                           .k = 1, .stride = 1, .bias = true};
        out = ds_b_conv(b, out, &oc, -1);
    }
    if (conv_first)
        out = ds_b_resize(b, out, h, w, true);
    ds_b_mark(b, ds_b_name(b, "scratch_refinenet%d", n), out);
    return out;
}

ds_val ds_decoder_fusion_in(ds_builder *b, const char *scope, int n, ds_val x0, ds_val x1, int out_h, int out_w,
                            int out_conv, bool inplace_relu) {
    return fusion(b, scope, n, x0, x1, out_h, out_w, out_conv, inplace_relu, true);
}

ds_val ds_decoder_fusion_deepest(ds_builder *b, const char *scope, int n, ds_val x0, int out_h, int out_w,
                                 int out_conv) {
    return fusion(b, scope, n, x0, -1, out_h, out_w, out_conv, false, false);
}

void ds_decoder_head(ds_builder *b, ds_val x, int mid, bool align_corners) {
    ds_decoder_head_widths(b, x, mid, 32, align_corners);
}

void ds_decoder_head_widths(ds_builder *b, ds_val x, int mid, int last, bool align_corners) {
    ds_conv_spec c0 = {.name = "scratch.output_conv.0", .out = mid, .k = 3, .stride = 1,
                       .pad = 1, .bias = true};
    ds_val h = ds_b_conv(b, x, &c0, -1);
    if (h < 0)
        return;
    const int64_t *s = ds_b_shape(b, h);
    h = ds_b_resize(b, h, (int)s[1] * 2, (int)s[2] * 2, align_corners);
    ds_conv_spec c2 = {.name = "scratch.output_conv.2", .out = last, .k = 3, .stride = 1,
                       .pad = 1, .bias = true, .act = DS_ACT_RELU};
    h = ds_b_conv(b, h, &c2, -1);
    ds_conv_spec c4 = {.name = "scratch.output_conv.4", .out = 1, .k = 1, .stride = 1,
                       .bias = true};
    h = ds_b_conv(b, h, &c4, -1);
    ds_b_mark(b, "head_pre_relu", h);
    ds_b_output(b, ds_b_act(b, h, DS_ACT_RELU));
}

void ds_decoder_dpt(ds_builder *b, const ds_val layer[4]) {
    static const int width[4] = {256, 256, 256, 256};
    ds_val rn[4];
    ds_decoder_layer_rn(b, layer, width, rn);
    if (b->status != DS_OK)
        return;
    const int64_t *s3 = ds_b_shape(b, rn[2]), *s2 = ds_b_shape(b, rn[1]),
                  *s1 = ds_b_shape(b, rn[0]);
    int h3 = (int)s3[1], w3 = (int)s3[2], h2 = (int)s2[1], w2 = (int)s2[2];
    int h1 = (int)s1[1], w1 = (int)s1[2];
    ds_val path = ds_decoder_fusion(b, 4, rn[3], -1, h3, w3, 256, false);
    path = ds_decoder_fusion(b, 3, path, rn[2], h2, w2, 256, false);
    path = ds_decoder_fusion(b, 2, path, rn[1], h1, w1, 256, false);
    path = ds_decoder_fusion(b, 1, path, rn[0], 0, 0, 256, false);
    ds_decoder_head(b, path, 128, true);
}
