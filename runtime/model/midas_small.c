/*
 * model/midas_small.c: midas_v21_small_256 = MidasNet_small with the
 * EfficientNet-Lite3 backbone of gen-efficientnet (exportable), features 64,
 * expand=True. BatchNorm eps 1e-3, ReLU6, TF "SAME" padding on stride-2 convs.
 */
#include "model/arch.h"
#include "model/decoder.h"

static const float BN_EPS = 1e-3f;

/* One stage of blocks: (block type, kernel, first stride, width, repeats). */
typedef struct effnet_stage {
    const char *module; /* e.g. "pretrained.layer3.1" */
    int depthwise_separable;
    int k, stride, out, repeats;
} effnet_stage;

/* tf_efficientnet_lite3: arch_def scaled by channel 1.2 / depth 1.4, first and
 * last stage fixed; blocks[0:2] in layer1 after the stem, blocks[2] = layer2,
 * blocks[3:5] = layer3, blocks[5:7] = layer4. */
static const effnet_stage stages[] = {
    {"pretrained.layer1.3", 1, 3, 1, 24, 1},  {"pretrained.layer1.4", 0, 3, 2, 32, 3},
    {"pretrained.layer2.0", 0, 5, 2, 48, 3},  {"pretrained.layer3.0", 0, 3, 2, 96, 5},
    {"pretrained.layer3.1", 0, 5, 1, 136, 5}, {"pretrained.layer4.0", 0, 5, 2, 232, 6},
    {"pretrained.layer4.1", 0, 3, 1, 384, 1},
};
/* Index into `stages` after which each backbone layer ends. */
static const int layer_end[4] = {1, 2, 4, 6};

/* conv + folded BatchNorm (+ ReLU6); TF SAME for stride 2, symmetric pad else. */
static ds_val conv_bn(ds_builder *b, ds_val x, const char *conv, const char *bn, int out, int k,
                      int stride, int depthwise, ds_act act, ds_val residual) {
    ds_conv_spec s = {.name = conv, .out = out, .k = k, .stride = stride, .pad = k / 2,
                      .same = stride > 1, .depthwise = depthwise, .bn = bn,
                      .bn_eps = BN_EPS, .act = act};
    return ds_b_conv(b, x, &s, residual);
}

static ds_val effnet_block(ds_builder *b, ds_val x, const effnet_stage *st, int j) {
    const char *p = ds_b_name(b, "%s.%d", st->module, j);
    int stride = j == 0 ? st->stride : 1;
    int64_t cin = x >= 0 ? ds_b_shape(b, x)[3] : 0;
    ds_val skip = (stride == 1 && cin == st->out) ? x : -1;
    if (st->depthwise_separable) {
        ds_val h = conv_bn(b, x, ds_b_name(b, "%s.conv_dw", p), ds_b_name(b, "%s.bn1", p),
                           (int)cin, st->k, stride, 1, DS_ACT_RELU6, -1);
        return conv_bn(b, h, ds_b_name(b, "%s.conv_pw", p), ds_b_name(b, "%s.bn2", p), st->out,
                       1, 1, 0, DS_ACT_NONE, skip);
    }
    int mid = (int)cin * 6;
    ds_val h = conv_bn(b, x, ds_b_name(b, "%s.conv_pw", p), ds_b_name(b, "%s.bn1", p), mid, 1, 1,
                       0, DS_ACT_RELU6, -1);
    h = conv_bn(b, h, ds_b_name(b, "%s.conv_dw", p), ds_b_name(b, "%s.bn2", p), mid, st->k,
                stride, 1, DS_ACT_RELU6, -1);
    return conv_bn(b, h, ds_b_name(b, "%s.conv_pwl", p), ds_b_name(b, "%s.bn3", p), st->out, 1,
                   1, 0, DS_ACT_NONE, skip);
}

void ds_describe_midas_v21_small(ds_builder *b, int h, int w) {
    ds_val x = ds_b_input(b, h, w);
    x = conv_bn(b, x, "pretrained.layer1.0", "pretrained.layer1.1", 32, 3, 2, 0, DS_ACT_RELU6,
                -1);
    ds_val layer[4];
    int next = 0;
    for (int s = 0; s < (int)(sizeof stages / sizeof stages[0]); s++) {
        for (int j = 0; j < stages[s].repeats; j++)
            x = effnet_block(b, x, &stages[s], j);
        if (s == layer_end[next])
            layer[next++] = x;
    }
    static const int width[4] = {64, 128, 256, 512};
    ds_val rn[4];
    ds_decoder_layer_rn(b, layer, width, rn);
    ds_val path = ds_decoder_fusion(b, 4, rn[3], -1, 0, 0, 256, false);
    path = ds_decoder_fusion(b, 3, path, rn[2], 0, 0, 128, false);
    path = ds_decoder_fusion(b, 2, path, rn[1], 0, 0, 64, false);
    path = ds_decoder_fusion(b, 1, path, rn[0], 0, 0, 64, false);
    ds_decoder_head(b, path, 32, false);
}
