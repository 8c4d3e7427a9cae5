/*
 * test_cuda_half.cu: the pieces of the fp16 mode (--precision fp16) below
 * the backend:
 *  - op_to_half (kernels/nn/half.cu): half(in_act(x)) rounded to nearest, the
 *    padded channels zero, on odd shapes, every activation, several block
 *    sizes, guard zones around the output; compared bit for bit with
 *    cuda_fp16.h's __float2half_rn on the host (the same rounding, exact);
 *  - op_bias_act_half: bit for bit the float epilogue on the widened input
 *    (widening a half is exact, the arithmetic after it the same);
 *  - the backend's per-node scratch holds a library node's half operands
 *    (the input at its padded or grouped channel count, the output);
 *  - gpu_conv_f16 and gpu_gemm_f16 (the library seam): against the
 *    reference on the widened operands, the convolution's output rounded to
 *    half. Under emulation the seam runs that very arithmetic: bit for bit.
 *    On a GPU (`make test-gpu`) tensor cores sum in another order: the
 *    convolution's half output may then differ by one half ulp and the
 *    GEMM by float32 rounding, so the bound there is an NMSE of 1e-6 (one
 *    half ulp everywhere is ~2.4e-7 relative, an NMSE below 1e-13 for the
 *    GEMM), provisional until a GPU measures it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "cuda/dispatch.h" /* node_scratch_bytes */
#include "tests/cuda_test.h" /* dev_buf, cuda_test_setup */
#include "gpu/gpu_libs.h"  /* gpu_conv_f16, gpu_gemm_f16 */
#include "kernels/kernels.h"   /* op_to_half, op_bias_act_half */
#include "tests/op_check.h"  /* op_random, op_nmse */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;
static gpu_libs *g_libs;

static const double GPU_NMSE = 1e-6; /* on a device: see the top of the file */

static const ds_act ACTS[] = {DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6, DS_ACT_GELU};

static std::vector<float> widen(const std::vector<__half> &h) {
    std::vector<float> f(h.size());
    for (size_t i = 0; i < h.size(); i++)
        f[i] = __half2float(h[i]);
    return f;
}

static std::vector<__half> to_half_host(const std::vector<float> &f) {
    std::vector<__half> h(f.size());
    for (size_t i = 0; i < f.size(); i++)
        h[i] = __float2half_rn(f[i]);
    return h;
}

static bool same_bits(const std::vector<__half> &a, const std::vector<__half> &b) {
    return a.size() == b.size() && (a.empty() || !memcmp(a.data(), b.data(), a.size() * sizeof(__half)));
}

/* Emulated: bit for bit; on a GPU: within GPU_NMSE. */
static bool close_enough(const float *got, const float *want, size_t n, double *nmse) {
    *nmse = op_nmse(got, want, n);
    return cuda_is_emulated() ? !memcmp(got, want, n * sizeof(float)) : *nmse <= GPU_NMSE;
}

TEST(to_half_rounds_and_pads) {
    const int64_t shapes[][3] = {{1, 1, 1}, {1, 3, 8}, {7, 3, 8}, {97, 13, 16}, {5, 64, 64}, {2, 17, 17}, {0, 4, 8}};
    int cases = 0;
    for (const auto &sh : shapes)
        for (ds_act act : ACTS)
            for (int block : {0, 1, 96}) {
                const int64_t rows = sh[0], C = sh[1], Cp = sh[2];
                std::vector<float> x((size_t)(rows * C));
                op_random(x.data(), x.size(), 40 + (uint64_t)C, 8.0f);
                if (!x.empty()) { /* beyond half's range and below its normals */
                    x[0] = 70000.0f;
                    x[x.size() / 2] = -3e-6f;
                }
                std::vector<__half> want((size_t)(rows * Cp)), got(want.size());
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t c = 0; c < Cp; c++)
                        want[(size_t)(r * Cp + c)] =
                            __float2half_rn(c < C ? ds_apply_act(act, x[(size_t)(r * C + c)]) : 0.0f);
                dev_buf<float> dx;
                dev_buf<__half> dy;
                CHECK_OK(dev_alloc(&dx, x.size()));
                CHECK_OK(dev_alloc(&dy, want.size()));
                CHECK_OK(dev_upload(&dx, x.data()));
                const kern_ctx k = {g_stream, block};
                CHECK_OK(op_to_half(&k, dx.p, rows, C, act, Cp, dy.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(dy, got.data()));
                CHECK_MSG(same_bits(got, want), "to_half rows %lld C %lld Cp %lld %s block %d", (long long)rows,
                          (long long)C, (long long)Cp, ds_act_name(act), block);
                CHECK(dev_guards_ok(dy) && dev_guards_ok(dx));
                dev_release(&dx);
                dev_release(&dy);
                cases++;
            }
    const kern_ctx k = {g_stream, 0};
    CHECK_FAILS(op_to_half(&k, NULL, 4, 8, DS_ACT_NONE, 7, NULL), DS_ERR_INVALID_ARGUMENT, "padded to 7");
    printf("    %d cases bit-equal to __float2half_rn (overflow to inf, subnormals, zero padding)\n", cases);
}

TEST(bias_act_half_is_the_float_epilogue) {
    const int64_t shape[4] = {1, 5, 7, 11};
    const size_t n = 5 * 7 * 11;
    std::vector<float> xf(n), b(11), r(n);
    op_random(xf.data(), n, 50, 4.0f);
    op_random(b.data(), b.size(), 51, 0.5f);
    op_random(r.data(), n, 52, 2.0f);
    const std::vector<__half> xh = to_half_host(xf);
    const std::vector<float> xw = widen(xh);
    dev_buf<float> dxw, db, dr, dy, dref;
    dev_buf<__half> dxh;
    CHECK_OK(dev_alloc(&dxh, n));
    CHECK_OK(dev_alloc(&dxw, n));
    CHECK_OK(dev_alloc(&db, b.size()));
    CHECK_OK(dev_alloc(&dr, n));
    CHECK_OK(dev_alloc(&dy, n));
    CHECK_OK(dev_alloc(&dref, n));
    CHECK_OK(dev_upload(&dxh, xh.data()));
    CHECK_OK(dev_upload(&dxw, xw.data()));
    CHECK_OK(dev_upload(&db, b.data()));
    CHECK_OK(dev_upload(&dr, r.data()));
    std::vector<float> got(n), want(n);
    for (ds_act act : ACTS)
        for (int with_r = 0; with_r < 2; with_r++)
            for (int block : {0, 1, 96}) {
                const kern_ctx k = {g_stream, block};
                ds_tensor tw = {dxw.p, {1, 5, 7, 11}}, tr = {dr.p, {1, 5, 7, 11}};
                ds_tensor ty = {dy.p, {1, 5, 7, 11}}, tref = {dref.p, {1, 5, 7, 11}};
                CHECK_OK(op_bias_act(&k, &tw, db.p, with_r ? &tr : NULL, DS_ACT_RELU, act, &tref));
                CHECK_OK(op_bias_act_half(&k, dxh.p, shape, db.p, with_r ? &tr : NULL, DS_ACT_RELU, act, &ty));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(dy, got.data()));
                CHECK_OK(dev_download(dref, want.data()));
                CHECK_MSG(!memcmp(got.data(), want.data(), n * sizeof(float)), "bias_act_half %s residual %d block %d",
                          ds_act_name(act), with_r, block);
                CHECK(dev_guards_ok(dy));
            }
    const kern_ctx k = {g_stream, 0};
    ds_tensor small = {dy.p, {1, 5, 7, 10}};
    CHECK_FAILS(op_bias_act_half(&k, dxh.p, shape, db.p, NULL, DS_ACT_NONE, DS_ACT_NONE, &small), DS_ERR_SHAPE,
                "y is");
    dev_release(&dxh);
    dev_release(&dxw);
    dev_release(&db);
    dev_release(&dr);
    dev_release(&dy);
    dev_release(&dref);
}

struct conv_case {
    int64_t x[4]; /* (N, H, W, C): C already padded where the backend pads */
    int64_t o;
    ds_conv_attr a; /* in_act, res_act and act are the caller's: set here to show they are ignored */
};

static const conv_case CONVS[] = {
    {{1, 7, 9, 8}, 6, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_RELU, DS_ACT_NONE, DS_ACT_RELU}},
    {{2, 8, 5, 8}, 5, {3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1, DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6}}, /* TF SAME */
    {{1, 5, 3, 6}, 4, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE}},  /* grouped 1x1 */
    {{1, 11, 13, 16}, 32, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_GELU}}, /* dilated */
    {{1, 1, 1, 8}, 3, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE}},
};

/* The reference: ds_ref_conv2d's bare convolution on the widened operands, rounded to half. */
static std::vector<float> conv_f16_reference(const conv_case &c, const int64_t ys[4], const std::vector<float> &x,
                                             const std::vector<float> &w) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_CONV2D;
    n.a.conv = c.a;
    n.a.conv.in_act = n.a.conv.res_act = n.a.conv.act = DS_ACT_NONE;
    memcpy(n.shape, ys, sizeof n.shape);
    std::vector<float> y((size_t)ds_shape_numel(ys));
    std::vector<float> xc = x, wc = w;
    ds_tensor hx = {xc.data(), {c.x[0], c.x[1], c.x[2], c.x[3]}}, hy = {y.data(), {ys[0], ys[1], ys[2], ys[3]}};
    ds_cpu_ctx ctx = {1, NULL, 0};
    ds_cpu_op op = {&n, &hx, NULL, &hy, wc.data(), NULL, NULL, &ctx, NULL, NULL};
    ds_ref_conv2d(&op);
    return widen(to_half_host(y));
}

TEST(conv_f16_is_the_reference_on_half_operands) {
    double worst = 0;
    for (const conv_case &c : CONVS) {
        const ds_conv_attr &a = c.a;
        const int64_t ys[4] = {c.x[0], ds_window_out(c.x[1], a.pad_t, a.pad_b, a.kh, a.stride_h, a.dil_h),
                               ds_window_out(c.x[2], a.pad_l, a.pad_r, a.kw, a.stride_w, a.dil_w), c.o};
        const size_t nx = (size_t)ds_shape_numel(c.x), nw = (size_t)(c.o * a.kh * a.kw * (c.x[3] / a.groups));
        const size_t ny = (size_t)ds_shape_numel(ys);
        std::vector<float> x(nx), w(nw);
        op_random(x.data(), nx, 60, 2.0f);
        op_random(w.data(), nw, 61, 0.5f);
        const std::vector<__half> xh = to_half_host(x), wh = to_half_host(w);
        const std::vector<float> want = conv_f16_reference(c, ys, widen(xh), widen(wh));
        dev_buf<__half> dx, dw, dy;
        CHECK_OK(dev_alloc(&dx, nx));
        CHECK_OK(dev_alloc(&dw, nw));
        CHECK_OK(dev_alloc(&dy, ny));
        CHECK_OK(dev_upload(&dx, xh.data()));
        CHECK_OK(dev_upload(&dw, wh.data()));
        CHECK_OK(gpu_conv_f16_prepare(g_libs, g_stream, &a, c.x, dx.p, dw.p, ys, dy.p));
        CHECK_OK(gpu_conv_f16(g_libs, g_stream, &a, c.x, dx.p, dw.p, ys, dy.p));
        CHECK_OK(cuda_stream_sync(g_stream));
        std::vector<__half> got(ny);
        CHECK_OK(dev_download(dy, got.data()));
        double e = 0;
        CHECK_MSG(close_enough(widen(got).data(), want.data(), ny, &e), "conv_f16 %dx%d groups %d: NMSE %.2e", a.kh,
                  a.kw, a.groups, e);
        worst = e > worst ? e : worst;
        CHECK(dev_guards_ok(dy));
        int64_t bad[4] = {ys[0], ys[1] + 1, ys[2], ys[3]};
        CHECK_FAILS(gpu_conv_f16(g_libs, g_stream, &a, c.x, dx.p, dw.p, bad, dy.p), DS_ERR_SHAPE, "does not convolve");
        dev_release(&dx);
        dev_release(&dw);
        dev_release(&dy);
    }
    printf("    %zu convolutions, largest NMSE %.2e\n", sizeof CONVS / sizeof CONVS[0], worst);
}

TEST(gemm_f16_is_the_reference_on_half_operands) {
    const int64_t dims[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 64}, {65, 40, 24}};
    double worst = 0;
    for (const auto &d : dims)
        for (ds_act act : ACTS)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                const int64_t M = d[0], N = d[1], K = d[2], ldc = N + 3;
                std::vector<float> A((size_t)(M * K)), B((size_t)(N * K)), bias((size_t)N);
                op_random(A.data(), A.size(), 70, 2.0f);
                op_random(B.data(), B.size(), 71, 0.5f);
                op_random(bias.data(), bias.size(), 72, 0.5f);
                const std::vector<__half> ah = to_half_host(A), bh = to_half_host(B);
                const std::vector<float> aw = widen(ah), bw = widen(bh);
                std::vector<float> want((size_t)(M * ldc), 0.0f), got(want.size());
                for (int64_t i = 0; i < M; i++)
                    for (int64_t j = 0; j < N; j++) {
                        double acc = with_bias ? bias[(size_t)j] : 0.0;
                        for (int64_t k = 0; k < K; k++)
                            acc += (double)aw[(size_t)(i * K + k)] * bw[(size_t)(j * K + k)];
                        want[(size_t)(i * ldc + j)] = ds_apply_act(act, (float)acc);
                    }
                dev_buf<__half> dA, dB;
                dev_buf<float> dbias, dC;
                CHECK_OK(dev_alloc(&dA, ah.size()));
                CHECK_OK(dev_alloc(&dB, bh.size()));
                CHECK_OK(dev_alloc(&dbias, bias.size()));
                CHECK_OK(dev_alloc(&dC, want.size()));
                CHECK_OK(dev_upload(&dA, ah.data()));
                CHECK_OK(dev_upload(&dB, bh.data()));
                CHECK_OK(dev_upload(&dbias, bias.data()));
                CHECK_OK(dev_upload(&dC, want.data())); /* the padding between rows: untouched */
                const float *pb = with_bias ? dbias.p : NULL;
                CHECK_OK(gpu_gemm_f16_prepare(g_libs, g_stream, M, N, K, dA.p, dB.p, pb, act, dC.p, ldc));
                CHECK_OK(gpu_gemm_f16(g_libs, g_stream, M, N, K, dA.p, dB.p, pb, act, dC.p, ldc));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(dC, got.data()));
                double e = 0;
                CHECK_MSG(close_enough(got.data(), want.data(), got.size(), &e), "gemm_f16 %lldx%lldx%lld %s bias %d",
                          (long long)M, (long long)N, (long long)K, ds_act_name(act), with_bias);
                worst = e > worst ? e : worst;
                CHECK(dev_guards_ok(dC));
                CHECK_FAILS(gpu_gemm_f16(g_libs, g_stream, M, N, K, dA.p, dB.p, pb, act, dC.p, N - 1),
                            DS_ERR_INVALID_ARGUMENT, "ldc");
                dev_release(&dA);
                dev_release(&dB);
                dev_release(&dbias);
                dev_release(&dC);
            }
    printf("    largest NMSE %.2e\n", worst);
}

/* The fp16 scratch of a dense convolution (3 channels read as 8), a
 * grouped one (32 channels in 4 groups: all 32 read) and a linear layer holds
 * each one's half input and, for a convolution, its half output. */
TEST(fp16_scratch_holds_the_operands) {
    ds_node nodes[4];
    memset(nodes, 0, sizeof nodes);
    const int64_t in_shape[4] = {1, 5, 7, 3}, mid[4] = {1, 5, 7, 32}, out[4] = {1, 5, 7, 16};
    nodes[0].op = DS_OP_INPUT;
    memcpy(nodes[0].shape, in_shape, sizeof in_shape);
    nodes[1].op = DS_OP_CONV2D; /* dense 3 -> 32 */
    nodes[1].in[0] = 0, nodes[1].in[1] = -1;
    nodes[1].a.conv = ds_conv_attr{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE};
    memcpy(nodes[1].shape, mid, sizeof mid);
    nodes[2].op = DS_OP_CONV2D; /* grouped 32 -> 16 in 4 groups */
    nodes[2].in[0] = 1, nodes[2].in[1] = -1;
    nodes[2].a.conv = ds_conv_attr{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE};
    memcpy(nodes[2].shape, out, sizeof out);
    nodes[3].op = DS_OP_LINEAR; /* 16 -> 16 */
    nodes[3].in[0] = 2, nodes[3].in[1] = -1;
    memcpy(nodes[3].shape, out, sizeof out);
    ds_graph g;
    memset(&g, 0, sizeof g);
    g.nodes = nodes;
    g.n_nodes = 4;
    size_t offsets[4] = {0, 0, 0, 0};
    ds_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.n_nodes = 4;
    plan.offset = offsets;
    const size_t pixels = 5 * 7;
    const size_t need[4] = {0, pixels * (8 + 32) * sizeof(__half), pixels * (32 + 16) * sizeof(__half),
                            pixels * 16 * sizeof(__half)};
    for (int i = 1; i < 4; i++)
        CHECK_MSG(node_scratch_bytes(&g, &plan, i, true) >= need[i], "node %d: %zu scratch bytes, needs %zu", i,
                  node_scratch_bytes(&g, &plan, i, true), need[i]);
    int64_t cols = 0, padded = 0;
    CHECK(node_half_weight(&g, 1, &cols, &padded) && cols == 3 && padded == 8);
    CHECK(node_half_weight(&g, 2, &cols, &padded) && cols == 8 && padded == 8);
    CHECK(node_scratch_bytes(&g, &plan, 2, false) == 0);
}

/* The library seam (later tests use g_libs). */
TEST(libraries_open) { CHECK_OK(gpu_libs_create(&g_libs)); }

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        RUN(to_half_rounds_and_pads);
        RUN(bias_act_half_is_the_float_epilogue);
        RUN(fp16_scratch_holds_the_operands);
        RUN(libraries_open);
        RUN(conv_f16_is_the_reference_on_half_operands);
        RUN(gemm_f16_is_the_reference_on_half_operands);
        gpu_libs_free(g_libs);
    });
}
