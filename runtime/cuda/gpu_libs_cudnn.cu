/*
 * gpu_libs_cudnn.cu: gpu_libs.h on cuDNN 9's graph API and cuBLASLt (the
 * nvcc build). Float32 data throughout. By default float32 math too:
 * convolutions take only engines without tensor cores (cudnn_conv.h), GEMMs
 * compute in CUBLAS_COMPUTE_32F. With tuning.tf32, convolutions may take
 * tensor-core engines and GEMMs compute in CUBLAS_COMPUTE_32F_FAST_TF32; the
 * cache keys then start with "tf32".
 *
 * A convolution is one cuDNN operation graph: conv -> + r -> + b -> ReLU or
 * ReLU6 when the heuristics offer an engine for it and the call allows it
 * (res_act none, y not over r); else the bare convolution and op_bias_act
 * (kernels.h) as the epilogue. in_act is applied into the workspace first
 * (op_act). Each shape is planned once: the candidate plans are the first
 * max_plans of the fused graph and of the bare one; with autotuning each is
 * timed and the fastest kept, and the choice is written to the cache file.
 *
 * fp16 mode (gpu_conv_f16, gpu_gemm_f16): the same planning on half
 * operands; convolutions are bare all-half graphs (cuDNN fuses no epilogue
 * into a graph with a float32 output), GEMMs read half and write float32;
 * both may take tensor-core engines. Their cache keys end in "f16".
 *
 * The one workspace holds, in order: the staged input (in_act), a
 * convolution output (the bare convolution when y is r, and every bare
 * candidate while timing), then the library's own workspace. It grows at
 * planning time only, never while a stream is captured.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda/cudnn_conv.h" /* conv_graph, conv_configs, conv_plan */
#include "gpu/gpu_libs.h"   /* the functions defined here */
#include "kernels/kernels.h"    /* op_act, op_bias_act */
#include "cuda/lib_check.h"  /* CUDNN_TRY, CUBLAS_TRY, CUDART_TRY */
#include "cuda/tune_cache.h" /* tune_cache_path, tune_cache_load, tune_cache_store */

namespace ds_cuda {

enum { WS_ALIGN = 256, TIMED_RUNS = 3 };
static const size_t GEMM_MAX_WS = (size_t)32 << 20; /* cuBLASLt's recommendation for Hopper */

static size_t round_up(size_t n) { return (n + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }

struct conv_choice {
    be_desc plan;
    bool fused = false;
    int64_t engine = -1, ws = 0; /* cuDNN's engine and its workspace bytes */
    int rank = 0;                /* position among the candidates of its graph */
};

struct gemm_choice {
    const cublaslt_fns *lt = NULL; /* set before anything is created */
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t a = NULL, b = NULL, c = NULL; /* cuBLASLt's column-major operands */
    cublasLtMatmulAlgo_t algo;
    size_t ws = 0;
    bool ours = false; /* bias and act by op_bias_act (GELU, ReLU6) */
    bool temp = false; /* ours with ldc != N: the product goes to the workspace first */
    ~gemm_choice() {
        if (op)
            lt->MatmulDescDestroy(op);
        if (a)
            lt->MatrixLayoutDestroy(a);
        if (b)
            lt->MatrixLayoutDestroy(b);
        if (c)
            lt->MatrixLayoutDestroy(c);
    }
};

struct gpu_libs {
    cudnnHandle_t dnn = NULL;
    const cublaslt_fns *lt_fns = NULL; /* cuBLASLt, loaded on first use */
    cublasLtHandle_t lt = NULL;
    be_desc devprop; /* of the handle's device: heuristics and plans */
    gpu_tuning tuning;
    std::string default_cache, cache_file; /* "" when there is none */
    bool cache_loaded = false;
    tune_map cache;
    std::unordered_map<std::string, conv_choice> convs;
    std::unordered_map<std::string, std::unique_ptr<gemm_choice>> gemms;
    char *ws = NULL;
    size_t ws_bytes = 0;
    cudaEvent_t ev0 = NULL, ev1 = NULL;
};

gpu_tuning gpu_tuning_default(void) { return gpu_tuning{true, 8, NULL, false}; }

static ds_status libs_init(gpu_libs *L) {
    CUDNN_TRY(cudnnCreate(&L->dnn));
    DS_TRY(cublaslt_load(&L->lt_fns));
    CUBLAS_TRY(L->lt_fns->Create(&L->lt));
    DS_TRY(cudnn_devprop_from_handle(L->dnn, &L->devprop));
    DS_TRY(cuda_event_create(&L->ev0));
    DS_TRY(cuda_event_create(&L->ev1));
    int dev = 0;
    char name[256];
    CUDART_TRY(cudaGetDevice(&dev));
    DS_TRY(cuda_device_name(dev, name, sizeof name));
    L->default_cache = tune_cache_path(name, cudnnGetVersion());
    L->cache_file = L->default_cache;
    return DS_OK;
}

ds_status gpu_libs_create(gpu_libs **out) {
    *out = NULL;
    gpu_libs *L = new gpu_libs();
    L->tuning = gpu_tuning_default();
    ds_status s = libs_init(L);
    if (s != DS_OK) {
        gpu_libs_free(L);
        return s;
    }
    *out = L;
    return DS_OK;
}

void gpu_libs_free(gpu_libs *libs) {
    if (!libs)
        return;
    libs->convs.clear();
    libs->gemms.clear();
    libs->devprop.reset();
    if (libs->ws) /* else a failed create's message would be replaced */
        cuda_free(libs->ws);
    cuda_event_destroy(libs->ev0);
    cuda_event_destroy(libs->ev1);
    if (libs->lt)
        libs->lt_fns->Destroy(libs->lt);
    if (libs->dnn)
        cudnnDestroy(libs->dnn);
    delete libs;
}

ds_status gpu_libs_set_tuning(gpu_libs *libs, const gpu_tuning *t) {
    if (!libs || !t || t->max_plans < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gpu_libs_set_tuning: missing argument or max_plans < 1");
    libs->tuning = *t;
    libs->cache_file = t->cache_file ? t->cache_file : libs->default_cache;
    libs->tuning.cache_file = NULL; /* the copy above owns the path */
    libs->cache_loaded = false;
    return DS_OK;
}

size_t gpu_libs_workspace_bytes(const gpu_libs *libs) { return libs ? libs->ws_bytes : 0; }

static ds_status capturing(cudaStream_t s, bool *yes) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    CUDART_TRY(cudaStreamIsCapturing(s, &st));
    *yes = st != cudaStreamCaptureStatusNone;
    return DS_OK;
}

/* Grows the workspace to `bytes` (at planning time: not while capturing). */
static ds_status ensure_workspace(gpu_libs *L, cudaStream_t s, size_t bytes, const char *what) {
    if (bytes <= L->ws_bytes)
        return DS_OK;
    bool cap = false;
    DS_TRY(capturing(s, &cap));
    if (cap)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: not prepared before the graph capture (the workspace would grow)",
                       what);
    DS_TRY(cuda_stream_sync(s));
    DS_TRY(cuda_free(L->ws));
    L->ws = NULL;
    L->ws_bytes = 0;
    DS_TRY(cuda_malloc((void **)&L->ws, bytes));
    L->ws_bytes = bytes;
    return DS_OK;
}

static ds_status load_cache(gpu_libs *L) {
    if (L->cache_loaded)
        return DS_OK;
    L->cache.clear();
    if (!L->cache_file.empty())
        DS_TRY(tune_cache_load(L->cache_file, &L->cache));
    L->cache_loaded = true;
    return DS_OK;
}

/* A lost cache only costs the next start its timing: a failed write is not an error of the call. */
static void store_choice(gpu_libs *L, const std::string &key, const std::string &value) {
    L->cache[key] = value;
    if (!L->cache_file.empty() && tune_cache_store(L->cache_file, L->cache) != DS_OK)
        ds_clear_error();
}

/* Largest power of two <= 16 dividing every address. */
static int alignment_of(std::initializer_list<const void *> ptrs) {
    uintptr_t bits = 16;
    for (const void *p : ptrs)
        if (p)
            bits |= (uintptr_t)p;
    return (bits & 15) == 0 ? 16 : (bits & 7) == 0 ? 8 : 4;
}

/* ---- convolution ---- */

/* With f16, x, w and y hold halves behind their float pointers (only cuDNN
 * reads them, and the sizes below use the element size). */
struct conv_call {
    const ds_conv_attr *a;
    const ds_tensor *x, *r;
    const float *w, *b;
    ds_tensor *y;
    bool f16;
    size_t elem() const { return f16 ? sizeof(__half) : sizeof(float); }
};

/* Bytes of the workspace regions of a call: staged input, convolution output, cuDNN's. */
struct conv_layout {
    size_t stage, out, lib;
    size_t total() const { return stage + out + lib; }
};

static conv_layout layout_of(const conv_call &c, bool out, int64_t lib_ws) {
    conv_layout l;
    l.stage = c.a->in_act != DS_ACT_NONE ? round_up((size_t)ds_shape_numel(c.x->shape) * c.elem()) : 0;
    l.out = out ? round_up((size_t)ds_shape_numel(c.y->shape) * c.elem()) : 0;
    l.lib = round_up((size_t)lib_ws);
    return l;
}

static ds_status check_conv(const char *call, gpu_libs *libs, const conv_call &c) {
    if (!libs || !c.a || !c.x || !c.y || !c.x->data || !c.y->data || !c.w || (c.r && !c.r->data))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: missing argument", call);
    return ds_conv_check_shapes(call, c.a, c.x->shape, c.y->shape, c.r ? c.r->shape : NULL);
}

/* The input cuDNN reads: x, or in_act(x) staged at the workspace's start. */
static const float *conv_input(const gpu_libs *L, const conv_call &c) {
    return c.a->in_act != DS_ACT_NONE ? (const float *)L->ws : c.x->data;
}

static bool conv_in_place(const conv_call &c) { return c.r && c.r->data == c.y->data; }

/* The staged input and the output region lie at WS_ALIGN offsets of the workspace. */
static conv_desc conv_desc_of(const conv_call &c) {
    const void *x = c.a->in_act != DS_ACT_NONE ? NULL : c.x->data;
    return conv_desc_make(c.a, c.x->shape, c.y->shape, c.b != NULL, c.r != NULL,
                          alignment_of({x, c.w, c.b, c.r ? c.r->data : NULL, c.y->data}), c.f16);
}

static ds_status execute(gpu_libs *L, cudaStream_t s, const be_desc &plan, const int64_t *uids, void *const *ptrs,
                         int n, void *lib_ws) {
    be_desc pack;
    DS_TRY(be_create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack));
    CUDNN_TRY(cudnnBackendSetAttribute(pack.d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids));
    CUDNN_TRY(cudnnBackendSetAttribute(pack.d, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, ptrs));
    CUDNN_TRY(cudnnBackendSetAttribute(pack.d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &lib_ws));
    CUDNN_TRY(cudnnBackendFinalize(pack.d));
    CUDNN_TRY(cudnnSetStream(L->dnn, s));
    CUDNN_TRY(cudnnBackendExecute(L->dnn, plan.d, pack.d));
    return DS_OK;
}

/* One run of a planned convolution. The bare convolution goes to the
 * workspace's output region when `region`, else to final; the epilogue
 * (or the fused plan) writes `final`. */
static ds_status run_conv(gpu_libs *L, cudaStream_t s, const conv_call &c, const conv_choice &ch, bool region,
                          ds_tensor *final) {
    const conv_layout l = layout_of(c, region, 0);
    void *lib_ws = L->ws + l.stage + l.out;
    float *out = region ? (float *)(L->ws + l.stage) : final->data;
    const float *x = conv_input(L, c);
    if (ch.fused) {
        int64_t uids[5] = {CONV_UID_X, CONV_UID_W, CONV_UID_Y};
        void *ptrs[5] = {(void *)x, (void *)c.w, (void *)final->data};
        int n = 3;
        if (c.r)
            uids[n] = CONV_UID_R, ptrs[n++] = (void *)c.r->data;
        if (c.b)
            uids[n] = CONV_UID_B, ptrs[n++] = (void *)c.b;
        return execute(L, s, ch.plan, uids, ptrs, n, lib_ws);
    }
    const int64_t uids[3] = {CONV_UID_X, CONV_UID_W, CONV_UID_Y};
    void *const ptrs[3] = {(void *)x, (void *)c.w, (void *)out};
    DS_TRY(execute(L, s, ch.plan, uids, ptrs, 3, lib_ws));
    if (!c.b && !c.r && c.a->act == DS_ACT_NONE && out == final->data)
        return DS_OK;
    ds_tensor bare = {out, {c.y->shape[0], c.y->shape[1], c.y->shape[2], c.y->shape[3]}};
    const kern_ctx k = {s, 0};
    return op_bias_act(&k, &bare, c.b, c.r, c.a->res_act, c.a->act, final);
}

/* in_act(x) into the workspace's staging region. */
static ds_status stage_input(gpu_libs *L, cudaStream_t s, const conv_call &c) {
    if (c.a->in_act == DS_ACT_NONE)
        return DS_OK;
    ds_node node;
    memset(&node, 0, sizeof node);
    node.op = DS_OP_ACT;
    node.name = "gpu_conv in_act";
    node.a.act = c.a->in_act;
    memcpy(node.shape, c.x->shape, sizeof node.shape);
    ds_tensor staged = {(float *)L->ws, {c.x->shape[0], c.x->shape[1], c.x->shape[2], c.x->shape[3]}};
    const gpu_op op = {&node, c.x, NULL, &staged, NULL, NULL};
    const kern_ctx k = {s, 0};
    return op_act(&k, &op);
}

/* Milliseconds per run of a candidate, on the workspace's output region (x, w, b and r are only read). */
static ds_status time_candidate(gpu_libs *L, cudaStream_t s, const conv_call &c, const conv_choice &ch, float *ms) {
    const conv_layout l = layout_of(c, true, 0);
    ds_tensor scratch = {(float *)(L->ws + l.stage), {c.y->shape[0], c.y->shape[1], c.y->shape[2], c.y->shape[3]}};
    /* a fused candidate writes y itself: allowed (gpu_libs.h), and y is not r here */
    ds_tensor *final = ch.fused ? c.y : &scratch;
    DS_TRY(run_conv(L, s, c, ch, true, final));
    DS_TRY(cuda_event_record(L->ev0, s));
    for (int i = 0; i < TIMED_RUNS; i++)
        DS_TRY(run_conv(L, s, c, ch, true, final));
    DS_TRY(cuda_event_record(L->ev1, s));
    DS_TRY(cuda_event_sync(L->ev1));
    DS_TRY(cuda_event_elapsed_ms(ms, L->ev0, L->ev1));
    *ms /= TIMED_RUNS;
    return DS_OK;
}

/* "fused 51 0": the graph, cuDNN's engine and its rank among the heuristics' configs. */
static std::string choice_text(const conv_choice &ch) {
    return std::string(ch.fused ? "fused" : "plain") + " " + std::to_string((long long)ch.engine) + " " +
           std::to_string(ch.rank);
}

/* The candidates: plans of the fused graph (when allowed) then of the bare
 * convolution, at most `limit`, only the one `want` names (a cache entry)
 * when not NULL. A plan is finalized only when taken: some compile kernels. */
static ds_status conv_candidates(gpu_libs *L, const conv_call &c, const conv_desc &d, const std::string *want,
                                 size_t limit, std::vector<conv_choice> *cands) {
    const bool fusable = conv_fusable(c.a, c.b != NULL, c.r != NULL) && !conv_in_place(c);
    for (int fused = fusable ? 1 : 0; fused >= 0; fused--) {
        conv_desc gd = d;
        if (!fused)
            gd.bias = gd.residual = false, gd.act = DS_ACT_NONE;
        be_desc graph;
        std::vector<be_desc> cfgs;
        ds_status st = conv_graph(gd, fused != 0, &graph);
        if (st == DS_OK)
            st = conv_configs(graph, L->devprop.d, L->tuning.max_plans, L->tuning.tf32 || d.f16, &cfgs);
        if (st != DS_OK) {
            if (fused) /* the bare convolution is tried next */
                continue;
            return st;
        }
        for (size_t i = 0; i < cfgs.size() && cands->size() < limit; i++) {
            conv_choice ch;
            ch.fused = fused != 0;
            ch.engine = conv_config_engine(cfgs[i]);
            ch.rank = (int)i;
            if ((want && choice_text(ch) != *want) || conv_plan(cfgs[i], L->devprop.d, &ch.plan, &ch.ws) != DS_OK)
                continue;
            cands->push_back(std::move(ch));
        }
    }
    ds_clear_error();
    if (cands->empty())
        return ds_fail(DS_ERR_UNSUPPORTED, "gpu_conv: cuDNN has no plan for %s", conv_key(d).c_str());
    return DS_OK;
}

/* The plan of a call's shape: cached, or chosen now (from the cache file, by timing, or the heuristics' first). */
static ds_status plan_conv(gpu_libs *L, cudaStream_t s, const conv_call &c, const conv_choice **out) {
    const conv_desc d = conv_desc_of(c);
    const std::string key =
        (L->tuning.tf32 && !c.f16 ? "tf32 conv " : "conv ") + conv_key(d) + (conv_in_place(c) ? " y=r" : "");
    auto found = L->convs.find(key);
    if (found == L->convs.end()) {
        bool cap = false;
        DS_TRY(capturing(s, &cap));
        if (cap)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "gpu_conv: %s was not prepared before the graph capture",
                           key.c_str());
        std::vector<conv_choice> cands;
        DS_TRY(load_cache(L));
        auto cached = L->cache.find(key);
        /* a stale entry (another cuDNN build) finds nothing: planned anew */
        if (cached != L->cache.end() && conv_candidates(L, c, d, &cached->second, 1, &cands) != DS_OK) {
            cands.clear();
            ds_clear_error();
        }
        const bool tune = cands.empty() && L->tuning.autotune;
        if (cands.empty())
            DS_TRY(conv_candidates(L, c, d, NULL, tune ? SIZE_MAX : 1, &cands));
        size_t pick = 0;
        if (tune && cands.size() > 1) {
            bool known = false; /* whether a candidate ran */
            size_t need = 0;
            for (const conv_choice &ch : cands)
                need = std::max(need, layout_of(c, true, ch.ws).total());
            DS_TRY(ensure_workspace(L, s, need, "gpu_conv"));
            DS_TRY(stage_input(L, s, c));
            float best = 0;
            for (size_t i = 0; i < cands.size(); i++) {
                float ms = 0;
                if (time_candidate(L, s, c, cands[i], &ms) != DS_OK) { /* an engine that fails to run loses */
                    ds_clear_error();
                    continue;
                }
                if (!known || ms < best)
                    best = ms, pick = i, known = true;
            }
            if (!known)
                return ds_fail(DS_ERR_DEVICE, "gpu_conv: no plan of %s ran", key.c_str());
        }
        if (tune)
            store_choice(L, key, choice_text(cands[pick]));
        found = L->convs.emplace(key, std::move(cands[pick])).first;
    }
    const conv_choice &ch = found->second;
    DS_TRY(ensure_workspace(L, s, layout_of(c, !ch.fused && conv_in_place(c), ch.ws).total(), "gpu_conv"));
    *out = &ch;
    return DS_OK;
}

ds_status gpu_conv_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x,
                           const float *w, const float *b, const ds_tensor *r, ds_tensor *y) {
    const conv_call c = {a, x, r, w, b, y, false};
    DS_TRY(check_conv("gpu_conv_prepare", libs, c));
    const conv_choice *ch = NULL;
    return plan_conv(libs, s, c, &ch);
}

ds_status gpu_conv(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const ds_tensor *x, const float *w,
                   const float *b, const ds_tensor *r, ds_tensor *y) {
    const conv_call c = {a, x, r, w, b, y, false};
    DS_TRY(check_conv("gpu_conv", libs, c));
    const conv_choice *ch = NULL;
    DS_TRY(plan_conv(libs, s, c, &ch));
    DS_TRY(stage_input(libs, s, c));
    /* the bare convolution may go to y unless y is r, which the epilogue still reads */
    return run_conv(libs, s, c, *ch, !ch->fused && conv_in_place(c), y);
}

/* The geometry of a, with halves behind the tensors' float pointers (conv_call). */
struct conv_f16_call {
    ds_conv_attr geometry;
    ds_tensor x, y;
    conv_call c;
};

static void conv_f16_make(const ds_conv_attr *a, const int64_t xs[4], const __half *x, const __half *w,
                          const int64_t ys[4], __half *y, conv_f16_call *f) {
    f->geometry = *a;
    f->geometry.in_act = f->geometry.res_act = f->geometry.act = DS_ACT_NONE;
    f->x.data = (float *)x;
    f->y.data = (float *)y;
    memcpy(f->x.shape, xs, sizeof f->x.shape);
    memcpy(f->y.shape, ys, sizeof f->y.shape);
    f->c = conv_call{&f->geometry, &f->x, NULL, (const float *)w, NULL, &f->y, true};
}

/* Plans the call's shape and, unless plan_only, runs it. */
static ds_status conv_f16(const char *call, bool plan_only, gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a,
                          const int64_t xs[4], const __half *x, const __half *w, const int64_t ys[4], __half *y) {
    if (!a || !xs || !ys)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: missing argument", call);
    conv_f16_call f;
    conv_f16_make(a, xs, x, w, ys, y, &f);
    DS_TRY(check_conv(call, libs, f.c));
    const conv_choice *ch = NULL;
    DS_TRY(plan_conv(libs, s, f.c, &ch));
    return plan_only ? DS_OK : run_conv(libs, s, f.c, *ch, false, &f.y);
}

ds_status gpu_conv_f16_prepare(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4],
                               const __half *x, const __half *w, const int64_t ys[4], __half *y) {
    return conv_f16("gpu_conv_f16_prepare", true, libs, s, a, xs, x, w, ys, y);
}

ds_status gpu_conv_f16(gpu_libs *libs, cudaStream_t s, const ds_conv_attr *a, const int64_t xs[4], const __half *x,
                       const __half *w, const int64_t ys[4], __half *y) {
    return conv_f16("gpu_conv_f16", false, libs, s, a, xs, x, w, ys, y);
}

/* ---- GEMM: row-major C (M, N) is column-major C^T (N, M) = op(B)^T op(A)^T ---- */

/* With f16, A and B hold halves behind their float pointers. */
struct gemm_call {
    bool trans_a, trans_b;
    int64_t M, N, K;
    const float *A, *B, *bias;
    int64_t lda, ldb, ldc;
    ds_act act;
    float *C;
    bool f16;
};

static ds_status check_gemm(const char *call, gpu_libs *libs, const gemm_call &g) {
    const int64_t a_cols = g.trans_a ? g.M : g.K, b_cols = g.trans_b ? g.K : g.N;
    if (!libs || g.M < 0 || g.N < 0 || g.K < 0 || g.lda < a_cols || g.ldb < b_cols || g.ldc < g.N || g.lda < 1 ||
        g.ldb < 1 || g.ldc < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: M %lld N %lld K %lld with lda %lld ldb %lld ldc %lld", call,
                       (long long)g.M, (long long)g.N, (long long)g.K, (long long)g.lda, (long long)g.ldb,
                       (long long)g.ldc);
    if (g.M > 0 && g.N > 0 && (!g.C || (g.K > 0 && (!g.A || !g.B))))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: missing matrix", call);
    if (g.M > 0 && g.N > 0 && g.K == 0)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: K 0", call);
    return DS_OK;
}

static ds_status gemm_build(gpu_libs *L, const gemm_call &g, gemm_choice *ch) {
    const cublaslt_fns *lt = ch->lt = L->lt_fns;
    ch->ours = g.act != DS_ACT_NONE && g.act != DS_ACT_RELU; /* cuBLASLt's epilogues do these two exactly */
    ch->temp = ch->ours && g.ldc != g.N;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (!ch->ours && g.bias)
        epi = g.act == DS_ACT_RELU ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    else if (!ch->ours && g.act == DS_ACT_RELU)
        epi = CUBLASLT_EPILOGUE_RELU;
    const cublasOperation_t op_a = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N; /* cuBLASLt's A is our B */
    const cublasOperation_t op_b = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasComputeType_t compute =
        L->tuning.tf32 && !g.f16 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_TRY(lt->MatmulDescCreate(&ch->op, compute, CUDA_R_32F));
    CUBLAS_TRY(lt->MatmulDescSetAttribute(ch->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
    CUBLAS_TRY(lt->MatmulDescSetAttribute(ch->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
    CUBLAS_TRY(lt->MatmulDescSetAttribute(ch->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    /* stored shapes, column-major: B (K, N) row-major is (N x K), (N, K) is (K x N); likewise A */
    const cudaDataType_t in_type = g.f16 ? CUDA_R_16F : CUDA_R_32F;
    CUBLAS_TRY(lt->MatrixLayoutCreate(&ch->a, in_type, (uint64_t)(g.trans_b ? g.K : g.N),
                                          (uint64_t)(g.trans_b ? g.N : g.K), g.ldb));
    CUBLAS_TRY(lt->MatrixLayoutCreate(&ch->b, in_type, (uint64_t)(g.trans_a ? g.M : g.K),
                                          (uint64_t)(g.trans_a ? g.K : g.M), g.lda));
    CUBLAS_TRY(lt->MatrixLayoutCreate(&ch->c, CUDA_R_32F, (uint64_t)g.N, (uint64_t)g.M, ch->temp ? g.N : g.ldc));
    cublasLtMatmulPreference_t pref = NULL;
    CUBLAS_TRY(lt->MatmulPreferenceCreate(&pref));
    const uint32_t align_a = (uint32_t)alignment_of({g.B}), align_b = (uint32_t)alignment_of({g.A});
    const uint32_t align_c = (uint32_t)(ch->temp ? 16 : alignment_of({g.C}));
    cublasLtMatmulHeuristicResult_t res;
    int n = 0;
    const struct {
        cublasLtMatmulPreferenceAttributes_t attr;
        const void *value;
        size_t size;
    } prefs[] = {{CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &GEMM_MAX_WS, sizeof GEMM_MAX_WS},
                 {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof align_a},
                 {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof align_b},
                 {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, sizeof align_c},
                 {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c, sizeof align_c}};
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    for (size_t i = 0; i < sizeof prefs / sizeof prefs[0] && st == CUBLAS_STATUS_SUCCESS; i++)
        st = lt->MatmulPreferenceSetAttribute(pref, prefs[i].attr, prefs[i].value, prefs[i].size);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = lt->MatmulAlgoGetHeuristic(L->lt, ch->op, ch->a, ch->b, ch->c, ch->c, pref, 1, &res, &n);
    lt->MatmulPreferenceDestroy(pref);
    CUBLAS_TRY(st);
    if (n < 1)
        return ds_fail(DS_ERR_UNSUPPORTED, "gpu_gemm: cuBLASLt has no algorithm for M %lld N %lld K %lld",
                       (long long)g.M, (long long)g.N, (long long)g.K);
    ch->algo = res.algo;
    ch->ws = res.workspaceSize;
    return DS_OK;
}

static size_t gemm_temp_bytes(const gemm_call &g, const gemm_choice &ch) {
    return ch.temp ? round_up((size_t)(g.M * g.N) * sizeof(float)) : 0;
}

static ds_status plan_gemm(gpu_libs *L, cudaStream_t s, const gemm_call &g, const gemm_choice **out) {
    char key[256];
    snprintf(key, sizeof key, "gemm t%d%d m%lld n%lld k%lld ld%lld,%lld,%lld b%d %s a%d,%d,%d%s", (int)g.trans_a,
             (int)g.trans_b, (long long)g.M, (long long)g.N, (long long)g.K, (long long)g.lda, (long long)g.ldb,
             (long long)g.ldc, (int)(g.bias != NULL), ds_act_name(g.act), alignment_of({g.A}), alignment_of({g.B}),
             alignment_of({g.C}), g.f16 ? " f16" : "");
    auto found = L->gemms.find(key);
    if (found == L->gemms.end()) {
        bool cap = false;
        DS_TRY(capturing(s, &cap));
        if (cap)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "gpu_gemm: %s was not prepared before the graph capture", key);
        std::unique_ptr<gemm_choice> ch(new gemm_choice());
        DS_TRY(gemm_build(L, g, ch.get()));
        found = L->gemms.emplace(key, std::move(ch)).first;
    }
    const gemm_choice &ch = *found->second;
    DS_TRY(ensure_workspace(L, s, gemm_temp_bytes(g, ch) + round_up(ch.ws), "gpu_gemm"));
    *out = &ch;
    return DS_OK;
}

ds_status gpu_gemm_prepare(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N,
                           int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias,
                           ds_act act, float *C, int64_t ldc) {
    const gemm_call g = {trans_a, trans_b, M, N, K, A, B, bias, lda, ldb, ldc, act, C, false};
    DS_TRY(check_gemm("gpu_gemm_prepare", libs, g));
    if (M == 0 || N == 0)
        return DS_OK;
    const gemm_choice *ch = NULL;
    return plan_gemm(libs, s, g, &ch);
}

static ds_status run_gemm(gpu_libs *libs, cudaStream_t s, const gemm_call &g) {
    const int64_t M = g.M, N = g.N, ldc = g.ldc;
    const float *bias = g.bias;
    const ds_act act = g.act;
    float *C = g.C;
    const gemm_choice *ch = NULL;
    DS_TRY(plan_gemm(libs, s, g, &ch));
    const size_t temp_bytes = gemm_temp_bytes(g, *ch);
    float *D = ch->temp ? (float *)libs->ws : C;
    const float *lt_bias = ch->ours ? NULL : bias;
    const float alpha = 1.0f, beta = 0.0f;
    if (lt_bias)
        CUBLAS_TRY(libs->lt_fns->MatmulDescSetAttribute(ch->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &lt_bias,
                                                  sizeof lt_bias));
    CUBLAS_TRY(libs->lt_fns->Matmul(libs->lt, ch->op, &alpha, g.B, ch->a, g.A, ch->b, &beta, D, ch->c, D, ch->c, &ch->algo,
                              libs->ws + temp_bytes, ch->ws, s));
    if (!ch->ours)
        return DS_OK;
    /* exact GELU and ReLU6 (cuBLASLt's GELU is the tanh approximation) */
    ds_tensor t = {D, {1, 1, M, N}};
    const kern_ctx k = {s, 0};
    DS_TRY(op_bias_act(&k, &t, bias, NULL, DS_ACT_NONE, act, &t));
    if (ch->temp)
        CUDART_TRY(cudaMemcpy2DAsync(C, (size_t)ldc * sizeof(float), D, (size_t)N * sizeof(float),
                                     (size_t)N * sizeof(float), (size_t)M, cudaMemcpyDeviceToDevice, s));
    return DS_OK;
}

ds_status gpu_gemm(gpu_libs *libs, cudaStream_t s, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb, const float *bias, ds_act act,
                   float *C, int64_t ldc) {
    const gemm_call g = {trans_a, trans_b, M, N, K, A, B, bias, lda, ldb, ldc, act, C, false};
    DS_TRY(check_gemm("gpu_gemm", libs, g));
    if (M == 0 || N == 0)
        return DS_OK;
    return run_gemm(libs, s, g);
}

static gemm_call gemm_f16_call(int64_t M, int64_t N, int64_t K, const __half *A, const __half *B, const float *bias,
                               ds_act act, float *C, int64_t ldc) {
    return gemm_call{false, true, M, N, K, (const float *)A, (const float *)B, bias, K, K, ldc, act, C, true};
}

/* Plans the call's shape and, unless plan_only, runs it. */
static ds_status gemm_f16(const char *call, bool plan_only, gpu_libs *libs, cudaStream_t s, const gemm_call &g) {
    DS_TRY(check_gemm(call, libs, g));
    if (g.M == 0 || g.N == 0)
        return DS_OK;
    const gemm_choice *ch = NULL;
    return plan_only ? plan_gemm(libs, s, g, &ch) : run_gemm(libs, s, g);
}

ds_status gpu_gemm_f16_prepare(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                               const __half *B, const float *bias, ds_act act, float *C, int64_t ldc) {
    return gemm_f16("gpu_gemm_f16_prepare", true, libs, s, gemm_f16_call(M, N, K, A, B, bias, act, C, ldc));
}

ds_status gpu_gemm_f16(gpu_libs *libs, cudaStream_t s, int64_t M, int64_t N, int64_t K, const __half *A,
                       const __half *B, const float *bias, ds_act act, float *C, int64_t ldc) {
    return gemm_f16("gpu_gemm_f16", false, libs, s, gemm_f16_call(M, N, K, A, B, bias, act, C, ldc));
}

} // namespace ds_cuda
