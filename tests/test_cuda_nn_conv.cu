/*
 * test_cuda_nn_conv.cu: the kernels of kernels/nn/ that the convolutional
 * networks and the DPT decoder run, against their CPU references: add and
 * the activations (and SCALE), the convolution's bias/residual/activation
 * epilogue, max-pool, bilinear resize (and the photo path's one-map form),
 * group norm, the depthwise and the transposed convolutions; NaN through
 * the activations and the max-pool. Odd and prime shapes, size-1
 * dimensions, both aspect ratios, several block sizes, guard zones, in
 * place; thresholds: tests/cuda_kernel_test.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "tests/cuda_kernel_test.h" /* run_graph_op, make_node, CHECK_CASE, kernel_tests_main */
#include "photo/preprocess.h"       /* ds_resize_bilinear_aligned */

namespace DS_CUDA_NS {

TEST(add) {
    g_worst = 0;
    for (const auto &s : SHAPES)
        for (ds_act act : ACTS)
            for (int block : BLOCKS) {
                ds_node n = make_node(DS_OP_ADD, s);
                n.in[1] = 1;
                n.a.act = act;
                case_result r;
                CHECK_OK(run_graph_op(op_add, &n, s, s, 0, 0, 8.0f, block, 11, &r));
                CHECK_CASE(r, act_threshold(act), "add %s %s block %d", shape_str(s).c_str(), ds_act_name(act),
                           block);
            }
    print_worst("add");
}

TEST(act) {
    g_worst = 0;
    for (const auto &s : SHAPES)
        for (ds_act act : ACTS)
            for (int block : BLOCKS) {
                ds_node n = make_node(DS_OP_ACT, s);
                n.a.act = act;
                case_result r;
                CHECK_OK(run_graph_op(op_act, &n, s, NULL, 0, 0, 8.0f, block, 12, &r));
                CHECK_CASE(r, act_threshold(act), "act %s %s block %d", shape_str(s).c_str(), ds_act_name(act),
                           block);
            }
    print_worst("act");
    /* SCALE (act.cu too): one float product, bit for bit */
    for (const auto &s : SHAPES)
        for (int block : BLOCKS) {
            ds_node n = make_node(DS_OP_SCALE, s);
            n.a.scale = 20.0f;
            case_result r;
            CHECK_OK(run_graph_op(op_scale, &n, s, NULL, 0, 0, 8.0f, block, 13, &r));
            CHECK_CASE(r, 0.0, "scale %s block %d", shape_str(s).c_str(), block);
        }
}

/* NaN passes through the activations and wins a max-pool, as in PyTorch. */
TEST(nan_passes_through) {
    const int64_t s[4] = {1, 1, 2, 2};
    float host[4] = {NAN, -1.0f, 2.0f, -INFINITY}, out[4];
    dev_buf<float> x, y;
    CHECK_OK(dev_alloc(&x, 4));
    CHECK_OK(dev_alloc(&y, 4));
    CHECK_OK(dev_upload(&x, host));
    ds_tensor tx = {x.p, {1, 1, 2, 2}}, ty = {y.p, {1, 1, 2, 2}};
    kern_ctx k = {g_stream, 0};
    for (ds_act act : ACTS) {
        ds_node n = make_node(DS_OP_ACT, s);
        n.a.act = act;
        gpu_op op = {&n, &tx, NULL, &ty, NULL, NULL};
        CHECK_OK(op_act(&k, &op));
        CHECK_OK(dev_download(y, out));
        CHECK_MSG(isnan(out[0]), "%s(NaN) = %g", ds_act_name(act), out[0]);
        CHECK(out[3] == ds_apply_act(act, -INFINITY) || (isnan(out[3]) && isnan(ds_apply_act(act, -INFINITY))));
    }
    const int64_t os[4] = {1, 1, 2, 1};
    ds_node n = make_node(DS_OP_MAXPOOL, os);
    n.a.pool = ds_pool_attr{1, 2, 1, 2, 0, 0, 0, 0};
    ds_tensor tx2 = {x.p, {1, 1, 4, 1}}, ty2 = {y.p, {1, 1, 2, 1}};
    gpu_op op = {&n, &tx2, NULL, &ty2, NULL, NULL};
    CHECK_OK(op_maxpool(&k, &op));
    CHECK_OK(dev_download(y, out));
    CHECK_MSG(isnan(out[0]) && out[1] == 2.0f, "maxpool over (NaN, -1), (2, -inf): %g %g", out[0], out[1]);
    dev_release(&x);
    dev_release(&y);
}

TEST(resize_bilinear) {
    g_worst = 0;
    static const int64_t cases[][6] = {
        /* N, H, W, C -> OH, OW */
        {1, 1, 1, 3, 5, 3}, {1, 5, 3, 2, 1, 1}, {1, 7, 13, 3, 14, 26}, {2, 13, 7, 5, 6, 4},
        {1, 4, 6, 1, 11, 7}, {1, 3, 5, 4, 3, 5}, {1, 12, 8, 2, 24, 16},
    };
    for (const auto &c : cases)
        for (int align = 0; align < 2; align++)
            for (int block : {0, 1, 33}) {
                const int64_t xs[4] = {c[0], c[1], c[2], c[3]}, ys[4] = {c[0], c[4], c[5], c[3]};
                ds_node n = make_node(DS_OP_RESIZE, ys);
                n.a.resize.align_corners = align;
                case_result r;
                CHECK_OK(run_graph_op(op_resize, &n, xs, NULL, 0, 0, 1.0f, block, 13, &r));
                /* GPU: FMA contraction of the interpolation */
                CHECK_CASE(r, 1e-12, "resize %s -> %s align_corners %d block %d", shape_str(xs).c_str(),
                           shape_str(ys).c_str(), align, block);
            }
    /* one map, as the photo path resizes Depth Anything's depth map back (ds_resize_bilinear_aligned) */
    static const int maps[][4] = {{98, 70, 211, 157}, {700, 518, 211, 157}, {1, 1, 3, 2}, {5, 7, 1, 1}, {14, 28, 13, 29}};
    for (const auto &c : maps)
        for (int block : {0, 1, 64}) {
            const int iw = c[0], ih = c[1], ow = c[2], oh = c[3];
            std::vector<float> in((size_t)iw * ih), ref((size_t)ow * oh), got((size_t)ow * oh);
            op_random(in.data(), in.size(), 32, 10.0f);
            ds_resize_bilinear_aligned(in.data(), iw, ih, ref.data(), ow, oh, 1);
            dev_buf<float> din, dout;
            CHECK_OK(dev_alloc(&din, in.size()));
            CHECK_OK(dev_alloc(&dout, ref.size()));
            CHECK_OK(dev_upload(&din, in.data()));
            kern_ctx k = {g_stream, block};
            CHECK_OK(op_resize_bilinear_map(&k, din.p, iw, ih, dout.p, ow, oh, 1));
            CHECK_OK(cuda_stream_sync(g_stream));
            CHECK_OK(dev_download(dout, got.data()));
            case_result res;
            res.nmse = op_nmse(got.data(), ref.data(), ref.size());
            res.guards_ok = dev_guards_ok(dout) && dev_guards_ok(din);
            /* GPU: FMA contraction of the blend */
            CHECK_CASE(res, 1e-12, "bilinear map %dx%d -> %dx%d block %d", iw, ih, ow, oh, block);
            dev_release(&din);
            dev_release(&dout);
        }
    print_worst("resize_bilinear");
}

TEST(maxpool) {
    g_worst = 0;
    struct pool_case {
        int64_t x[4];
        ds_pool_attr a;
    };
    static const pool_case cases[] = {
        {{1, 7, 13, 3}, {3, 3, 2, 2, 1, 1, 1, 1}}, /* midas_v21_384: k3 s2 p1 */
        {{1, 8, 11, 5}, {3, 3, 2, 2, 0, 1, 0, 1}}, /* TF SAME: asymmetric */
        {{2, 5, 3, 2}, {2, 2, 2, 2, 0, 0, 0, 0}},
        {{1, 1, 1, 4}, {3, 3, 2, 2, 1, 1, 1, 1}}, /* one pixel inside the padding */
        {{1, 17, 2, 1}, {3, 1, 1, 1, 1, 1, 0, 0}},
        {{1, 7, 7, 5}, {1, 1, 2, 2, 0, 0, 0, 0}}, /* LeViT's Subsample: every other row and column, 7 -> 4 */
    };
    for (const pool_case &c : cases)
        for (int block : {0, 1, 64}) {
            const ds_pool_attr &a = c.a;
            const int64_t ys[4] = {c.x[0], (c.x[1] + a.pad_t + a.pad_b - a.kh) / a.stride_h + 1,
                                   (c.x[2] + a.pad_l + a.pad_r - a.kw) / a.stride_w + 1, c.x[3]};
            ds_node n = make_node(DS_OP_MAXPOOL, ys);
            n.a.pool = a;
            case_result r;
            CHECK_OK(run_graph_op(op_maxpool, &n, c.x, NULL, 0, 0, 1.0f, block, 14, &r));
            CHECK_CASE(r, 0.0, "maxpool %s k%dx%d block %d", shape_str(c.x).c_str(), a.kh, a.kw, block);
        }
    /* a wrong output shape is refused */
    const int64_t xs[4] = {1, 7, 13, 3}, bad[4] = {1, 3, 6, 3};
    ds_node n = make_node(DS_OP_MAXPOOL, bad);
    n.a.pool = ds_pool_attr{3, 3, 2, 2, 1, 1, 1, 1};
    ds_tensor tx = {NULL, {xs[0], xs[1], xs[2], xs[3]}}, ty = {NULL, {1, 3, 6, 3}};
    gpu_op op = {&n, &tx, NULL, &ty, NULL, NULL};
    kern_ctx k = {g_stream, 0};
    CHECK_FAILS(op_maxpool(&k, &op), DS_ERR_SHAPE, "pools to 4x7, not 3x6");
    print_worst("maxpool");
}

TEST(groupnorm) {
    g_worst = 0;
    struct gn_case {
        int64_t s[4];
        int groups;
    };
    static const gn_case cases[] = {
        {{1, 7, 5, 32}, 8}, {{2, 3, 11, 16}, 16}, {{1, 1, 1, 8}, 4}, {{1, 13, 3, 6}, 1}, {{1, 9, 17, 64}, 32},
    };
    for (const gn_case &c : cases)
        for (int residual = 0; residual < 2; residual++)
            for (ds_act act : {DS_ACT_NONE, DS_ACT_RELU})
                for (int block : {0, 32, 128}) {
                    ds_node n = make_node(DS_OP_GROUPNORM, c.s);
                    n.a.norm = ds_norm_attr{c.groups, 1e-5f, act};
                    n.in[1] = residual ? 1 : -1;
                    case_result r;
                    CHECK_OK(run_graph_op(op_groupnorm, &n, c.s, residual ? c.s : NULL, (size_t)c.s[3],
                                          (size_t)c.s[3], 2.0f, block, 16, &r));
                    CHECK_CASE(r, 1e-12, "groupnorm %s groups %d residual %d %s block %d", shape_str(c.s).c_str(),
                               c.groups, residual, ds_act_name(act), block);
                }
    print_worst("groupnorm");
}

/* The convolution's (and the GEMM's) epilogue: a bias-free result computed
 * on the host, then bias, residual and activations on the device, against
 * ds_ref_conv2d and ds_ref_linear doing everything. */
TEST(bias_act) {
    g_worst = 0;
    static const int64_t xs[4] = {1, 6, 5, 4};
    const int64_t O = 7, ys[4] = {1, 6, 5, O};
    std::vector<float> x(numel(xs)), w((size_t)O * 9 * 4), b(O), r(numel(ys)), plain(numel(ys)), full(numel(ys)),
        got(numel(ys));
    op_random(x.data(), x.size(), 21, 1.0f);
    op_random(w.data(), w.size(), 22, 0.3f);
    op_random(b.data(), b.size(), 23, 0.5f);
    op_random(r.data(), r.size(), 24, 2.0f);
    for (ds_act act : ACTS)
        for (ds_act res_act : {DS_ACT_NONE, DS_ACT_RELU})
            for (int with_r = 0; with_r < 2; with_r++)
                for (int block : {0, 1, 96}) {
                    ds_node n = make_node(DS_OP_CONV2D, ys);
                    n.a.conv = ds_conv_attr{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_RELU, DS_ACT_NONE, DS_ACT_NONE};
                    ds_tensor hx = {x.data(), {1, 6, 5, 4}}, hr = {r.data(), {1, 6, 5, O}};
                    ds_tensor hp = {plain.data(), {1, 6, 5, O}}, hf = {full.data(), {1, 6, 5, O}};
                    ds_cpu_ctx ctx = {1, NULL, 0};
                    ds_cpu_op plain_op = {&n, &hx, NULL, &hp, w.data(), NULL, NULL, &ctx, NULL, NULL};
                    ds_ref_conv2d(&plain_op);
                    n.a.conv.act = act;
                    n.a.conv.res_act = res_act;
                    ds_cpu_op full_op = {&n, &hx, with_r ? &hr : NULL, &hf, w.data(), b.data(), NULL, &ctx, NULL, NULL};
                    ds_ref_conv2d(&full_op);
                    dev_buf<float> dp, db, dr, dy;
                    CHECK_OK(dev_alloc(&dp, plain.size()));
                    CHECK_OK(dev_alloc(&db, b.size()));
                    CHECK_OK(dev_alloc(&dr, r.size()));
                    CHECK_OK(dev_alloc(&dy, got.size()));
                    CHECK_OK(dev_upload(&dp, plain.data()));
                    CHECK_OK(dev_upload(&db, b.data()));
                    CHECK_OK(dev_upload(&dr, r.data()));
                    ds_tensor tp = {dp.p, {1, 6, 5, O}}, tr = {dr.p, {1, 6, 5, O}}, ty = {dy.p, {1, 6, 5, O}};
                    kern_ctx k = {g_stream, block};
                    CHECK_OK(op_bias_act(&k, &tp, db.p, with_r ? &tr : NULL, res_act, act, &ty));
                    CHECK_OK(cuda_stream_sync(g_stream));
                    CHECK_OK(dev_download(dy, got.data()));
                    case_result res;
                    /* the reference rounds bias and sum once, in double: float adds differ by an ulp */
                    res.nmse = op_nmse(got.data(), full.data(), got.size());
                    res.guards_ok = dev_guards_ok(dy) && dev_guards_ok(dp) && dev_guards_ok(dr);
                    CHECK_CASE(res, 1e-12, "bias_act %s res_act %s residual %d block %d", ds_act_name(act),
                               ds_act_name(res_act), with_r, block);
                    /* in place over the convolution's output */
                    CHECK_OK(op_bias_act(&k, &tp, db.p, with_r ? &tr : NULL, res_act, act, &tp));
                    CHECK_OK(dev_download(dp, got.data()));
                    CHECK(op_nmse(got.data(), full.data(), got.size()) <= 1e-12);
                    dev_release(&dp);
                    dev_release(&db);
                    dev_release(&dr);
                    dev_release(&dy);
                }
    print_worst("bias_act");
}

/* TF "SAME" padding of one side (EfficientNet-Lite): the total, the extra
 * pixel at the end. pad[0] before, pad[1] after. */
static void same_pad(int64_t in, int k, int stride, int pad[2]) {
    const int64_t out = (in + stride - 1) / stride, total = (out - 1) * stride + k - in;
    pad[0] = total > 0 ? (int)(total / 2) : 0;
    pad[1] = total > 0 ? (int)(total - total / 2) : 0;
}

TEST(conv_depthwise) {
    g_worst = 0;
    struct dw_case {
        int64_t x[4];
        int k, stride, dil;
        bool same; /* TF "SAME" (asymmetric where it falls so), else PyTorch's symmetric k / 2 */
    };
    static const dw_case cases[] = {
        {{1, 7, 13, 3}, 3, 1, 1, false}, {{1, 8, 11, 5}, 3, 2, 1, true},  {{2, 9, 6, 17}, 5, 1, 1, true},
        {{1, 12, 7, 4}, 5, 2, 1, true},  {{1, 1, 1, 1}, 3, 1, 1, false},  {{1, 17, 2, 3}, 3, 2, 1, true},
        {{1, 2, 19, 33}, 5, 2, 1, true}, {{1, 9, 10, 6}, 3, 1, 2, false},
    };
    struct dw_variant {
        ds_act in_act, act, res_act;
        bool bias, residual;
    };
    static const dw_variant variants[] = {
        {DS_ACT_NONE, DS_ACT_RELU6, DS_ACT_NONE, true, false}, /* EfficientNet-Lite: conv, BN folded, ReLU6 */
        {DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE, false, false},
        {DS_ACT_RELU, DS_ACT_RELU, DS_ACT_RELU, true, true},
        {DS_ACT_RELU6, DS_ACT_NONE, DS_ACT_NONE, true, true},
    };
    for (const dw_case &c : cases)
        for (const dw_variant &v : variants)
            for (int block : BLOCKS) {
                ds_conv_attr a = {c.k, c.k, c.stride, c.stride, c.dil, c.dil, 0, 0, 0, 0, (int)c.x[3],
                                  v.in_act, v.res_act, v.act};
                int ph[2] = {c.dil * (c.k / 2), c.dil * (c.k / 2)}, pw[2] = {ph[0], ph[1]};
                if (c.same) {
                    same_pad(c.x[1], c.k, c.stride, ph);
                    same_pad(c.x[2], c.k, c.stride, pw);
                }
                a.pad_t = ph[0], a.pad_b = ph[1], a.pad_l = pw[0], a.pad_r = pw[1];
                const int64_t ys[4] = {c.x[0], (c.x[1] + ph[0] + ph[1] - c.dil * (c.k - 1) - 1) / c.stride + 1,
                                       (c.x[2] + pw[0] + pw[1] - c.dil * (c.k - 1) - 1) / c.stride + 1, c.x[3]};
                ds_node n = make_node(DS_OP_CONV2D, ys);
                n.a.conv = a;
                n.in[1] = v.residual ? 1 : -1;
                case_result r;
                CHECK_OK(run_graph_op(op_conv_depthwise, &n, c.x, v.residual ? ys : NULL,
                                      (size_t)(c.x[3] * c.k * c.k), v.bias ? (size_t)c.x[3] : 0, 2.0f, block, 41,
                                      &r));
                CHECK_CASE(r, 1e-12, "conv_depthwise %s k%d s%d d%d pad %d,%d,%d,%d %s/%s/%s bias %d res %d block %d",
                           shape_str(c.x).c_str(), c.k, c.stride, c.dil, ph[0], ph[1], pw[0], pw[1],
                           ds_act_name(v.in_act), ds_act_name(v.res_act), ds_act_name(v.act), v.bias, v.residual,
                           block);
            }
    /* a grouped (not depthwise) convolution and a wrong output are refused */
    const int64_t xs[4] = {1, 5, 5, 4}, ys[4] = {1, 5, 5, 4}, bad[4] = {1, 3, 5, 4};
    ds_node n = make_node(DS_OP_CONV2D, ys);
    n.a.conv = ds_conv_attr{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE};
    case_result r;
    CHECK_FAILS(run_graph_op(op_conv_depthwise, &n, xs, NULL, 4 * 9 * 2, 4, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "2 groups of 4 channels");
    ds_node nb = make_node(DS_OP_CONV2D, bad);
    nb.a.conv = ds_conv_attr{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE};
    CHECK_FAILS(run_graph_op(op_conv_depthwise, &nb, xs, NULL, 4 * 9, 4, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "expected 1x5x5x4");
    print_worst("conv_depthwise");
}

TEST(conv_transpose) {
    g_worst = 0;
    struct ct_case {
        int64_t x[4];
        int kh, kw;
        int64_t O;
    };
    static const ct_case cases[] = {
        {{1, 3, 5, 7}, 2, 2, 11},  /* DPT-Large: 512 -> 512, k2 */
        {{2, 4, 3, 16}, 4, 4, 8},  /* 256 -> 256, k4 */
        {{1, 1, 1, 1}, 1, 1, 1},   {{1, 2, 7, 70}, 3, 2, 33}, /* channels over several staging steps */
        {{1, 5, 1, 3}, 2, 2, 300}, /* columns over several slices */
        {{1, 1, 37, 2}, 2, 3, 5},
    };
    for (const ct_case &c : cases)
        for (int bias = 0; bias < 2; bias++)
            for (int block : BLOCKS) {
                const int64_t ys[4] = {c.x[0], c.x[1] * c.kh, c.x[2] * c.kw, c.O};
                ds_node n = make_node(DS_OP_CONV_TRANSPOSE, ys);
                n.a.conv.kh = c.kh, n.a.conv.kw = c.kw, n.a.conv.stride_h = c.kh, n.a.conv.stride_w = c.kw;
                n.a.conv.dil_h = n.a.conv.dil_w = n.a.conv.groups = 1;
                n.a.conv.act = bias ? DS_ACT_HARDSWISH : DS_ACT_NONE;
                case_result r;
                CHECK_OK(run_graph_op(op_conv_transpose, &n, c.x, NULL, (size_t)(c.x[3] * c.kh * c.kw * c.O),
                                      bias ? (size_t)c.O : 0, 1.0f, block, 42, &r));
                CHECK_CASE(r, 1e-12, "conv_transpose %s k%dx%d -> %lld bias %d block %d", shape_str(c.x).c_str(),
                           c.kh, c.kw, (long long)c.O, bias, block);
            }
    /* the general form: overlapping taps, padding, dilation, output_padding
     * (LeViT's stem_transpose: k3 s2 p1 op1), tall and wide, one pixel */
    struct gt_case {
        int64_t x[4];
        int k, s, pad, dil, out_pad;
        int64_t O;
    };
    static const gt_case general[] = {
        {{1, 7, 7, 16}, 3, 2, 1, 1, 1, 8}, {{2, 5, 3, 3}, 3, 2, 1, 1, 0, 5}, {{1, 1, 1, 4}, 3, 2, 1, 1, 1, 3},
        {{1, 4, 9, 5}, 5, 3, 2, 1, 2, 7},  {{1, 6, 2, 2}, 3, 1, 0, 2, 1, 3}, {{1, 3, 4, 33}, 2, 2, 0, 1, 1, 2},
        {{1, 3, 4, 1}, 4, 2, 3, 1, 0, 1}, /* padding that crops whole taps */
    };
    for (const gt_case &c : general)
        for (int bias = 0; bias < 2; bias++)
            for (int block : BLOCKS) {
                const int64_t ys[4] = {c.x[0], ds_transpose_out(c.x[1], c.pad, c.pad, c.k, c.s, c.dil) + c.out_pad,
                                       ds_transpose_out(c.x[2], c.pad, c.pad, c.k, c.s, c.dil) + c.out_pad, c.O};
                ds_node n = make_node(DS_OP_CONV_TRANSPOSE, ys);
                ds_conv_attr *a = &n.a.conv;
                a->kh = a->kw = c.k, a->stride_h = a->stride_w = c.s, a->dil_h = a->dil_w = c.dil;
                a->pad_t = a->pad_b = a->pad_l = a->pad_r = c.pad;
                a->groups = 1;
                a->act = bias ? DS_ACT_HARDSWISH : DS_ACT_NONE;
                case_result r;
                CHECK_OK(run_graph_op(op_conv_transpose, &n, c.x, NULL, (size_t)(c.x[3] * c.k * c.k * c.O),
                                      bias ? (size_t)c.O : 0, 1.0f, block, 47, &r));
                CHECK_CASE(r, 1e-12, "conv_transpose %s k%d s%d p%d d%d op%d -> %s bias %d block %d",
                           shape_str(c.x).c_str(), c.k, c.s, c.pad, c.dil, c.out_pad, shape_str(ys).c_str(), bias,
                           block);
            }
    const int64_t xs[4] = {1, 3, 3, 2}, ys[4] = {1, 6, 6, 4};
    ds_node n = make_node(DS_OP_CONV_TRANSPOSE, ys);
    n.a.conv.kh = n.a.conv.kw = 3, n.a.conv.stride_h = n.a.conv.stride_w = 2;
    n.a.conv.dil_h = n.a.conv.dil_w = n.a.conv.groups = 1;
    case_result r;
    /* (3 - 1) * 2 + 3 = 7 rows without padding: 6 is no output_padding */
    CHECK_FAILS(run_graph_op(op_conv_transpose, &n, xs, NULL, 2 * 9 * 4, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "does not transpose-convolve");
    print_worst("conv_transpose");
}

/* kernels/<folder>/<file>.cu -> its test here. */
static const kernel_test KERNEL_TESTS[] = {
    KERNEL_TEST(add), KERNEL_TEST(act), KERNEL_TEST(bias_act), KERNEL_TEST(maxpool), KERNEL_TEST(resize_bilinear),
    KERNEL_TEST(groupnorm), KERNEL_TEST(conv_depthwise), KERNEL_TEST(conv_transpose)
};

} // namespace DS_CUDA_NS

int main(int, char **argv) {
    using namespace DS_CUDA_NS;
    return kernel_tests_main(argv[0], KERNEL_TESTS, [] { RUN(nan_passes_through); });
}
