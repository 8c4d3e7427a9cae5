/*
 * test_cuda_libs.cu: the cuDNN/cuBLAS seam (runtime/gpu/gpu_libs.h) under the
 * emulator: gpu_conv is ds_ref_conv2d and gpu_gemm a plain GEMM (on operands
 * cut to TF32 when tuned so), both in
 * stream order and capturable; shapes and pointers are checked when a call
 * is issued. Results are compared bit for bit: the emulated calls run the
 * reference arithmetic itself. Emulator only until the cuDNN/cuBLAS
 * implementation exists; then it joins GPU_TESTS with NMSE thresholds.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "tests/conv_check.h" /* conv_check_make */
#include "tests/cuda_test.h" /* dev_buf */
#include "gpu/gpu_libs.h"  /* gpu_conv, gpu_gemm */
#include "kernels/kernels.h"   /* op_bias_act */
#include "tests/op_check.h"  /* op_random, op_nmse */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;
static gpu_libs *g_libs;

struct conv_case {
    int64_t x[4];
    int64_t o;
    ds_conv_attr a;
};

static const conv_case CONVS[] = {
    {{1, 7, 9, 4}, 6, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_RELU, DS_ACT_NONE, DS_ACT_RELU}},
    {{2, 8, 5, 3}, 5, {3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1, DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6}}, /* TF SAME */
    {{1, 6, 6, 8}, 8, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_GELU}}, /* depthwise, dilated */
    {{1, 5, 3, 6}, 4, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE}}, /* grouped 1x1 */
};

TEST(conv_is_the_reference) {
    for (const conv_case &c : CONVS)
        for (int with_r = 0; with_r < 2; with_r++) {
            const ds_conv_attr &a = c.a;
            conv_check k;
            CHECK_OK(conv_check_make(c.x, c.o, a, true, with_r != 0, 0.1f, &k));
            const int64_t *ys = k.ys;
            const size_t ny = k.ref.size();
            std::vector<float> got(ny);
            ds_tensor tx = {k.dx.p, {c.x[0], c.x[1], c.x[2], c.x[3]}}, tr = {k.dr.p, {ys[0], ys[1], ys[2], ys[3]}};
            ds_tensor ty = {k.dy.p, {ys[0], ys[1], ys[2], ys[3]}};
            CHECK_OK(gpu_conv(g_libs, g_stream, &a, &tx, k.dw.p, k.db.p, with_r ? &tr : NULL, &ty));
            CHECK_OK(cuda_stream_sync(g_stream));
            CHECK_OK(dev_download(k.dy, got.data()));
            CHECK_MSG(!memcmp(got.data(), k.ref.data(), ny * sizeof(float)), "conv %dx%d groups %d residual %d differs",
                      a.kh, a.kw, a.groups, with_r);
            CHECK(dev_guards_ok(k.dy));
            /* a wrong output shape and a host pointer are refused at the call */
            ds_tensor bad = ty;
            bad.shape[1]++;
            CHECK_FAILS(gpu_conv(g_libs, g_stream, &a, &tx, k.dw.p, k.db.p, NULL, &bad), DS_ERR_SHAPE,
                        "does not convolve");
            CHECK_FAILS(gpu_conv(g_libs, g_stream, &a, &tx, k.w.data(), k.db.p, NULL, &ty), DS_ERR_INVALID_ARGUMENT,
                        "w (");
            conv_check_release(&k);
        }
}

/* The GEMM spelled out, to compare with. */
static void gemm_ref(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, const float *bias, ds_act act, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = bias ? bias[j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = ds_apply_act(act, (float)acc);
        }
}

TEST(gemm_transposes_and_epilogue) {
    const int64_t M = 13, N = 7, K = 11, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (ds_act act : {DS_ACT_NONE, DS_ACT_GELU})
                for (int with_bias = 0; with_bias < 2; with_bias++) {
                    const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                    const size_t na = (size_t)((ta ? K : M) * lda), nb = (size_t)((tb ? N : K) * ldb), nc = (size_t)(M * ldc);
                    std::vector<float> A(na), B(nb), bias(N), C(nc, 0.0f), want(nc, 0.0f);
                    op_random(A.data(), na, 5, 1.0f);
                    op_random(B.data(), nb, 6, 1.0f);
                    op_random(bias.data(), N, 7, 1.0f);
                    gemm_ref(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, with_bias ? bias.data() : NULL, act,
                             want.data(), ldc);
                    dev_buf<float> dA, dB, dbias, dC;
                    CHECK_OK(dev_alloc(&dA, na));
                    CHECK_OK(dev_alloc(&dB, nb));
                    CHECK_OK(dev_alloc(&dbias, N));
                    CHECK_OK(dev_alloc(&dC, nc));
                    CHECK_OK(dev_upload(&dA, A.data()));
                    CHECK_OK(dev_upload(&dB, B.data()));
                    CHECK_OK(dev_upload(&dbias, bias.data()));
                    CHECK_OK(dev_upload(&dC, C.data()));
                    CHECK_OK(gpu_gemm(g_libs, g_stream, ta, tb, M, N, K, dA.p, lda, dB.p, ldb,
                                      with_bias ? dbias.p : NULL, act, dC.p, ldc));
                    CHECK_OK(dev_download(dC, C.data()));
                    CHECK_MSG(!memcmp(C.data(), want.data(), nc * sizeof(float)), "gemm ta %d tb %d %s bias %d", ta, tb,
                              ds_act_name(act), with_bias);
                    CHECK(dev_guards_ok(dC));
                    CHECK_FAILS(gpu_gemm(g_libs, g_stream, ta, tb, M, N, K, dA.p, 1, dB.p, ldb, NULL, act, dC.p, ldc),
                                DS_ERR_INVALID_ARGUMENT, "lda 1");
                    dev_release(&dA);
                    dev_release(&dB);
                    dev_release(&dbias);
                    dev_release(&dC);
                }
}

/* The top 10 mantissa bits of each value: TF32 as a tensor core reads it. */
static std::vector<float> tf32_cut(const std::vector<float> &v) {
    std::vector<float> c(v.size());
    for (size_t i = 0; i < v.size(); i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        bits &= 0xFFFFE000u;
        memcpy(&c[i], &bits, 4);
    }
    return c;
}

/* With tuning.tf32 the emulated GEMM reads its operands cut to TF32, every transpose. */
TEST(gemm_in_tf32_reads_cut_operands) {
    gpu_libs *libs = NULL;
    CHECK_OK(gpu_libs_create(&libs));
    gpu_tuning t = gpu_tuning_default();
    t.tf32 = true;
    CHECK_OK(gpu_libs_set_tuning(libs, &t));
    const int64_t M = 9, N = 6, K = 13;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t lda = ta ? M : K, ldb = tb ? K : N;
            std::vector<float> A((size_t)(M * K)), B((size_t)(N * K)), C((size_t)(M * N)), want(C.size()), full(C.size());
            op_random(A.data(), A.size(), 8, 1.0f);
            op_random(B.data(), B.size(), 9, 1.0f);
            gemm_ref(ta, tb, M, N, K, tf32_cut(A).data(), lda, tf32_cut(B).data(), ldb, NULL, DS_ACT_NONE, want.data(),
                     N);
            gemm_ref(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, NULL, DS_ACT_NONE, full.data(), N);
            dev_buf<float> dA, dB, dC;
            CHECK_OK(dev_alloc(&dA, A.size()));
            CHECK_OK(dev_alloc(&dB, B.size()));
            CHECK_OK(dev_alloc(&dC, C.size()));
            CHECK_OK(dev_upload(&dA, A.data()));
            CHECK_OK(dev_upload(&dB, B.data()));
            CHECK_OK(gpu_gemm(libs, g_stream, ta, tb, M, N, K, dA.p, lda, dB.p, ldb, NULL, DS_ACT_NONE, dC.p, N));
            CHECK_OK(dev_download(dC, C.data()));
            CHECK_MSG(!memcmp(C.data(), want.data(), C.size() * sizeof(float)), "tf32 gemm ta %d tb %d", ta, tb);
            CHECK_MSG(memcmp(C.data(), full.data(), C.size() * sizeof(float)) != 0, "tf32 gemm ta %d tb %d is float32's",
                      ta, tb);
            dev_release(&dA);
            dev_release(&dB);
            dev_release(&dC);
        }
    gpu_libs_free(libs);
}

/* gpu_gemm (weights (O, I), transposed) + op_bias_act (residual, act) is ds_ref_linear. */
TEST(gemm_and_epilogue_are_linear) {
    const int64_t T = 9, I = 16, O = 12;
    std::vector<float> x(T * I), w(O * I), b(O), r(T * O), ref(T * O), got(T * O);
    op_random(x.data(), x.size(), 8, 1.0f);
    op_random(w.data(), w.size(), 9, 0.25f);
    op_random(b.data(), b.size(), 10, 0.5f);
    op_random(r.data(), r.size(), 11, 1.0f);
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_LINEAR;
    n.a.linear.act = DS_ACT_GELU;
    const int64_t ys[4] = {1, 1, T, O};
    memcpy(n.shape, ys, sizeof n.shape);
    ds_tensor hx = {x.data(), {1, 1, T, I}}, hr = {r.data(), {1, 1, T, O}}, hy = {ref.data(), {1, 1, T, O}};
    ds_cpu_ctx ctx = {1, NULL, 0};
    ds_cpu_op op = {&n, &hx, &hr, &hy, w.data(), b.data(), NULL, &ctx, NULL, NULL};
    ds_ref_linear(&op);
    dev_buf<float> dx, dw, db, dr, dy;
    CHECK_OK(dev_alloc(&dx, x.size()));
    CHECK_OK(dev_alloc(&dw, w.size()));
    CHECK_OK(dev_alloc(&db, b.size()));
    CHECK_OK(dev_alloc(&dr, r.size()));
    CHECK_OK(dev_alloc(&dy, got.size()));
    CHECK_OK(dev_upload(&dx, x.data()));
    CHECK_OK(dev_upload(&dw, w.data()));
    CHECK_OK(dev_upload(&db, b.data()));
    CHECK_OK(dev_upload(&dr, r.data()));
    CHECK_OK(gpu_gemm(g_libs, g_stream, false, true, T, O, I, dx.p, I, dw.p, I, db.p, DS_ACT_NONE, dy.p, O));
    ds_tensor ty = {dy.p, {1, 1, T, O}}, tr = {dr.p, {1, 1, T, O}};
    kern_ctx k = {g_stream, 0};
    CHECK_OK(op_bias_act(&k, &ty, NULL, &tr, DS_ACT_NONE, DS_ACT_GELU, &ty));
    CHECK_OK(dev_download(dy, got.data()));
    CHECK_MSG(!memcmp(got.data(), ref.data(), got.size() * sizeof(float)), "NMSE %g",
              op_nmse(got.data(), ref.data(), got.size()));
    dev_release(&dx);
    dev_release(&dw);
    dev_release(&db);
    dev_release(&dr);
    dev_release(&dy);
}

/* A conv block as the backend will run it: upload, library convolution,
 * our epilogue kernel, download; captured once and replayed on new photos. */
TEST(conv_block_in_a_graph) {
    const ds_conv_attr a = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE};
    const int64_t H = 6, W = 7, C = 3, O = 5;
    const size_t nx = (size_t)(H * W * C), ny = (size_t)(H * W * O), nw = (size_t)(O * 9 * C);
    std::vector<float> w(nw), b(O), r(ny), ref(ny);
    op_random(w.data(), nw, 12, 0.5f);
    op_random(b.data(), O, 13, 0.2f);
    op_random(r.data(), ny, 14, 1.0f);
    float *pin_x, *pin_y;
    CHECK_OK(cuda_malloc_host((void **)&pin_x, nx * sizeof(float)));
    CHECK_OK(cuda_malloc_host((void **)&pin_y, ny * sizeof(float)));
    dev_buf<float> dx, dw, db, dr, dy;
    CHECK_OK(dev_alloc(&dx, nx));
    CHECK_OK(dev_alloc(&dw, nw));
    CHECK_OK(dev_alloc(&db, O));
    CHECK_OK(dev_alloc(&dr, ny));
    CHECK_OK(dev_alloc(&dy, ny));
    CHECK_OK(dev_upload(&dw, w.data()));
    CHECK_OK(dev_upload(&db, b.data()));
    CHECK_OK(dev_upload(&dr, r.data()));
    ds_tensor tx = {dx.p, {1, H, W, C}}, ty = {dy.p, {1, H, W, O}}, tr = {dr.p, {1, H, W, O}};
    kern_ctx k = {g_stream, 0};
    cudaGraphExec_t graph;
    CHECK_OK(cuda_capture_begin(g_stream));
    CHECK_OK(cuda_memcpy_async(dx.p, pin_x, nx * sizeof(float), cudaMemcpyHostToDevice, g_stream));
    CHECK_OK(gpu_conv(g_libs, g_stream, &a, &tx, dw.p, NULL, NULL, &ty));
    CHECK_OK(op_bias_act(&k, &ty, db.p, &tr, DS_ACT_RELU, DS_ACT_RELU, &ty));
    CHECK_OK(cuda_memcpy_async(pin_y, dy.p, ny * sizeof(float), cudaMemcpyDeviceToHost, g_stream));
    CHECK_OK(cuda_capture_end(g_stream, &graph));
    for (int replay = 0; replay < 2; replay++) {
        op_random(pin_x, nx, 100 + (uint64_t)replay, 1.0f);
        ds_node n;
        memset(&n, 0, sizeof n);
        n.op = DS_OP_CONV2D;
        n.a.conv = a;
        n.a.conv.res_act = DS_ACT_RELU;
        n.a.conv.act = DS_ACT_RELU;
        const int64_t ys[4] = {1, H, W, O};
        memcpy(n.shape, ys, sizeof n.shape);
        ds_tensor hx = {pin_x, {1, H, W, C}}, hr = {r.data(), {1, H, W, O}}, hy = {ref.data(), {1, H, W, O}};
        ds_cpu_ctx ctx = {1, NULL, 0};
        ds_cpu_op op = {&n, &hx, &hr, &hy, w.data(), b.data(), NULL, &ctx, NULL, NULL};
        ds_ref_conv2d(&op);
        CHECK_OK(cuda_graph_launch(graph, g_stream));
        CHECK_OK(cuda_stream_sync(g_stream));
        /* bias added in float after the sum, not inside the double sum: an ulp apart */
        const double e = op_nmse(pin_y, ref.data(), ny);
        CHECK_MSG(e <= 1e-12, "replay %d: NMSE %g", replay, e);
    }
    CHECK_OK(cuda_graph_destroy(graph));
    CHECK_OK(cuda_free_host(pin_x));
    CHECK_OK(cuda_free_host(pin_y));
    dev_release(&dx);
    dev_release(&dw);
    dev_release(&db);
    dev_release(&dr);
    dev_release(&dy);
}

/* The library seam (later tests use g_libs). */
TEST(libraries_open) { CHECK_OK(gpu_libs_create(&g_libs)); }

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        RUN(libraries_open);
        RUN(conv_is_the_reference);
        RUN(gemm_transposes_and_epilogue);
        RUN(gemm_in_tf32_reads_cut_operands);
        RUN(gemm_and_epilogue_are_linear);
        RUN(conv_block_in_a_graph);
        gpu_libs_free(g_libs);
    });
}
