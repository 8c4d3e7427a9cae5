/*
 * model/midas_384.c: midas_v21_384 = MidasNet with the ResNeXt-101 32x8d (WSL)
 * backbone of torchvision, features 256. BatchNorm eps 1e-5. Its decoder's
 * ResidualConvUnit uses an in-place ReLU, so skips add relu(x).
 */
#include "model/arch.h"
#include "model/decoder.h"

static const float BN_EPS = 1e-5f;

static ds_val conv_bn(ds_builder *b, ds_val x, const char *conv, const char *bn, int out, int k,
                      int stride, int groups, ds_act act, ds_val residual) {
    ds_conv_spec s = {.name = conv, .out = out, .k = k, .stride = stride, .pad = k / 2,
                      .groups = groups, .bn = bn, .bn_eps = BN_EPS, .act = act};
    return ds_b_conv(b, x, &s, residual);
}

/* torchvision Bottleneck, groups 32, width per group 8: stride on the 3x3. */
static ds_val bottleneck(ds_builder *b, ds_val x, const char *p, int planes, int stride) {
    int width = planes * 4; /* planes * (8 / 64) * 32 */
    int out = planes * 4;   /* expansion 4 */
    int64_t cin = x >= 0 ? ds_b_shape(b, x)[3] : 0;
    ds_val skip = x;
    if (stride != 1 || cin != out)
        skip = conv_bn(b, x, ds_b_name(b, "%s.downsample.0", p),
                       ds_b_name(b, "%s.downsample.1", p), out, 1, stride, 1, DS_ACT_NONE, -1);
    ds_val h = conv_bn(b, x, ds_b_name(b, "%s.conv1", p), ds_b_name(b, "%s.bn1", p), width, 1, 1,
                       1, DS_ACT_RELU, -1);
    h = conv_bn(b, h, ds_b_name(b, "%s.conv2", p), ds_b_name(b, "%s.bn2", p), width, 3, stride,
                32, DS_ACT_RELU, -1);
    return conv_bn(b, h, ds_b_name(b, "%s.conv3", p), ds_b_name(b, "%s.bn3", p), out, 1, 1, 1,
                   DS_ACT_RELU, skip);
}

void ds_describe_midas_v21_384(ds_builder *b, int h, int w) {
    static const int blocks[4] = {3, 4, 23, 3};
    ds_val x = ds_b_input(b, h, w);
    x = conv_bn(b, x, "pretrained.layer1.0", "pretrained.layer1.1", 64, 7, 2, 1, DS_ACT_RELU, -1);
    x = ds_b_maxpool(b, x, 3, 2, 1, false);
    ds_val layer[4];
    for (int l = 0; l < 4; l++) {
        int planes = 64 << l;
        for (int j = 0; j < blocks[l]; j++) {
            const char *p = l == 0 ? ds_b_name(b, "pretrained.layer1.4.%d", j)
                                   : ds_b_name(b, "pretrained.layer%d.%d", l + 1, j);
            x = bottleneck(b, x, p, planes, (j == 0 && l > 0) ? 2 : 1);
        }
        layer[l] = x;
    }
    static const int width[4] = {256, 256, 256, 256};
    ds_val rn[4];
    ds_decoder_layer_rn(b, layer, width, rn);
    ds_val path = ds_decoder_fusion(b, 4, rn[3], -1, 0, 0, 0, true);
    path = ds_decoder_fusion(b, 3, path, rn[2], 0, 0, 0, true);
    path = ds_decoder_fusion(b, 2, path, rn[1], 0, 0, 0, true);
    path = ds_decoder_fusion(b, 1, path, rn[0], 0, 0, 0, true);
    ds_decoder_head(b, path, 128, false);
}
