/*
 * test_cudnn_graphs.cu: every convolution of the networks (the four,
 * dpt_levit_224, and the BEiT models' own widths and 512 size) as the cuDNN
 * operation graphs gpu_libs_cudnn.cu builds, without a GPU.
 *
 * What cuDNN 9.19 does here without a device (measured, and asserted):
 *  - cudnnCreate fails (CUDNN_STATUS_NOT_INITIALIZED: no CUDA device), so
 *    gpu_libs_create fails with a message naming it; nothing runs.
 *  - tensor, convolution, pointwise and operation descriptors and the
 *    operation graph finalize without a handle (the graph's handle attribute
 *    is deprecated in cuDNN 9).
 *  - a device-properties descriptor deserialized from JSON (cuDNN >= 9.8's
 *    deviceless compilation) stands in for the GPU: heuristics and execution
 *    plans finalize for it. The JSON below describes an H100 SXM; its field
 *    names are cuDNN's (a missing one is named by cudnnGetLastErrorString).
 * So for each convolution of each network, at 64x96 and the native sizes,
 * the test builds the bare graph and, where the call can fuse, the graph
 * conv -> + r -> + b -> ReLU / ReLU6, queries the heuristics for the H100,
 * keeps the float32 engines (no tensor cores: no TF32) and finalizes the
 * first plan. Every bare convolution must get a plan; the fused graphs
 * that get none fall back to op_bias_act at run time and are counted.
 * Executing a plan needs the device: skipped without one, and said so.
 * With a device, gpu_conv and gpu_gemm (fused, bare with the op_bias_act
 * epilogue, in_act, asymmetric padding, groups, the output over the
 * residual, transposes, exact GELU, padded rows) are compared with the CPU
 * reference, and the autotuner's cache file is written and read back. The
 * NMSE bound there, 1e-10, is provisional until a GPU measures it: float32
 * sums in another order differ by ~1e-7 relative (NMSE ~1e-14); Winograd
 * and FFT engines lose more.
 *
 * Built by nvcc and linked to cuDNN; without nvcc or cuDNN the Makefile
 * puts a script here that says SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "model/arch.h" /* ds_arch_build (a C header without extern "C") */
}
#include "tests/conv_check.h" /* conv_check_make */
#include "cuda/cublaslt_load.h" /* cublaslt_load, cublaslt_status_string */
#include "tests/cuda_test.h"  /* dev_buf, dev_alloc, dev_guards_ok */
#include "cuda/cudnn_conv.h" /* conv_graph, conv_configs, conv_plan, cudnn_devprop_from_json */
#include "base/error.h"      /* DS_TRY, ds_fail */
#include "gpu/gpu_libs.h"   /* gpu_libs_create */
#include "gpu/gpu_rt.h"     /* cuda_device_count */
#include "tests/op_check.h"   /* op_random, op_nmse */
#include "tests/test.h"       /* TEST, CHECK */
#include "cuda/tune_cache.h" /* tune_cache_path, tune_cache_load, tune_cache_store */

using namespace ds_cuda;

/* An H100 SXM (132 SMs, sm_90, 50 MiB L2, 227 KiB shared memory per block). */
static const char H100_JSON[] =
    "{\"deviceName\": \"NVIDIA H100 80GB HBM3\", \"cudaDeviceId\": 0, \"deviceVer\": 900, \"driverVer\": 13000,"
    " \"multiProcessorCount\": 132, \"warpSize\": 32, \"maxGridSize\": [2147483647, 65535, 65535],"
    " \"maxBlockSize\": [1024, 1024, 64], \"regsPerBlock\": 65536, \"maxRegistersPerSM\": 65536,"
    " \"maxSharedMemoryPerBlock\": 49152, \"maxSharedMemoryPerBlockOptin\": 232448,"
    " \"reservedSharedMemoryPerBlock\": 1024, \"maxCtasPerSM\": 32, \"maxThreadsPerBlock\": 1024,"
    " \"maxThreadsPerSM\": 2048, \"pciDeviceId\": 0, \"isTccDriver\": 0, \"supportCoopLaunch\": 1,"
    " \"smClockRateKHz\": 1980000, \"memClockRateKHz\": 2619000, \"l2CacheSize\": 52428800,"
    " \"totalGlobalMem\": 85520809984}";

static be_desc g_h100;
static int g_devices;

/* Names only: whether a conv has a bias is all the graphs need. */
static ds_status names_only(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)ctx;
    w->name = d->weight_name;
    b->name = d->bias_name;
    return DS_OK;
}

TEST(library_without_a_device) {
    const size_t v = cudnnGetVersion();
    printf("    cuDNN %zu (header %d), %d CUDA device(s)\n", v, CUDNN_VERSION, g_devices);
    CHECK_MSG(v / 10000 == CUDNN_MAJOR && v >= 90800, "cuDNN %zu: deviceless plans need 9.8 or later", v);
    cudnnHandle_t h = NULL;
    const cudnnStatus_t st = cudnnCreate(&h);
    gpu_libs *libs = NULL;
    const ds_status ls = gpu_libs_create(&libs);
    if (g_devices > 0) {
        CHECK(st == CUDNN_STATUS_SUCCESS && ls == DS_OK);
        cudnnDestroy(h);
        gpu_libs_free(libs);
        return;
    }
    CHECK_MSG(st != CUDNN_STATUS_SUCCESS, "cudnnCreate succeeded without a device");
    CHECK_MSG(ls == DS_ERR_DEVICE && libs == NULL && strstr(ds_last_error(), "cudnnCreate"), "gpu_libs_create: %s",
              ds_last_error());
    printf("    gpu_libs_create: %s\n", ds_last_error());
    printf("    SKIP executing plans and cuBLASLt (cublasLtCreate too needs a device)\n");
}

/* cuBLASLt is opened on first use, not at program start (its load alone is
 * ~150 MB resident): this program does not have it mapped until asked, and
 * then finds every function the seam calls. No device needed. */
static bool maps_cublaslt(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, "libcublasLt") != NULL;
    if (f)
        fclose(f);
    return found;
}

TEST(cublaslt_is_loaded_on_first_use) {
    CHECK_MSG(!maps_cublaslt(), "libcublasLt is mapped before anything asked for it");
    CHECK(strstr(cublaslt_status_string(CUBLAS_STATUS_NOT_INITIALIZED), "status 1") != NULL);
    const cublaslt_fns *lt = NULL;
    CHECK_OK(cublaslt_load(&lt));
    CHECK(lt && lt->Create && lt->Destroy && lt->Matmul && lt->MatmulAlgoGetHeuristic &&
          lt->MatmulPreferenceSetAttribute && lt->MatrixLayoutCreate && lt->MatmulDescSetAttribute);
    CHECK(maps_cublaslt());
    const char *text = cublaslt_status_string(CUBLAS_STATUS_NOT_INITIALIZED);
    printf("    cuBLASLt loaded on first use; status 1 reads \"%s\"\n", text);
    CHECK(text && text[0] && !strstr(text, "cuBLAS status"));
    const cublaslt_fns *again = NULL;
    CHECK_OK(cublaslt_load(&again));
    CHECK(again == lt);
}

TEST(h100_properties_from_json) {
    CHECK_OK(cudnn_devprop_from_json(H100_JSON, &g_h100));
    /* a description without the SM count is refused */
    std::string broken = H100_JSON;
    broken.replace(broken.find("\"multiProcessorCount\""), strlen("\"multiProcessorCount\""), "\"smCount\"");
    be_desc bad;
    CHECK_FAILS(cudnn_devprop_from_json(broken.c_str(), &bad), DS_ERR_DEVICE, "HasMember");
}

/* A wrong output size or a wrong group count does not finalize. */
TEST(wrong_descriptors_fail) {
    const ds_conv_attr a = {3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_RELU};
    const int64_t xs[4] = {1, 64, 96, 32}, ys[4] = {1, 32, 48, 64};
    conv_desc d = conv_desc_make(&a, xs, ys, true, false, 16, false);
    be_desc g;
    CHECK_OK(conv_graph(d, false, &g));
    CHECK_OK(conv_graph(d, true, &g));
    conv_desc tall = d;
    tall.oh++;
    CHECK_FAILS(conv_graph(tall, false, &g), DS_ERR_DEVICE, "cudnnBackendFinalize");
    conv_desc odd = d;
    odd.groups = 3; /* 32 channels do not split in 3 */
    CHECK_FAILS(conv_graph(odd, false, &g), DS_ERR_SHAPE, "groups");
    odd.groups = 2; /* a valid split: grouped graphs finalize */
    CHECK_OK(conv_graph(odd, false, &g));
}

/* --precision tf32: the heuristics' tensor-core engines become candidates
 * (TF32 for float32 data) and plan on the H100; fp32 never takes one. */
TEST(tf32_takes_tensor_core_engines) {
    CHECK_MSG(g_h100.d, "needs the H100 description");
    const ds_conv_attr a = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_RELU};
    const int64_t xs[4] = {1, 48, 48, 256}, ys[4] = {1, 48, 48, 256};
    const conv_desc d = conv_desc_make(&a, xs, ys, true, false, 16, false);
    be_desc g;
    CHECK_OK(conv_graph(d, false, &g));
    std::vector<be_desc> fp32, tf32;
    CHECK_OK(conv_configs(g, g_h100.d, 64, false, &fp32));
    CHECK_OK(conv_configs(g, g_h100.d, 64, true, &tf32));
    int tc_fp32 = 0, tc_tf32 = 0, planned = 0;
    for (const be_desc &c : fp32)
        tc_fp32 += conv_config_tensor_core(c);
    for (const be_desc &c : tf32)
        if (conv_config_tensor_core(c)) {
            tc_tf32++;
            be_desc plan;
            int64_t ws = 0;
            planned += conv_plan(c, g_h100.d, &plan, &ws) == DS_OK;
        }
    ds_clear_error();
    CHECK_MSG(!fp32.empty() && tc_fp32 == 0, "fp32: %d configs, %d with tensor cores", (int)fp32.size(), tc_fp32);
    CHECK_MSG(tc_tf32 > 0 && planned > 0, "tf32: %d configs, %d with tensor cores, %d planned", (int)tf32.size(),
              tc_tf32, planned);
    printf("    3x3 256->256 at 48x48: fp32 %zu configs (no tensor cores), tf32 %zu (%d tensor-core, %d planned)\n",
           fp32.size(), tf32.size(), tc_tf32, planned);
}


struct net_size {
    ds_arch arch;
    int h, w;
};

static const net_size SIZES[] = {
    {DS_ARCH_MIDAS_V21_SMALL_256, 64, 96}, {DS_ARCH_MIDAS_V21_SMALL_256, 256, 256},
    {DS_ARCH_MIDAS_V21_384, 64, 96},       {DS_ARCH_MIDAS_V21_384, 384, 384},
    {DS_ARCH_DPT_HYBRID_384, 64, 96},      {DS_ARCH_DPT_HYBRID_384, 384, 384},
    {DS_ARCH_DPT_LARGE_384, 64, 96},       {DS_ARCH_DPT_LARGE_384, 384, 384},
    {DS_ARCH_DPT_LEVIT_224, 224, 224},
    /* BEiT: BEiT-L's convolutions are DPT-Large's at 384; its 512 size, and BEiT-B's widths */
    {DS_ARCH_DPT_BEIT_LARGE_512, 512, 512}, {DS_ARCH_DPT_BEIT_BASE_384, 64, 96},
    {DS_ARCH_DPT_BEIT_BASE_384, 384, 384},
};

struct conv_result {
    bool plain = false, fusable = false, fused = false;
    bool f16 = false, f16_tensor_core = false; /* the fp16 mode's all-half bare graph */
    int64_t plain_ws = 0, fused_ws = 0, f16_ws = 0;
};

/* --precision fp16: the bare convolution on half operands, its input
 * channels padded as the backend pads them (cuda/dispatch.h); it must plan,
 * and the first plan should be a tensor-core engine. */
static ds_status plan_f16(const ds_conv_attr *a, const int64_t xs[4], const int64_t ys[4], conv_result *res) {
    const int64_t padded[4] = {xs[0], xs[1], xs[2], a->groups == 1 ? (xs[3] + 7) / 8 * 8 : xs[3]};
    const conv_desc d = conv_desc_make(a, padded, ys, false, false, 16, true);
    conv_desc bare = d;
    bare.act = DS_ACT_NONE;
    be_desc g, plan;
    std::vector<be_desc> cfgs;
    DS_TRY(conv_graph(bare, false, &g));
    DS_TRY(conv_configs(g, g_h100.d, 8, true, &cfgs));
    for (const be_desc &cfg : cfgs)
        if (conv_plan(cfg, g_h100.d, &plan, &res->f16_ws) == DS_OK) {
            res->f16 = true;
            res->f16_tensor_core = conv_config_tensor_core(cfg);
            break;
        }
    ds_clear_error();
    if (!res->f16)
        return ds_fail(DS_ERR_UNSUPPORTED, "no fp16 plan of %d configs for %s", (int)cfgs.size(),
                       conv_key(bare).c_str());
    return DS_OK;
}

/* The bare graph's first plan (must exist) and, if fusable, the fused graph's. */
static ds_status plan_both(const conv_desc &d, const ds_conv_attr *a, conv_result *res) {
    for (int fused = 0; fused < 2; fused++) {
        conv_desc gd = d;
        if (!fused)
            gd.bias = gd.residual = false, gd.act = DS_ACT_NONE;
        else if (!(res->fusable = conv_fusable(a, d.bias, d.residual)))
            break;
        be_desc g, plan;
        std::vector<be_desc> cfgs;
        DS_TRY(conv_graph(gd, fused != 0, &g)); /* the graph itself must always finalize */
        DS_TRY(conv_configs(g, g_h100.d, 8, false, &cfgs));
        for (const be_desc &cfg : cfgs) {
            int64_t ws = 0;
            if (conv_plan(cfg, g_h100.d, &plan, &ws) != DS_OK)
                continue;
            (fused ? res->fused : res->plain) = true;
            (fused ? res->fused_ws : res->plain_ws) = ws;
            break;
        }
        if (!fused && !res->plain)
            return ds_fail(DS_ERR_UNSUPPORTED, "no float32 plan of %d configs for %s", (int)cfgs.size(),
                           conv_key(d).c_str());
    }
    ds_clear_error();
    return DS_OK;
}

TEST(every_convolution_of_the_four_networks) {
    CHECK_MSG(g_h100.d, "needs the H100 description");
    const ds_param_binder binder = {NULL, names_only, false};
    std::map<std::string, conv_result> seen;
    for (const net_size &ns : SIZES) {
        ds_graph g;
        CHECK_OK(ds_arch_build(ns.arch, ns.h, ns.w, &binder, &g));
        int convs = 0, fusable = 0, fused = 0, asym = 0, in_act = 0, depthwise = 0, f16 = 0, f16_tc = 0;
        int64_t ws = 0;
        std::set<std::string> shapes;
        for (int i = 0; i < g.n_nodes; i++) {
            const ds_node &n = g.nodes[i];
            if (n.op != DS_OP_CONV2D)
                continue;
            const ds_conv_attr *a = &n.a.conv;
            const int64_t *xs = g.nodes[n.in[0]].shape;
            const conv_desc d = conv_desc_make(a, xs, n.shape, n.w[1].name != NULL, n.in[1] >= 0, 16, false);
            const bool depthwise_conv = a->groups > 1 && a->groups == xs[3] && a->groups == n.shape[3];
            const std::string key = conv_key(d);
            if (!seen.count(key)) {
                conv_result res;
                ds_status st = plan_both(d, a, &res);
                if (st == DS_OK && !depthwise_conv)
                    st = plan_f16(a, xs, n.shape, &res);
                if (st != DS_OK) {
                    ds_graph_free(&g);
                    CHECK_MSG(false, "%s %dx%d %s: %s", ds_arch_name(ns.arch), ns.h, ns.w, n.name, ds_last_error());
                }
                seen[key] = res;
            }
            const conv_result &res = seen[key];
            shapes.insert(key);
            convs++;
            fusable += res.fusable;
            fused += res.fused;
            asym += a->pad_t != a->pad_b || a->pad_l != a->pad_r;
            in_act += a->in_act != DS_ACT_NONE;
            depthwise += depthwise_conv;
            f16 += res.f16;
            f16_tc += res.f16_tensor_core;
            ws = std::max(ws, std::max(res.plain_ws, std::max(res.fused_ws, res.f16_ws)));
        }
        printf("    %-20s %4dx%-4d %3d convs (%3zu shapes, %2d depthwise, %2d asymmetric pad, %2d in_act): "
               "plans for all; fused %d of %d fusable; fp16 %d of %d (%d first on tensor cores); "
               "largest workspace %lld B\n",
               ds_arch_name(ns.arch), ns.h, ns.w, convs, shapes.size(), depthwise, asym, in_act, fused, fusable, f16,
               convs - depthwise, f16_tc, (long long)ws);
        ds_graph_free(&g);
        CHECK(convs > 0 && f16 == convs - depthwise);
    }
}

TEST(autotune_cache_file) {
    const char *tmp = getenv("DS_TEST_TMP");
    const std::string dir = std::string(tmp && tmp[0] ? tmp : "/tmp") + "/cudnn_cache_test";
    setenv("XDG_CACHE_HOME", dir.c_str(), 1);
    const std::string path = tune_cache_path("NVIDIA H100 80GB HBM3", 91900);
    CHECK_MSG(path == dir + "/depthsolve/cudnn-NVIDIA_H100_80GB_HBM3-91900.txt", "%s", path.c_str());
    remove(path.c_str());
    tune_map m, back;
    CHECK_OK(tune_cache_load(path, &back)); /* no file: empty */
    CHECK(back.empty());
    m["conv x1x64x96x3 y32x48x32 k3x3 s2x2 d1x1 p0,1,0,1 g1 b1 r0 relu6 a16"] = "fused 0 0";
    m["conv x1x8x8x4 y8x8x4 k1x1 s1x1 d1x1 p0,0,0,0 g1 b0 r1:relu none a16 y=r"] = "plain 28 3";
    CHECK_OK(tune_cache_store(path, m));
    FILE *f = fopen(path.c_str(), "ab");
    CHECK(f);
    fputs("a line without a tab\n", f);
    fclose(f);
    CHECK_OK(tune_cache_load(path, &back));
    CHECK(back == m);
    CHECK_FAILS(tune_cache_store("/proc/depthsolve/x.txt", m), DS_ERR_IO, "/proc/depthsolve");
    unsetenv("XDG_CACHE_HOME");
}

/* ---- on a device ---- */

static const double DEVICE_NMSE = 1e-10; /* provisional: see the top of the file */

struct dev_conv_case {
    int64_t x[4], o;
    ds_conv_attr a;
    bool bias, residual, in_place; /* in_place: y over r */
};

static const dev_conv_case DEV_CONVS[] = {
    {{1, 17, 23, 16}, 32, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_RELU}, true, false, false},
    {{1, 16, 24, 8}, 16, {3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_RELU6}, true, false,
     false}, /* TF SAME */
    {{1, 12, 12, 32}, 32, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_RELU, DS_ACT_NONE, DS_ACT_NONE}, true, true,
     false}, /* residual unit: in_act, + r */
    {{1, 12, 12, 32}, 32, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, DS_ACT_RELU, DS_ACT_NONE, DS_ACT_NONE}, true, true,
     true}, /* the same over its residual */
    {{2, 9, 7, 24}, 12, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4, DS_ACT_NONE, DS_ACT_RELU, DS_ACT_GELU}, false, true,
     false}, /* grouped 1x1, activated residual, GELU: not fusable */
    {{1, 10, 10, 8}, 8, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, DS_ACT_NONE, DS_ACT_NONE, DS_ACT_NONE}, false, false,
     false}, /* depthwise, dilated, bare */
};

static void conv_on_device(gpu_libs *libs, cudaStream_t st) {
    for (const dev_conv_case &c : DEV_CONVS) {
        const ds_conv_attr &a = c.a;
        conv_check k;
        CHECK_OK(conv_check_make(c.x, c.o, a, c.bias, c.residual, 0.5f, &k));
        const int64_t *ys = k.ys;
        const size_t ny = k.ref.size();
        std::vector<float> got(ny);
        ds_tensor tx = {k.dx.p, {c.x[0], c.x[1], c.x[2], c.x[3]}}, tr = {k.dr.p, {ys[0], ys[1], ys[2], ys[3]}};
        ds_tensor ty = {c.in_place ? k.dr.p : k.dy.p, {ys[0], ys[1], ys[2], ys[3]}};
        const float *bp = c.bias ? k.db.p : NULL;
        const ds_tensor *rp = c.residual ? &tr : NULL;
        CHECK_OK(gpu_conv_prepare(libs, st, &a, &tx, k.dw.p, bp, rp, &ty));
        CHECK_OK(dev_upload(&k.dr, k.r.data())); /* autotuning may have written y */
        CHECK_OK(gpu_conv(libs, st, &a, &tx, k.dw.p, bp, rp, &ty));
        CHECK_OK(cuda_stream_sync(st));
        CHECK_OK(dev_download(c.in_place ? k.dr : k.dy, got.data()));
        const double e = op_nmse(got.data(), k.ref.data(), ny);
        printf("    conv %dx%d groups %d in_act %s act %s residual %d in place %d: NMSE %.2e\n", a.kh, a.kw, a.groups,
               ds_act_name(a.in_act), ds_act_name(a.act), (int)c.residual, (int)c.in_place, e);
        CHECK(e <= DEVICE_NMSE);
        CHECK(dev_guards_ok(k.dy) && dev_guards_ok(k.dr) && dev_guards_ok(k.dx));
        conv_check_release(&k);
    }
}

static void gemm_on_device(gpu_libs *libs, cudaStream_t st) {
    const int64_t M = 37, N = 29, K = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (ds_act act : {DS_ACT_NONE, DS_ACT_RELU, DS_ACT_GELU})
                for (int padded = 0; padded < 2; padded++) {
                    const int64_t lda = (ta ? M : K) + pad * padded, ldb = (tb ? K : N) + pad * padded;
                    const int64_t ldc = N + pad * padded;
                    const size_t na = (size_t)((ta ? K : M) * lda), nb = (size_t)((tb ? N : K) * ldb);
                    const size_t nc = (size_t)(M * ldc);
                    std::vector<float> A(na), B(nb), bias((size_t)N), C(nc, 0.0f), want(nc, 0.0f);
                    op_random(A.data(), na, 5, 1.0f);
                    op_random(B.data(), nb, 6, 1.0f);
                    op_random(bias.data(), (size_t)N, 7, 1.0f);
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            double acc = bias[(size_t)j];
                            for (int64_t k = 0; k < K; k++)
                                acc += (double)(ta ? A[(size_t)(k * lda + i)] : A[(size_t)(i * lda + k)]) *
                                       (tb ? B[(size_t)(j * ldb + k)] : B[(size_t)(k * ldb + j)]);
                            want[(size_t)(i * ldc + j)] = ds_apply_act(act, (float)acc);
                        }
                    dev_buf<float> dA, dB, dbias, dC;
                    CHECK_OK(dev_alloc(&dA, na));
                    CHECK_OK(dev_alloc(&dB, nb));
                    CHECK_OK(dev_alloc(&dbias, (size_t)N));
                    CHECK_OK(dev_alloc(&dC, nc));
                    CHECK_OK(dev_upload(&dA, A.data()));
                    CHECK_OK(dev_upload(&dB, B.data()));
                    CHECK_OK(dev_upload(&dbias, bias.data()));
                    CHECK_OK(dev_upload(&dC, C.data()));
                    CHECK_OK(gpu_gemm(libs, st, ta, tb, M, N, K, dA.p, lda, dB.p, ldb, dbias.p, act, dC.p, ldc));
                    CHECK_OK(cuda_stream_sync(st));
                    CHECK_OK(dev_download(dC, C.data()));
                    const double e = op_nmse(C.data(), want.data(), nc);
                    CHECK_MSG(e <= DEVICE_NMSE, "gemm ta %d tb %d %s padded %d: NMSE %.2e", ta, tb, ds_act_name(act),
                              padded, e);
                    CHECK(dev_guards_ok(dC));
                    dev_release(&dA);
                    dev_release(&dB);
                    dev_release(&dbias);
                    dev_release(&dC);
                }
}

TEST(gpu_conv_and_gemm_on_the_device) {
    const char *tmp = getenv("DS_TEST_TMP");
    const std::string file = std::string(tmp && tmp[0] ? tmp : "/tmp") + "/cudnn_autotune_test.txt";
    remove(file.c_str());
    gpu_tuning t = gpu_tuning_default();
    t.cache_file = file.c_str();
    gpu_libs *libs = NULL;
    cudaStream_t st = NULL;
    CHECK_OK(gpu_libs_create(&libs));
    CHECK_OK(gpu_libs_set_tuning(libs, &t));
    CHECK_OK(cuda_stream_create(&st));
    conv_on_device(libs, st);
    if (!test_failed_now)
        gemm_on_device(libs, st);
    gpu_libs_free(libs);
    if (test_failed_now) {
        cuda_stream_destroy(st);
        return;
    }
    tune_map m;
    CHECK_OK(tune_cache_load(file, &m));
    printf("    autotune cache: %zu choices in %s\n", m.size(), file.c_str());
    CHECK(m.size() == sizeof DEV_CONVS / sizeof DEV_CONVS[0]);
    /* a second engine reads the choices: same results, no timing */
    CHECK_OK(gpu_libs_create(&libs));
    CHECK_OK(gpu_libs_set_tuning(libs, &t));
    conv_on_device(libs, st);
    gpu_libs_free(libs);
    cuda_stream_destroy(st);
}

int main(void) {
    char why[256] = "";
    cuda_device_count(&g_devices, why, sizeof why);
    RUN(cublaslt_is_loaded_on_first_use);
    RUN(library_without_a_device);
    RUN(h100_properties_from_json);
    RUN(wrong_descriptors_fail);
    RUN(tf32_takes_tensor_core_engines);
    RUN(every_convolution_of_the_four_networks);
    RUN(autotune_cache_file);
    if (g_devices > 0)
        RUN(gpu_conv_and_gemm_on_the_device);
    else
        printf("SKIP gpu_conv_and_gemm_on_the_device: no CUDA device (%s)\n", why);
    return test_summary();
}
