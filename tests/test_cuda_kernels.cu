/*
 * test_cuda_kernels.cu: every kernel of kernels/ against its CPU reference,
 * ggml test-backend-ops style: random inputs, NMSE = sum((a-b)^2)/sum(b^2)
 * with a per-op threshold, odd and prime shapes, size-1 dimensions, both
 * aspect ratios, several block sizes, guard zones around every device
 * buffer, and the in-place form the memory planner may choose.
 *
 * g++ runs it on the CPU emulator in `make test`; nvcc runs it on a GPU in
 * `make test-gpu`. Thresholds: under emulation the elementwise, resize and
 * token ops reproduce their reference bit for bit (same float arithmetic,
 * same libm); the normalizations, the depthwise and transposed convolutions
 * and attention accumulate in float where the reference uses double and
 * measure below 1e-13 (attention: 1.7e-13 at 131 tokens, the largest here;
 * 7.6e-13 measured once at 1009). A GPU contracts a*b+c into FMAs and its
 * erff and expf differ by up to 2 ulp, a relative error around 1e-7, an
 * NMSE around 1e-14 (the emulated kernels built with -ffp-contract=fast
 * -mfma measured the same largest NMSE per op, within 1e-13): the
 * thresholds allow 1e-12 for those ops and stay exact where no rounding can
 * differ (ReLU, max-pool, min/max, the 8/16-bit quantization, the token
 * copies). The largest NMSE of each op is printed.
 *
 * The last test lists the .cu files under kernels/ and fails when a file has no
 * test here or one of its kernels never ran; files kernels/<folder>/<word>*.cu with
 * their own tests/test_cuda_<word>.cu (mesh) are left to that test.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/cuda_test.h"    /* dev_buf, cuda_test_setup, kernel_launches */
#include "src/depth_outputs.h" /* ds_depth_range, ds_depth_quantize */
#include "kernels/kernels.h"      /* op_* */
#include "tests/op_check.h"     /* op_random, op_nmse */
#include "graph/planner.h"      /* ds_plan_inplace_input */
#include "photo/preprocess.h"   /* ds_preprocess_rgb8, ds_resize_bicubic_torch */
#include "base/bicubic.h"       /* ds_bicubic_factor_scale */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;

typedef ds_status (*graph_op_fn)(const kern_ctx *, const gpu_op *);

struct case_result {
    double nmse = INFINITY;
    double nmse_inplace = -1; /* -1: the op has no in-place form */
    bool guards_ok = false;
};

/* Largest NMSE seen per op, printed at the end of its test. */
static double g_worst;

static void note(double nmse) {
    if (nmse > g_worst)
        g_worst = nmse;
}

static void print_worst(const char *op) { printf("    %-16s largest NMSE %.2e\n", op, g_worst); }

static size_t numel(const int64_t s[4]) { return (size_t)(s[0] * s[1] * s[2] * s[3]); }

static std::string shape_str(const int64_t s[4]) {
    char buf[96];
    ds_format_shape(buf, sizeof buf, 4, s);
    return buf;
}

/* Weights a test sets itself, w_len and b_len long (NULL: random), and
 * weight slot 2 (w2_len values; none when NULL). */
struct given_weights {
    const float *w = NULL, *b = NULL, *w2 = NULL;
    size_t w2_len = 0;
};

/* Random inputs (x scaled by x_scale), the reference into y_ref, the kernel
 * at `block` threads into guarded device memory, then in place if allowed.
 * The node's weight slots 0..3 (lens: floats of each; 0: none) are random,
 * except what `given` sets. */
static ds_status run_graph_op_slots(graph_op_fn fn, const ds_node *node, const int64_t xs[4], const int64_t *rs,
                                    const size_t lens[4], float x_scale, int block, uint64_t seed, case_result *res,
                                    const given_weights &given = given_weights()) {
    const size_t w_len = lens[0], b_len = lens[1], w2_len = lens[2], w3_len = lens[3];
    const size_t nx = numel(xs), nr = rs ? numel(rs) : 0, ny = numel(node->shape);
    std::vector<float> x(nx), r(nr), w(w_len), b(b_len), w2(w2_len), w3(w3_len), y_ref(ny), y(ny);
    op_random(x.data(), nx, seed, x_scale);
    op_random(r.data(), nr, seed + 1, 1.0f);
    op_random(w.data(), w_len, seed + 2, 1.0f);
    op_random(b.data(), b_len, seed + 3, 0.5f);
    op_random(w2.data(), w2_len, seed + 4, 1.0f);
    op_random(w3.data(), w3_len, seed + 5, 0.5f);
    if (given.w && w_len) /* a slot the case leaves empty has no storage */
        memcpy(w.data(), given.w, w_len * sizeof(float));
    if (given.b && b_len)
        memcpy(b.data(), given.b, b_len * sizeof(float));
    if (given.w2 && w2_len)
        memcpy(w2.data(), given.w2, w2_len * sizeof(float));
    ds_tensor hx = {x.data(), {xs[0], xs[1], xs[2], xs[3]}}, hr = {r.data(), {0, 0, 0, 0}};
    ds_tensor hy = {y_ref.data(), {0, 0, 0, 0}};
    if (rs)
        memcpy(hr.shape, rs, sizeof hr.shape);
    memcpy(hy.shape, node->shape, sizeof hy.shape);
    const ds_cpu_kernel *rk = &ds_cpu_ref_kernels[node->op];
    const size_t scratch_bytes = rk->scratch_bytes ? rk->scratch_bytes(node, 1) : 0;
    std::vector<double> scratch(scratch_bytes / sizeof(double) + 1); /* attention: T doubles */
    ds_cpu_ctx ctx = {1, (float *)scratch.data(), scratch_bytes};
    ds_cpu_op ref = {node, &hx, rs ? &hr : NULL, &hy, w_len ? w.data() : NULL, b_len ? b.data() : NULL, NULL, &ctx,
                     w2_len ? w2.data() : NULL, w3_len ? w3.data() : NULL};
    rk->run(&ref);

    dev_buf<float> dx, dr, dw, db, dw2, dw3, dy;
    ds_status s = DS_OK;
    if ((s = dev_alloc(&dx, nx)) || (s = dev_alloc(&dr, nr)) || (s = dev_alloc(&dw, w_len)) ||
        (s = dev_alloc(&db, b_len)) || (s = dev_alloc(&dw2, w2_len)) || (s = dev_alloc(&dw3, w3_len)) ||
        (s = dev_alloc(&dy, ny)) || (s = dev_upload(&dx, x.data())) || (s = dev_upload(&dr, r.data())) ||
        (s = dev_upload(&dw, w.data())) || (s = dev_upload(&db, b.data())) || (s = dev_upload(&dw2, w2.data())) ||
        (s = dev_upload(&dw3, w3.data())))
        goto done;
    {
        ds_tensor tx = {dx.p, {xs[0], xs[1], xs[2], xs[3]}}, tr = {dr.p, {0, 0, 0, 0}}, ty = {dy.p, {0, 0, 0, 0}};
        if (rs)
            memcpy(tr.shape, rs, sizeof tr.shape);
        memcpy(ty.shape, node->shape, sizeof ty.shape);
        gpu_op op = {node, &tx, rs ? &tr : NULL, &ty, w_len ? dw.p : NULL, b_len ? db.p : NULL, w2_len ? dw2.p : NULL,
                     w3_len ? dw3.p : NULL};
        kern_ctx k = {g_stream, block};
        if ((s = fn(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(dy, y.data())))
            goto done;
        res->nmse = op_nmse(y.data(), y_ref.data(), ny);
        res->guards_ok = dev_guards_ok(dy) && dev_guards_ok(dx) && dev_guards_ok(dr);
        /* in place: the output over the input the planner may hand over */
        const int in = ds_plan_inplace_input(node);
        dev_buf<float> *src = in == 0 ? &dx : (in == 1 && rs ? &dr : NULL);
        if (src && src->n == ny) {
            ds_tensor yi = {src->p, {0, 0, 0, 0}};
            memcpy(yi.shape, node->shape, sizeof yi.shape);
            op.y = &yi;
            if ((s = fn(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(*src, y.data())))
                goto done;
            res->nmse_inplace = op_nmse(y.data(), y_ref.data(), ny);
            res->guards_ok = res->guards_ok && dev_guards_ok(*src);
        }
    }
done:
    dev_release(&dx);
    dev_release(&dr);
    dev_release(&dw);
    dev_release(&db);
    dev_release(&dw2);
    dev_release(&dw3);
    dev_release(&dy);
    return s;
}

/* Slots 0 and 1 (weight and bias), and slot 2 only as `given` sets it. */
static ds_status run_graph_op(graph_op_fn fn, const ds_node *node, const int64_t xs[4], const int64_t *rs,
                              size_t w_len, size_t b_len, float x_scale, int block, uint64_t seed,
                              case_result *res, const given_weights &given = given_weights()) {
    const size_t lens[4] = {w_len, b_len, given.w2 ? given.w2_len : 0, 0};
    return run_graph_op_slots(fn, node, xs, rs, lens, x_scale, block, seed, res, given);
}

static ds_node make_node(ds_op op, const int64_t shape[4]) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = ds_op_name(op);
    n.in[0] = 0;
    n.in[1] = -1;
    memcpy(n.shape, shape, sizeof n.shape);
    return n;
}

/* Shapes (N, H, W, C): size-1 dimensions, primes, tall and wide. */
static const int64_t SHAPES[][4] = {{1, 1, 1, 1}, {1, 7, 13, 3}, {2, 5, 3, 17}, {1, 3, 11, 1}, {1, 1, 29, 8}};
static const int BLOCKS[] = {0, 1, 32, 97};
static const ds_act ACTS[] = {DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6, DS_ACT_GELU, DS_ACT_HARDSWISH,
                              DS_ACT_SIGMOID, DS_ACT_EXP, DS_ACT_EXP1};

/* erff and expf of the GPU differ from the host's in the last bits */
static double act_threshold(ds_act a) {
    return a == DS_ACT_GELU || a == DS_ACT_SIGMOID || a == DS_ACT_EXP || a == DS_ACT_EXP1 ? 1e-12 : 0.0;
}

#define CHECK_CASE(res, thr, ...)                                                              \
    do {                                                                                       \
        char what_[256];                                                                       \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                            \
        note((res).nmse);                                                                      \
        CHECK_MSG((res).nmse <= (thr), "%s: NMSE %.3g > %.0e", what_, (res).nmse, (thr));      \
        CHECK_MSG((res).nmse_inplace <= (thr), "%s in place: NMSE %.3g > %.0e", what_,         \
                  (res).nmse_inplace, (thr));                                                  \
        CHECK_MSG((res).guards_ok, "%s: a write outside the output (guard zone)", what_);      \
    } while (0)

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

TEST(layernorm) {
    g_worst = 0;
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 1, 5, 7}, {1, 1, 13, 33}, {2, 1, 3, 96}, {1, 2, 2, 257}};
    for (const auto &s : shapes)
        for (int block : {0, 32, 64, 256})
            for (float eps : {1e-6f, 1e-5f}) {
                ds_node n = make_node(DS_OP_LAYERNORM, s);
                n.a.norm.eps = eps;
                case_result r;
                CHECK_OK(run_graph_op(op_layernorm, &n, s, NULL, (size_t)s[3], (size_t)s[3], 3.0f, block, 15, &r));
                CHECK_CASE(r, 1e-12, "layernorm %s block %d eps %g", shape_str(s).c_str(), block, eps);
            }
    const int64_t s[4] = {1, 1, 2, 8};
    ds_node n = make_node(DS_OP_LAYERNORM, s);
    case_result r;
    CHECK_FAILS(run_graph_op(op_layernorm, &n, s, NULL, 8, 8, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    print_worst("layernorm");
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

/* A photo of h rows of `stride` random bytes (3 * width of pixels, then junk). */
static std::vector<uint8_t> photo(int h, size_t stride, uint64_t seed) {
    std::vector<uint8_t> p((size_t)h * stride);
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 7;
    for (auto &v : p) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        v = (uint8_t)(z >> 56);
    }
    return p;
}

TEST(preprocess) {
    g_worst = 0;
    static const int cases[][5] = {
        /* width, height, stride padding, net_w, net_h */
        {37, 23, 0, 32, 64}, {61, 41, 5, 96, 32}, {1, 1, 0, 32, 32}, {64, 64, 3, 32, 32}, {13, 97, 1, 7, 11},
    };
    const rgb_norm norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    for (const auto &c : cases)
        for (int nhwc = 0; nhwc < 2; nhwc++)
            for (int block : {0, 1, 32, 96}) {
                const int w = c[0], h = c[1], nw = c[3], nh = c[4];
                const size_t stride = (size_t)w * 3 + (size_t)c[2], n = (size_t)3 * nw * nh;
                std::vector<uint8_t> img = photo(h, stride, (uint64_t)(w * 131 + h));
                std::vector<float> ref(n), got(n), want(n);
                ds_preprocess_rgb8(img.data(), w, h, stride, nw, nh, norm.mean, norm.std, ref.data(), 1);
                for (size_t i = 0; i < n; i++) /* (3, nh, nw) -> (nh, nw, 3) */
                    want[nhwc ? i % ((size_t)nw * nh) * 3 + i / ((size_t)nw * nh) : i] = ref[i];
                dev_buf<uint8_t> dimg;
                dev_buf<float> dout;
                CHECK_OK(dev_alloc(&dimg, img.size()));
                CHECK_OK(dev_alloc(&dout, n));
                CHECK_OK(dev_upload(&dimg, img.data()));
                kern_ctx k = {g_stream, block};
                CHECK_OK(op_preprocess_rgb8(&k, dimg.p, w, h, stride, nw, nh, &norm, nhwc, dout.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(dout, got.data()));
                case_result res;
                res.nmse = op_nmse(got.data(), want.data(), n);
                res.guards_ok = dev_guards_ok(dout) && dev_guards_ok(dimg);
                CHECK_CASE(res, 1e-12, "preprocess %dx%d (stride %zu) -> %dx%d nhwc %d block %d", w, h, stride, nw,
                           nh, nhwc, block);
                dev_release(&dimg);
                dev_release(&dout);
            }
    print_worst("preprocess");
}

TEST(resize_bicubic) {
    g_worst = 0;
    static const int cases[][4] = {
        /* in_w, in_h, out_w, out_h */
        {32, 24, 211, 157}, {24, 32, 7, 5}, {1, 1, 3, 4}, {5, 7, 1, 1}, {17, 3, 17, 3}, {9, 13, 31, 8},
    };
    for (const auto &c : cases)
        for (int block : {0, 1, 64}) {
            const int iw = c[0], ih = c[1], ow = c[2], oh = c[3];
            std::vector<float> in((size_t)iw * ih), ref((size_t)ow * oh), got((size_t)ow * oh);
            op_random(in.data(), in.size(), 31, 10.0f);
            ds_resize_bicubic_torch(in.data(), iw, ih, ref.data(), ow, oh, 1);
            dev_buf<float> din, dout;
            CHECK_OK(dev_alloc(&din, in.size()));
            CHECK_OK(dev_alloc(&dout, ref.size()));
            CHECK_OK(dev_upload(&din, in.data()));
            kern_ctx k = {g_stream, block};
            CHECK_OK(op_resize_bicubic(&k, din.p, iw, ih, dout.p, ow, oh));
            CHECK_OK(cuda_stream_sync(g_stream));
            CHECK_OK(dev_download(dout, got.data()));
            case_result res;
            res.nmse = op_nmse(got.data(), ref.data(), ref.size());
            res.guards_ok = dev_guards_ok(dout) && dev_guards_ok(din);
            CHECK_CASE(res, 1e-12, "bicubic %dx%d -> %dx%d block %d", iw, ih, ow, oh, block);
            dev_release(&din);
            dev_release(&dout);
        }
    print_worst("resize_bicubic");
}

/* Depth-like values with NaN and infinities sprinkled in (they count as 0). */
static std::vector<float> depth_map(size_t n, uint64_t seed, float offset) {
    std::vector<float> d(n);
    op_random(d.data(), n, seed, 50.0f);
    for (size_t i = 0; i < n; i++) {
        d[i] += offset;
        if (i % 97 == 5)
            d[i] = NAN;
        if (i % 89 == 7)
            d[i] = i % 2 ? INFINITY : -INFINITY;
    }
    return d;
}

TEST(minmax) {
    for (size_t n : {(size_t)0, (size_t)1, (size_t)31, (size_t)1000, (size_t)40009})
        for (int block : {0, 32, 128})
            for (float offset : {0.0f, 100.0f, -100.0f}) {
                std::vector<float> d = depth_map(n, n + 3, offset);
                float lo, hi, got[2];
                ds_depth_range(d.data(), n, &lo, &hi);
                dev_buf<float> dd, range;
                dev_buf<uint8_t> ws;
                CHECK_OK(dev_alloc(&dd, n));
                CHECK_OK(dev_alloc(&range, 2));
                CHECK_OK(dev_alloc(&ws, op_minmax_workspace_bytes()));
                CHECK_OK(dev_upload(&dd, d.data()));
                kern_ctx k = {g_stream, block};
                CHECK_OK(op_minmax(&k, dd.p, (int64_t)n, ws.p, range.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(range, got));
                CHECK_MSG(got[0] == lo && got[1] == hi, "n %zu offset %g block %d: (%g, %g), expected (%g, %g)", n,
                          offset, block, got[0], got[1], lo, hi);
                CHECK(dev_guards_ok(range) && dev_guards_ok(ws) && dev_guards_ok(dd));
                dev_release(&dd);
                dev_release(&range);
                dev_release(&ws);
            }
}

/* 8- and 16-bit values, bit for bit, with the range from op_minmax on the
 * device, a fixed range that clamps, and a flat map (all zeros). */
TEST(quantize) {
    for (size_t n : {(size_t)1, (size_t)257, (size_t)5003})
        for (int range_kind = 0; range_kind < 3; range_kind++)
            for (int block : {0, 1, 64}) {
                std::vector<float> d = depth_map(n, n, 20.0f);
                if (range_kind == 2)
                    for (float &v : d)
                        v = 3.5f;
                float lo, hi;
                ds_depth_range(d.data(), n, &lo, &hi);
                if (range_kind == 1)
                    lo = -10.0f, hi = 30.0f;
                dev_buf<float> dd, range;
                dev_buf<uint8_t> ws, q8;
                dev_buf<uint16_t> q16;
                CHECK_OK(dev_alloc(&dd, n));
                CHECK_OK(dev_alloc(&range, 2));
                CHECK_OK(dev_alloc(&ws, op_minmax_workspace_bytes()));
                CHECK_OK(dev_alloc(&q8, n));
                CHECK_OK(dev_alloc(&q16, n));
                CHECK_OK(dev_upload(&dd, d.data()));
                kern_ctx k = {g_stream, block};
                if (range_kind == 1) {
                    const float fixed[2] = {lo, hi};
                    CHECK_OK(dev_upload(&range, fixed));
                } else {
                    const kern_ctx kmm = {g_stream, 0}; /* a reduction: whole warps */
                    CHECK_OK(op_minmax(&kmm, dd.p, (int64_t)n, ws.p, range.p));
                }
                CHECK_OK(op_quantize_u8(&k, dd.p, (int64_t)n, range.p, q8.p));
                CHECK_OK(op_quantize_u16(&k, dd.p, (int64_t)n, range.p, q16.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                std::vector<uint8_t> g8(n);
                std::vector<uint16_t> g16(n);
                CHECK_OK(dev_download(q8, g8.data()));
                CHECK_OK(dev_download(q16, g16.data()));
                for (size_t i = 0; i < n; i++) {
                    const uint8_t w8 = (uint8_t)ds_depth_quantize(d[i], lo, hi, 255.0f);
                    const uint16_t w16 = (uint16_t)ds_depth_quantize(d[i], lo, hi, 65535.0f);
                    CHECK_MSG(g8[i] == w8 && g16[i] == w16, "n %zu range %d block %d: value %zu (%g) -> %u/%u, "
                              "expected %u/%u", n, range_kind, block, i, d[i], g8[i], g16[i], w8, w16);
                }
                CHECK(dev_guards_ok(q8) && dev_guards_ok(q16));
                dev_release(&dd);
                dev_release(&range);
                dev_release(&ws);
                dev_release(&q8);
                dev_release(&q16);
            }
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

/* DS_OP_ATTENTION with a bias (graph.h's ds_attn_attr): dense when R == 0,
 * else a table of R entries per head and a random (T, T) index; the kernel
 * against ds_ref_attention. *effect: the reference's NMSE without the bias
 * against with it (what a kernel that dropped it would miss by). */
static ds_status run_attention_bias(int64_t N, int64_t T, int64_t C, int heads, int64_t R, int block,
                                    uint64_t seed, case_result *res, double *effect) {
    const int64_t ys[4] = {N, 1, T, C}, xs[4] = {N, 1, T, 3 * C}, per_head = R ? R : T * T;
    ds_node n = make_node(DS_OP_ATTENTION, ys);
    n.a.attn.heads = heads;
    n.a.attn.scale = (float)(1.0 / sqrt((double)(C / heads)));
    n.w[0].name = "bias";
    n.w[0].dtype = DS_F32;
    n.w[0].ndim = R ? 2 : 3;
    n.w[0].shape[0] = heads, n.w[0].shape[1] = R ? R : T, n.w[0].shape[2] = R ? 0 : T;
    if (R) {
        n.w[2].name = "index";
        n.w[2].dtype = DS_I32;
        n.w[2].ndim = 2;
        n.w[2].shape[0] = n.w[2].shape[1] = T;
    }
    const size_t nx = numel(xs), ny = numel(ys), nb = (size_t)(heads * per_head), ni = R ? (size_t)(T * T) : 0;
    std::vector<float> x(nx), bias(nb), y_ref(ny), y_plain(ny), y(ny);
    std::vector<int32_t> index(ni);
    op_random(x.data(), nx, seed, 3.0f);
    op_random(bias.data(), nb, seed + 1, 3.0f);
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < ni; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        index[i] = (int32_t)(z % (uint64_t)R);
    }
    ds_tensor hx = {x.data(), {xs[0], xs[1], xs[2], xs[3]}}, hy = {y_ref.data(), {ys[0], ys[1], ys[2], ys[3]}};
    ds_tensor hp = {y_plain.data(), {ys[0], ys[1], ys[2], ys[3]}};
    const size_t scratch_bytes = ds_ref_attention_scratch(&n, 1);
    std::vector<double> scratch(scratch_bytes / sizeof(double) + 1);
    ds_cpu_ctx ctx = {1, (float *)scratch.data(), scratch_bytes};
    ds_cpu_op ref = {&n, &hx, NULL, &hy, bias.data(), NULL, NULL, &ctx, R ? (const float *)index.data() : NULL, NULL};
    ds_ref_attention(&ref);
    ds_node plain = n;
    memset(plain.w, 0, sizeof plain.w);
    ds_cpu_op ref_plain = {&plain, &hx, NULL, &hp, NULL, NULL, NULL, &ctx, NULL, NULL};
    ds_ref_attention(&ref_plain);
    *effect = op_nmse(y_plain.data(), y_ref.data(), ny);

    dev_buf<float> dx, db, dy;
    dev_buf<int32_t> di;
    ds_status s = DS_OK;
    if ((s = dev_alloc(&dx, nx)) || (s = dev_alloc(&db, nb)) || (s = dev_alloc(&di, ni)) || (s = dev_alloc(&dy, ny)) ||
        (s = dev_upload(&dx, x.data())) || (s = dev_upload(&db, bias.data())) || (s = dev_upload(&di, index.data())))
        goto done;
    {
        ds_tensor tx = {dx.p, {xs[0], xs[1], xs[2], xs[3]}}, ty = {dy.p, {ys[0], ys[1], ys[2], ys[3]}};
        gpu_op op = {&n, &tx, NULL, &ty, db.p, NULL, R ? (const float *)di.p : NULL, NULL};
        kern_ctx k = {g_stream, block};
        if ((s = op_attention(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(dy, y.data())))
            goto done;
        res->nmse = op_nmse(y.data(), y_ref.data(), ny);
        res->guards_ok = dev_guards_ok(dy) && dev_guards_ok(dx) && dev_guards_ok(db) && dev_guards_ok(di);
    }
done:
    dev_release(&dx);
    dev_release(&db);
    dev_release(&di);
    dev_release(&dy);
    return s;
}

TEST(attention) {
    g_worst = 0;
    struct at_case {
        int64_t N, T, C;
        int heads;
    };
    static const at_case cases[] = {
        {1, 1, 1, 1},   {1, 5, 24, 3},  /* head_dim 8: one thread per query */
        {1, 37, 64, 1}, /* 64, DPT's: four threads per query, two key tiles */
        {2, 70, 96, 3}, /* 32, batch of two, a short last key tile */
        {1, 33, 100, 1}, /* 100: eight threads, zero-padded dimensions */
        {1, 45, 128, 1}, /* the maximum */
        {1, 17, 80, 5},  {1, 131, 64, 2},
    };
    for (const at_case &c : cases)
        for (int block : {0, 32, 96, 256}) {
            const int64_t ys[4] = {c.N, 1, c.T, c.C}, xs[4] = {c.N, 1, c.T, 3 * c.C};
            ds_node n = make_node(DS_OP_ATTENTION, ys);
            n.a.attn.heads = c.heads;
            n.a.attn.scale = (float)(1.0 / sqrt((double)(c.C / c.heads)));
            case_result r;
            /* x scaled so that the softmax is far from flat */
            CHECK_OK(run_graph_op(op_attention, &n, xs, NULL, 0, 0, 3.0f, block, 43, &r));
            CHECK_CASE(r, 1e-12, "attention %s heads %d block %d", shape_str(ys).c_str(), c.heads, block);
        }
    const int64_t ys[4] = {1, 1, 4, 129}, xs[4] = {1, 1, 4, 3 * 129};
    ds_node n = make_node(DS_OP_ATTENTION, ys);
    n.a.attn.heads = 1;
    n.a.attn.scale = 0.1f;
    case_result r;
    CHECK_FAILS(run_graph_op(op_attention, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "head_dim 129 is above the kernel's maximum of 128");
    const int64_t ys2[4] = {1, 1, 4, 64}, xs2[4] = {1, 1, 4, 3 * 64};
    ds_node n2 = make_node(DS_OP_ATTENTION, ys2);
    n2.a.attn.heads = 1;
    n2.a.attn.scale = 0.125f;
    CHECK_FAILS(run_graph_op(op_attention, &n2, xs2, NULL, 0, 0, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    CHECK_FAILS(run_graph_op(op_attention, &n2, xs2, NULL, 0, 0, 1.0f, 512, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "512 threads per block is above the kernel's 256");
    /* with a bias: odd token counts (across key tiles and query blocks), head sizes 1 to 100 */
    struct bias_case {
        int64_t N, T, C;
        int heads;
        int64_t R; /* 0: dense (heads, T, T) */
    };
    static const bias_case bias_cases[] = {
        {1, 1, 1, 1, 0},    {1, 5, 24, 3, 7},   {1, 37, 64, 1, 0},  {2, 70, 96, 3, 2212},
        {1, 33, 100, 1, 5}, {1, 17, 80, 5, 0},  {1, 45, 17, 1, 31}, {1, 67, 48, 3, 0},
    };
    for (const bias_case &c : bias_cases)
        for (int block : {0, 32, 256}) {
            double effect = 0;
            CHECK_OK(run_attention_bias(c.N, c.T, c.C, c.heads, c.R, block, 47, &r, &effect));
            CHECK_CASE(r, 1e-12, "attention+bias N %lld T %lld C %lld heads %d table %lld block %d", (long long)c.N,
                       (long long)c.T, (long long)c.C, c.heads, (long long)c.R, block);
            CHECK_MSG(c.T == 1 || effect > 1e-4, "the bias barely changes T=%lld (NMSE %.3g without it)",
                      (long long)c.T, effect);
        }
    print_worst("attention");
}

TEST(levit_attention) {
    g_worst = 0;
    struct la_case {
        int64_t N, Tk, Tq; /* Tq < 0: self-attention */
        int heads, kd, vd;
    };
    static const la_case cases[] = {
        {1, 196, -1, 6, 32, 64},  /* LeViT-384 stage 0 */
        {1, 196, 49, 12, 32, 128}, /* its first subsampling attention */
        {1, 49, 16, 16, 32, 128}, {1, 16, -1, 12, 32, 64}, {1, 1, -1, 1, 1, 1}, {2, 33, -1, 3, 5, 7},
        {1, 70, 9, 1, 3, 40}, /* value dims over two rounds of lanes */
        {2, 5, 11, 2, 2, 3},
    };
    static const int blocks[] = {0, 32, 96, 256};
    for (const la_case &c : cases)
        for (int variant = 0; variant < 2; variant++)
            for (int block : blocks) {
                const int64_t tq = c.Tq < 0 ? c.Tk : c.Tq, ys[4] = {c.N, 1, tq, (int64_t)c.heads * c.vd};
                if (c.Tk * tq > 4000 && block != 0 && block != 256)
                    continue; /* LeViT's own sizes: the default block and the largest (seconds under emulation) */
                ds_node n = make_node(DS_OP_LEVIT_ATTENTION, ys);
                n.in[1] = c.Tq < 0 ? -1 : 1;
                n.a.levit = ds_levit_attn_attr{c.heads, c.kd, c.vd, (int)c.Tk, (float)(1.0 / sqrt((double)c.kd)),
                                               variant ? DS_ACT_HARDSWISH : DS_ACT_NONE};
                const ds_levit_layout l = ds_levit_layout_of(&n);
                const int64_t xs[4] = {c.N, 1, c.Tk, l.kv_row}, qs[4] = {c.N, 1, tq, l.q_row};
                case_result r;
                /* the bias (variant 1) as w; x scaled so that the softmax is far from flat */
                CHECK_OK(run_graph_op(op_levit_attention, &n, xs, c.Tq < 0 ? NULL : qs,
                                      variant ? (size_t)(c.heads * tq * c.Tk) : 0, 0, 2.0f, block, 48, &r));
                CHECK_CASE(r, 1e-12, "levit_attention %s keys of %s heads %d kd %d vd %d variant %d block %d",
                           shape_str(xs).c_str(), shape_str(ys).c_str(), c.heads, c.kd, c.vd, variant, block);
            }
    const int64_t ys[4] = {1, 1, 4, 8}, xs[4] = {1, 1, 4, 2 * (2 * 4 + 4)};
    ds_node n = make_node(DS_OP_LEVIT_ATTENTION, ys);
    n.a.levit = ds_levit_attn_attr{2, 4, 4, 4, 0.5f, DS_ACT_NONE};
    case_result r;
    CHECK_FAILS(run_graph_op(op_levit_attention, &n, xs, NULL, 0, 0, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    /* 8 warps x 1600 keys of scores: 51,200 bytes of shared memory */
    const int64_t big[4] = {1, 1, 1600, 2 * (2 * 4 + 4)}, ybig[4] = {1, 1, 1600, 8};
    ds_node nb = make_node(DS_OP_LEVIT_ATTENTION, ybig);
    nb.a.levit = ds_levit_attn_attr{2, 4, 4, 1600, 0.5f, DS_ACT_NONE};
    CHECK_FAILS(run_graph_op(op_levit_attention, &nb, big, NULL, 0, 0, 1.0f, 256, 1, &r), DS_ERR_SHAPE,
                "shared memory");
    print_worst("levit_attention");
}

TEST(window_attention) {
    g_worst = 0;
    struct wa_case {
        int64_t N, H, W;
        int heads, hd, win_h, win_w, shift_h, shift_w;
        bool cosine, table, labels, scales;
    };
    static const wa_case cases[] = {
        {1, 8, 8, 3, 4, 4, 4, 2, 2, true, true, true, true},      /* a Swin v2 stage in small */
        {2, 7, 5, 1, 6, 3, 3, 1, 1, false, true, true, false},    /* windows that do not divide, a head of 1 */
        {1, 5, 11, 2, 5, 5, 11, 0, 0, true, true, false, false},  /* one window over the map */
        {1, 13, 3, 1, 35, 4, 2, 3, 1, true, false, true, true},   /* non-square, odd head_dim: 4 threads */
        {1, 5, 6, 2, 3, 8, 8, 0, 0, false, true, false, false},   /* a window larger than the map */
        {1, 12, 12, 2, 32, 12, 12, 0, 0, true, true, false, true}, /* Swin's head_dim, 144 keys: 5 tiles */
        {1, 9, 9, 1, 128, 6, 6, 3, 3, false, true, true, false},  /* the maximum head_dim */
    };
    for (const wa_case &c : cases)
        for (int block : {0, 32, 96, 256}) {
            const int64_t C = (int64_t)c.heads * c.hd, ys[4] = {c.N, c.H, c.W, C}, xs[4] = {c.N, c.H, c.W, 3 * C};
            ds_node n = make_node(DS_OP_WINDOW_ATTENTION, ys);
            n.a.win = ds_window_attr{c.heads, c.win_h, c.win_w, c.shift_h, c.shift_w,
                                     (float)(1.0 / sqrt((double)c.hd)), c.cosine};
            const size_t nt = (size_t)c.heads * (2 * c.win_h - 1) * (2 * c.win_w - 1), nl = (size_t)(c.H * c.W);
            std::vector<float> table(nt), labels(nl), scales((size_t)c.heads);
            op_random(table.data(), nt, 51, 4.0f);
            op_random(labels.data(), nl, 52, 1.0f);
            for (float &v : labels)
                v = floorf((v + 1.0f) * 1.5f); /* regions 0..2 */
            for (int h = 0; h < c.heads; h++)
                scales[(size_t)h] = 0.5f + (float)h;
            /* the node's constant slots say which are there and their shapes (dispatch checks them) */
            n.w[0] = ds_tensor_ref{"table", DS_F32, 3, {c.heads, 2 * c.win_h - 1, 2 * c.win_w - 1, 0}, NULL, true};
            n.w[1] = ds_tensor_ref{"labels", DS_F32, 2, {c.H, c.W, 0, 0}, NULL, true};
            n.w[2] = ds_tensor_ref{"scales", DS_F32, 1, {c.heads, 0, 0, 0}, NULL, true};
            given_weights g;
            g.w = table.data(), g.b = labels.data(), g.w2 = c.scales ? scales.data() : NULL, g.w2_len = scales.size();
            case_result r;
            CHECK_OK(run_graph_op(op_window_attention, &n, xs, NULL, c.table ? nt : 0, c.labels ? nl : 0, 2.0f, block,
                                  53, &r, g));
            CHECK_CASE(r, 1e-12, "window_attention %s window %dx%d shift %d,%d block %d", shape_str(ys).c_str(),
                       c.win_h, c.win_w, c.shift_h, c.shift_w, block);
        }
    const int64_t ys[4] = {1, 4, 4, 129}, xs[4] = {1, 4, 4, 3 * 129};
    ds_node n = make_node(DS_OP_WINDOW_ATTENTION, ys);
    n.a.win = ds_window_attr{1, 2, 2, 0, 0, 0.1f, false};
    case_result r;
    CHECK_FAILS(run_graph_op(op_window_attention, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "head_dim 129 is above the kernel's maximum of 128");
    print_worst("window_attention");
}

TEST(patch_merge) {
    g_worst = 0;
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 5, 7, 3}, {1, 4, 6, 8}, {1, 3, 1, 5}};
    for (const auto &xs : shapes)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {xs[0], (xs[1] + 1) / 2, (xs[2] + 1) / 2, 4 * xs[3]};
            ds_node n = make_node(DS_OP_PATCH_MERGE, ys);
            case_result r;
            CHECK_OK(run_graph_op(op_patch_merge, &n, xs, NULL, 0, 0, 1.0f, block, 54, &r));
            CHECK_CASE(r, 0.0, "patch_merge %s block %d", shape_str(xs).c_str(), block);
        }
    print_worst("patch_merge");
}

TEST(pos_embed) {
    g_worst = 0;
    static const int cases[][4] = {
        /* grid, gh, gw, C */
        {4, 6, 3, 5}, {5, 5, 5, 3}, {3, 1, 1, 2}, {1, 2, 3, 4}, {6, 2, 9, 7}, {4, 7, 4, 1},
    };
    static const int64_t none[4] = {0, 0, 0, 0}; /* the op has no input */
    for (const auto &c : cases)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {1, 1, 1 + (int64_t)c[1] * c[2], c[3]};
            ds_node n = make_node(DS_OP_POS_EMBED, ys);
            n.in[0] = -1;
            n.a.pos = ds_pos_attr{c[0], c[1], c[2], 0.0f, 0.0f};
            case_result r;
            CHECK_OK(run_graph_op(op_pos_embed, &n, none, NULL, (size_t)(1 + c[0] * c[0]) * c[3], 0, 1.0f, block,
                                  44, &r));
            /* GPU: FMA contraction of the interpolation */
            CHECK_CASE(r, 1e-12, "pos_embed grid %d -> %dx%d C %d block %d", c[0], c[1], c[2], c[3], block);
        }
    print_worst("pos_embed");
}

/* DINOv2's bicubic position embedding: the trained grid (37 for Depth
 * Anything V2) to 1x1, 5x7, itself (scale 1: the identity), 40x37 and
 * others, with the coordinate scales the builder sets for (g + 0.1) / G. */
TEST(pos_embed_bicubic) {
    g_worst = 0;
    static const int cases[][4] = {
        /* grid, gh, gw, C */
        {37, 1, 1, 3}, {37, 5, 7, 5}, {37, 37, 37, 2}, {37, 40, 37, 3}, {37, 37, 49, 1}, {3, 5, 2, 4}, {4, 2, 9, 7},
    };
    static const int64_t none[4] = {0, 0, 0, 0}; /* the op has no input */
    for (const auto &c : cases)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {1, 1, 1 + (int64_t)c[1] * c[2], c[3]};
            ds_node n = make_node(DS_OP_POS_EMBED_BICUBIC, ys);
            n.in[0] = -1;
            const bool same = c[1] == c[0] && c[2] == c[0];
            n.a.pos = ds_pos_attr{c[0], c[1], c[2], same ? 1.0f : ds_bicubic_factor_scale((c[1] + 0.1) / c[0]),
                                  same ? 1.0f : ds_bicubic_factor_scale((c[2] + 0.1) / c[0])};
            case_result r;
            CHECK_OK(run_graph_op(op_pos_embed_bicubic, &n, none, NULL, (size_t)(1 + c[0] * c[0]) * c[3], 0, 1.0f,
                                  block, 47, &r));
            /* float sums against the reference's double ones (GPU: FMA contraction); the identity exactly */
            CHECK_CASE(r, same ? 0.0 : 1e-12, "pos_embed_bicubic grid %d -> %dx%d C %d block %d", c[0], c[1], c[2],
                       c[3], block);
        }
    print_worst("pos_embed_bicubic");
}

/* prepend_token, readout_cat and drop_token: copies, bit for bit. */
TEST(tokens) {
    static const int64_t seqs[][3] = {{1, 1, 1}, {1, 12, 7}, {2, 15, 3}, {1, 35, 33}}; /* N, T, C */
    static const int grids[][2] = {{1, 1}, {3, 4}, {5, 3}, {5, 7}};                     /* gh x gw = T */
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        for (int block : BLOCKS) {
            const int64_t N = seqs[i][0], T = seqs[i][1], C = seqs[i][2];
            const int64_t xs[4] = {N, 1, T, C}, ps[4] = {N, 1, T + 1, C};
            ds_node n = make_node(DS_OP_PREPEND_TOKEN, ps);
            case_result r;
            CHECK_OK(run_graph_op(op_prepend_token, &n, xs, NULL, (size_t)C, 0, 1.0f, block, 45, &r));
            CHECK_CASE(r, 0.0, "prepend_token %s block %d", shape_str(xs).c_str(), block);
            const int64_t rs[4] = {N, grids[i][0], grids[i][1], 2 * C};
            ds_node nr = make_node(DS_OP_READOUT_CAT, rs);
            CHECK_OK(run_graph_op(op_readout_cat, &nr, ps, NULL, 0, 0, 1.0f, block, 46, &r));
            CHECK_CASE(r, 0.0, "readout_cat %s -> %s block %d", shape_str(ps).c_str(), shape_str(rs).c_str(), block);
            const int64_t ds[4] = {N, grids[i][0], grids[i][1], C};
            ds_node nd = make_node(DS_OP_DROP_TOKEN, ds);
            CHECK_OK(run_graph_op(op_drop_token, &nd, ps, NULL, 0, 0, 1.0f, block, 48, &r));
            CHECK_CASE(r, 0.0, "drop_token %s -> %s block %d", shape_str(ps).c_str(), shape_str(ds).c_str(), block);
        }
    const int64_t xs[4] = {1, 1, 13, 4}, rs[4] = {1, 3, 5, 8};
    ds_node n = make_node(DS_OP_READOUT_CAT, rs);
    case_result r;
    CHECK_FAILS(run_graph_op(op_readout_cat, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "x is 1x1x13x4, expected 1x1x16x4");
}

/* QK-norm + 2-D RoPE (Depth Anything 3): local and global positions, with
 * and without the norms, patch grids 1x1, 5x7, portrait; in place too. */
TEST(rope) {
    static const int grids[][2] = {{1, 1}, {5, 7}, {9, 4}};
    static const int heads_dims[][2] = {{6, 64}, {1, 8}, {3, 16}};
    g_worst = 0;
    for (const auto &g : grids)
        for (const auto &hd : heads_dims)
            for (int mode = 0; mode < 4; mode++)
                for (int block : BLOCKS) {
                    const int64_t T = 1 + (int64_t)g[0] * g[1], C = (int64_t)hd[0] * hd[1], N = 1 + mode % 2;
                    const int64_t s[4] = {N, 1, T, 3 * C};
                    ds_node n = make_node(DS_OP_QK_ROPE, s);
                    n.a.rope = ds_rope_attr{hd[0], g[0], g[1], (mode & 1) != 0, 100.0f, 1e-5f};
                    const size_t norm = mode & 2 ? (size_t)hd[1] : 0, lens[4] = {norm, norm, norm, norm};
                    case_result r;
                    CHECK_OK(run_graph_op_slots(op_qk_rope, &n, s, NULL, lens, 1.0f, block, 49, &r));
                    /* float statistics and rotations against double (GPU: FMA) */
                    CHECK_CASE(r, 1e-12, "qk_rope %s %dx%d heads %d mode %d block %d", shape_str(s).c_str(), g[0],
                               g[1], hd[0], mode, block);
                }
    print_worst("qk_rope");
}

/* concat, set_token, slice, constant (Depth Anything 3): copies, bit for bit. */
TEST(da3_tokens) {
    static const int64_t seqs[][3] = {{1, 1, 1}, {1, 36, 7}, {2, 15, 3}}; /* N, T, C */
    for (const auto &q : seqs)
        for (int block : BLOCKS) {
            const int64_t N = q[0], T = q[1], C = q[2];
            const int64_t xs[4] = {N, 1, T, C}, rs[4] = {N, 1, T, C + 2}, cs[4] = {N, 1, T, 2 * C + 2};
            ds_node n = make_node(DS_OP_CONCAT, cs);
            n.in[1] = 1;
            case_result r;
            CHECK_OK(run_graph_op(op_concat, &n, xs, rs, 0, 0, 1.0f, block, 50, &r));
            CHECK_CASE(r, 0.0, "concat %s block %d", shape_str(cs).c_str(), block);
            ds_node st = make_node(DS_OP_SET_TOKEN, xs);
            CHECK_OK(run_graph_op(op_set_token, &st, xs, NULL, (size_t)(2 * C), 0, 1.0f, block, 51, &r));
            CHECK_CASE(r, 0.0, "set_token %s block %d", shape_str(xs).c_str(), block);
            const int64_t ss[4] = {N, 1, (T + 1) / 2, C > 2 ? C - 2 : 1};
            ds_node sl = make_node(DS_OP_SLICE, ss);
            sl.a.slice = ds_slice_attr{(int)(T / 2), C > 2 ? 1 : 0};
            CHECK_OK(run_graph_op(op_slice, &sl, xs, NULL, 0, 0, 1.0f, block, 52, &r));
            CHECK_CASE(r, 0.0, "slice %s block %d", shape_str(ss).c_str(), block);
            const int64_t ks[4] = {1, T, 2, C}, one[4] = {1, 1, 1, 1};
            ds_node kn = make_node(DS_OP_CONSTANT, ks);
            kn.in[0] = -1;
            CHECK_OK(run_graph_op(op_constant, &kn, one, NULL, (size_t)(T * 2 * C), 0, 1.0f, block, 53, &r));
            CHECK_CASE(r, 0.0, "constant %s block %d", shape_str(ks).c_str(), block);
        }
}

/* kernels/<file>.cu -> its test here. */
static const struct {
    const char *file;
    void (*test)(void);
} KERNEL_TESTS[] = {
    {"add", add},         {"act", act},           {"resize_bilinear", resize_bilinear},
    {"maxpool", maxpool}, {"layernorm", layernorm}, {"groupnorm", groupnorm},
    {"bias_act", bias_act}, {"preprocess", preprocess}, {"resize_bicubic", resize_bicubic},
    {"minmax", minmax},   {"quantize", quantize},   {"conv_depthwise", conv_depthwise},
    {"conv_transpose", conv_transpose}, {"attention", attention}, {"pos_embed", pos_embed},
    {"tokens", tokens},   {"levit_attention", levit_attention}, {"window_attention", window_attention},
    {"patch_merge", patch_merge}, {"pos_embed_bicubic", pos_embed_bicubic},
    {"rope", rope},       {"da3_tokens", da3_tokens},
};

/* The names after "__global__ void" in a source file. */
static std::vector<std::string> kernel_names(const char *path) {
    std::vector<std::string> names;
    FILE *f = fopen(path, "rb");
    if (!f)
        return names;
    std::string src;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        src.append(buf, got);
    fclose(f);
    for (size_t at = src.find("__global__"); at != std::string::npos; at = src.find("__global__", at + 1)) {
        size_t p = src.find("void", at);
        if (p == std::string::npos)
            break;
        p += 4;
        while (p < src.size() && (src[p] == ' ' || src[p] == '\n'))
            p++;
        size_t e = p;
        while (e < src.size() && (isalnum((unsigned char)src[e]) || src[e] == '_'))
            e++;
        names.push_back(src.substr(p, e - p));
    }
    return names;
}

/* The .cu files under `dir`, at any depth. */
static void list_cu_files(const std::string &dir, std::vector<std::string> *out) {
    DIR *d = opendir(dir.c_str());
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const std::string name = e->d_name, path = dir + "/" + name;
        if (name == "." || name == "..")
            continue;
        struct stat st;
        if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            list_cu_files(path, out);
        else if (name.size() > 3 && name.compare(name.size() - 3, 3, ".cu") == 0)
            out->push_back(path);
    }
    closedir(d);
}

TEST(every_kernel_has_an_emulated_test) {
    if (!cuda_is_emulated()) {
        printf("    (emulator only: a GPU does not count launches)\n");
        return;
    }
    std::vector<std::string> paths;
    list_cu_files("kernels", &paths);
    CHECK_MSG(!paths.empty(), "cannot list kernels/ (run from the repository root)");
    int files = 0, kernels = 0;
    std::string missing;
    for (const std::string &path : paths) {
        const std::string name = path.substr(path.rfind('/') + 1), stem = name.substr(0, name.size() - 3);
        files++;
        bool tested = false;
        for (const auto &t : KERNEL_TESTS)
            tested |= stem == t.file;
        /* kernels/<folder>/<word>[_*].cu with a test binary of its own, tests/test_cuda_<word>.cu, which checks them */
        if (!tested && access(("tests/test_cuda_" + stem.substr(0, stem.find('_')) + ".cu").c_str(), R_OK) == 0)
            continue;
        if (!tested)
            missing += " " + path + " (no test in tests/test_cuda_kernels.cu)";
        for (const std::string &k : kernel_names(path.c_str())) {
            kernels++;
            if (kernel_launches(k.c_str()) <= 0)
                missing += " " + k + " of " + path + " (never launched)";
        }
    }
    CHECK_MSG(files > 0 && missing.empty(), "untested:%s", missing.c_str());
    printf("    %d kernel files, %d kernels: every one ran under emulation\n", files, kernels);
}

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        for (const auto &t : KERNEL_TESTS)
            test_run(t.file, t.test);
        RUN(nan_passes_through);
        RUN(every_kernel_has_an_emulated_test);
    });
}
