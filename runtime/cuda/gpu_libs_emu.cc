/*
 * gpu_libs_emu.cc: gpu_libs.h under the emulator. Shapes and pointers are
 * checked when a call is issued (as cuDNN and cuBLAS check theirs); the work
 * runs in stream order as a host operation: the convolution is
 * ds_ref_conv2d itself, the GEMM a plain loop accumulating in double as
 * ds_ref_linear does. With tuning.tf32 the float32 operands (x and w, A and
 * B) are first cut to TF32 as tensor cores read them: the top 10 bits of
 * the mantissa, the rest dropped (a library kernel that rounds them first
 * would err half as much), so TF32's error can be measured without a GPU.
 */
#include <string.h>

#include <vector>

#include "cpu/ops.h" /* ds_cpu_ref_kernels */
#include "gpu/emu/emu_internal.h" /* enqueue_host, mem_inside */
#include "base/error.h"    /* ds_fail */
#include "gpu/gpu_libs.h" /* the functions defined here */

namespace ds_cuda_emu {
using namespace ds_emu;

struct gpu_libs {
    bool tf32;
};

ds_status gpu_libs_create(gpu_libs **out) {
    *out = new gpu_libs();
    return DS_OK;
}

void gpu_libs_free(gpu_libs *libs) { delete libs; }

gpu_tuning gpu_tuning_default(void) { return gpu_tuning{true, 8, NULL, false}; }

/* Nothing to tune: the reference ops have one algorithm. */
ds_status gpu_libs_set_tuning(gpu_libs *libs, const gpu_tuning *t) {
    if (!libs || !t || t->max_plans < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gpu_libs_set_tuning: missing argument or max_plans < 1");
    libs->tf32 = t->tf32;
    return DS_OK;
}

/* n floats with the low 13 mantissa bits cleared: what a tensor core reads in TF32. */
static std::vector<float> tf32_cut(const float *p, int64_t n) {
    std::vector<float> v((size_t)(n > 0 ? n : 0));
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], 4);
        bits &= 0xFFFFE000u;
        memcpy(&v[(size_t)i], &bits, 4);
    }
    return v;
}

/* The reference ops need no workspace. */
size_t gpu_libs_workspace_bytes(const gpu_libs *libs) {
    (void)libs;
    return 0;
}

/* [p, p + n elements of `size` bytes) in device memory. */
static ds_status need_device_n(const char *call, const char *what, const void *p, int64_t n, size_t size) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (!p || !mem_inside(p, (size_t)n * size, MEM_DEVICE))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: %s (%p, %lld %s) is not in device memory", call, what, p,
                       (long long)n, size == sizeof(float) ? "floats" : "halves");
    return DS_OK;
}

static ds_status need_device(const char *call, const char *what, const void *p, int64_t floats) {
    return need_device_n(call, what, p, floats, sizeof(float));
}

static std::vector<float> widen(const __half *h, int64_t n) {
    std::vector<float> f((size_t)n);
    for (int64_t i = 0; i < n; i++)
        f[(size_t)i] = __half2float(h[i]);
    return f;
}

static ds_status check_conv(const char *call, gpu_libs *libs, const ds_conv_attr *a, const ds_tensor *x,
                            const float *w, const float *b, const ds_tensor *r, ds_tensor *y) {
    if (!libs || !a || !x || !y)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: missing argument", call);
    const int64_t *xs = x->shape, *ys = y->shape;
    DS_TRY(ds_conv_check_shapes(call, a, xs, ys, r ? r->shape : NULL));
    const int64_t ny = ds_shape_numel(ys);
    DS_TRY(need_device(call, "x", x->data, ds_shape_numel(xs)));
    DS_TRY(need_device(call, "w", w, ys[3] * a->kh * a->kw * (xs[3] / a->groups)));
    DS_TRY(need_device(call, "y", y->data, ny));
    if (b)
        DS_TRY(need_device(call, "b", b, ys[3]));
    if (r)
        DS_TRY(need_device(call, "r", r->data, ny));
    return DS_OK;
}

ds_status gpu_conv_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x,
                           const float *w, const float *b, const ds_tensor *r, ds_tensor *y) {
    (void)s;
    return check_conv("gpu_conv_prepare", libs, a, x, w, b, r, y);
}

ds_status gpu_conv(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x, const float *w,
                   const float *b, const ds_tensor *r, ds_tensor *y) {
    const char *call = "gpu_conv";
    DS_TRY(check_conv(call, libs, a, x, w, b, r, y));
    const int64_t *ys = y->shape;
    ds_node node;
    memset(&node, 0, sizeof node);
    node.op = DS_OP_CONV2D;
    node.name = call;
    node.a.conv = *a;
    memcpy(node.shape, ys, sizeof node.shape);
    const ds_tensor xt = *x, yt = *y, rt = r ? *r : ds_tensor{};
    const bool has_r = r != NULL, tf32 = libs->tf32;
    const int64_t nw = ys[3] * a->kh * a->kw * (x->shape[3] / a->groups);
    return enqueue_host(s, "cudnnConvolutionForward", [node, xt, yt, rt, has_r, w, b, tf32, nw]() {
        ds_tensor xv = xt, yv = yt, rv = rt;
        std::vector<float> xc, wc;
        const float *wv = w;
        if (tf32) { /* ReLU and ReLU6 as in_act commute with the cut */
            xc = tf32_cut(xt.data, ds_shape_numel(xt.shape));
            wc = tf32_cut(w, nw);
            xv.data = xc.data();
            wv = wc.data();
        }
        ds_cpu_ctx ctx = {1, NULL, 0};
        ds_cpu_op op = {&node, &xv, has_r ? &rv : NULL, &yv, wv, b, NULL, &ctx, NULL, NULL};
        ds_cpu_ref_kernels[DS_OP_CONV2D].run(&op);
        return DS_OK;
    });
}

/* C = act(A B^T + bias) with A (M, K) and B (N, K): four outputs at a time
 * for speed, each still one double sum in k order (the plain loop's result,
 * bit for bit). */
static void gemm_nt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    const float *bias, ds_act act, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        const float *a = A + i * lda;
        int64_t j = 0;
        for (; j + 4 <= N; j += 4) {
            const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            double s0 = bias ? bias[j] : 0.0, s1 = bias ? bias[j + 1] : 0.0;
            double s2 = bias ? bias[j + 2] : 0.0, s3 = bias ? bias[j + 3] : 0.0;
            for (int64_t k = 0; k < K; k++) {
                const double av = a[k];
                s0 += av * b0[k];
                s1 += av * b1[k];
                s2 += av * b2[k];
                s3 += av * b3[k];
            }
            C[i * ldc + j] = ds_apply_act(act, (float)s0);
            C[i * ldc + j + 1] = ds_apply_act(act, (float)s1);
            C[i * ldc + j + 2] = ds_apply_act(act, (float)s2);
            C[i * ldc + j + 3] = ds_apply_act(act, (float)s3);
        }
        for (; j < N; j++) {
            const float *b = B + j * ldb;
            double acc = bias ? bias[j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)a[k] * b[k];
            C[i * ldc + j] = ds_apply_act(act, (float)acc);
        }
    }
}

static ds_status check_gemm(const char *call, gpu_libs *libs, bool trans_a, bool trans_b, int64_t M, int64_t N,
                            int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                            float *C, int64_t ldc) {
    const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
    const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
    if (!libs || M < 0 || N < 0 || K < 0 || lda < a_cols || ldb < b_cols || ldc < N || lda < 1 || ldb < 1 ||
        ldc < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: M %lld N %lld K %lld with lda %lld ldb %lld ldc %lld", call,
                       (long long)M, (long long)N, (long long)K, (long long)lda, (long long)ldb, (long long)ldc);
    if (M == 0 || N == 0)
        return DS_OK;
    if (a_rows && a_cols)
        DS_TRY(need_device(call, "A", A, (a_rows - 1) * lda + a_cols));
    if (b_rows && b_cols)
        DS_TRY(need_device(call, "B", B, (b_rows - 1) * ldb + b_cols));
    DS_TRY(need_device(call, "C", C, (M - 1) * ldc + N));
    if (bias)
        DS_TRY(need_device(call, "bias", bias, N));
    return DS_OK;
}

ds_status gpu_gemm_prepare(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N,
                           int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                           ds_act act, float *C, int64_t ldc) {
    (void)s, (void)act;
    return check_gemm("gpu_gemm_prepare", libs, trans_a, trans_b, M, N, K, A, lda, B, ldb, bias, C, ldc);
}

ds_status gpu_gemm(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias, ds_act act,
                   float *C, int64_t ldc) {
    DS_TRY(check_gemm("gpu_gemm", libs, trans_a, trans_b, M, N, K, A, lda, B, ldb, bias, C, ldc));
    if (M == 0 || N == 0)
        return DS_OK;
    const float *A_in = A, *B_in = B; /* the lambda's A and B: cut to TF32 or not */
    const bool tf32 = libs->tf32;
    const int64_t a_len = (trans_a ? K - 1 : M - 1) * lda + (trans_a ? M : K);
    const int64_t b_len = (trans_b ? N - 1 : K - 1) * ldb + (trans_b ? K : N);
    return enqueue_host(s, "cublasGemmEx", [=]() {
        std::vector<float> a_cut, b_cut;
        const float *A = tf32 ? (a_cut = tf32_cut(A_in, a_len)).data() : A_in;
        const float *B = tf32 ? (b_cut = tf32_cut(B_in, b_len)).data() : B_in;
        if (!trans_a && trans_b) { /* the linear layers: x W^T */
            gemm_nt(M, N, K, A, lda, B, ldb, bias, act, C, ldc);
            return DS_OK;
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = bias ? bias[j] : 0.0;
                for (int64_t k = 0; k < K; k++) {
                    const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                    const float bv = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                    acc += (double)a * bv;
                }
                C[i * ldc + j] = ds_apply_act(act, (float)acc);
            }
        return DS_OK;
    });
}

/* ---- fp16 mode: the same reference arithmetic on the half operands widened
 * (exact), with the convolution's output rounded to half as cuDNN stores it ---- */

static ds_status check_conv_f16(const char *call, gpu_libs *libs, const ds_conv_attr *a, const int64_t xs[4],
                                const __half *x, const __half *w, const int64_t ys[4], __half *y) {
    if (!libs || !a || !xs || !ys)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: missing argument", call);
    DS_TRY(ds_conv_check_shapes(call, a, xs, ys, NULL));
    DS_TRY(need_device_n(call, "x", x, ds_shape_numel(xs), sizeof(__half)));
    DS_TRY(need_device_n(call, "w", w, ys[3] * a->kh * a->kw * (xs[3] / a->groups), sizeof(__half)));
    return need_device_n(call, "y", y, ds_shape_numel(ys), sizeof(__half));
}

ds_status gpu_conv_f16_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4],
                               const __half *x, const __half *w, const int64_t ys[4], __half *y) {
    (void)s;
    return check_conv_f16("gpu_conv_f16_prepare", libs, a, xs, x, w, ys, y);
}

ds_status gpu_conv_f16(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4], const __half *x,
                       const __half *w, const int64_t ys[4], __half *y) {
    const char *call = "gpu_conv_f16";
    DS_TRY(check_conv_f16(call, libs, a, xs, x, w, ys, y));
    ds_node node;
    memset(&node, 0, sizeof node);
    node.op = DS_OP_CONV2D;
    node.name = call;
    node.a.conv = *a;
    node.a.conv.in_act = node.a.conv.res_act = node.a.conv.act = DS_ACT_NONE; /* the caller's */
    memcpy(node.shape, ys, sizeof node.shape);
    ds_tensor xt = {}, yt = {};
    memcpy(xt.shape, xs, sizeof xt.shape);
    memcpy(yt.shape, ys, sizeof yt.shape);
    const int64_t nw = ys[3] * a->kh * a->kw * (xs[3] / a->groups);
    return enqueue_host(s, "cudnnBackendExecute", [node, xt, yt, x, w, y, nw]() {
        std::vector<float> xf = widen(x, ds_shape_numel(xt.shape)), wf = widen(w, nw);
        std::vector<float> yf((size_t)ds_shape_numel(yt.shape));
        ds_tensor xv = xt, yv = yt;
        xv.data = xf.data();
        yv.data = yf.data();
        ds_cpu_ctx ctx = {1, NULL, 0};
        ds_cpu_op op = {&node, &xv, NULL, &yv, wf.data(), NULL, NULL, &ctx, NULL, NULL};
        ds_cpu_ref_kernels[DS_OP_CONV2D].run(&op);
        for (size_t i = 0; i < yf.size(); i++)
            y[i] = __float2half_rn(yf[i]);
        return DS_OK;
    });
}

static ds_status check_gemm_f16(const char *call, gpu_libs *libs, int64_t M, int64_t N, int64_t K, const __half *A,
                                const __half *B, const float *bias, float *C, int64_t ldc) {
    if (!libs || M < 0 || N < 0 || K < 1 || ldc < N || ldc < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: M %lld N %lld K %lld with ldc %lld", call, (long long)M,
                       (long long)N, (long long)K, (long long)ldc);
    if (M == 0 || N == 0)
        return DS_OK;
    DS_TRY(need_device_n(call, "A", A, M * K, sizeof(__half)));
    DS_TRY(need_device_n(call, "B", B, N * K, sizeof(__half)));
    DS_TRY(need_device(call, "C", C, (M - 1) * ldc + N));
    if (bias)
        DS_TRY(need_device(call, "bias", bias, N));
    return DS_OK;
}

ds_status gpu_gemm_f16_prepare(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                               const __half *B, const float *bias, ds_act act, float *C, int64_t ldc) {
    (void)s, (void)act;
    return check_gemm_f16("gpu_gemm_f16_prepare", libs, M, N, K, A, B, bias, C, ldc);
}

ds_status gpu_gemm_f16(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                       const __half *B, const float *bias, ds_act act, float *C, int64_t ldc) {
    DS_TRY(check_gemm_f16("gpu_gemm_f16", libs, M, N, K, A, B, bias, C, ldc));
    if (M == 0 || N == 0)
        return DS_OK;
    return enqueue_host(s, "cublasLtMatmul", [=]() {
        const std::vector<float> a = widen(A, M * K), b = widen(B, N * K);
        gemm_nt(M, N, K, a.data(), K, b.data(), K, bias, act, C, ldc);
        return DS_OK;
    });
}

} // namespace ds_cuda_emu
