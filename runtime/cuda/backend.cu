/*
 * cuda/backend.cu: the CUDA backend (backend.h). One source, two builds:
 * nvcc against the real runtime (ds_backend_cuda, namespace ds_cuda) and
 * g++ against the CPU emulator (ds_backend_cuda_emu, ds_cuda_emu).
 *
 * Memory, as the CPU backend: the weights are uploaded once per engine
 * (cached by host pointer, shared by every input size); per input size one
 * device arena laid out by the planner (the same offsets), a device scratch
 * for the largest need of a node, and page-locked host buffers for the
 * copies; the photo path's buffers and a mesh's, grown to the largest. The forward pass of a size is captured once as a CUDA graph and
 * replayed per image; a profiled run issues the nodes one by one between
 * events instead. Every CUDA call is checked (gpu_rt.h names the call).
 * Queued runs (submit/collect): each queue slot has its own input and
 * output buffers on both sides; its upload runs on one copy stream, the
 * network on the compute stream (the input copied into the arena, the
 * graph, the output copied out of it), its download on another copy
 * stream, ordered by events, so consecutive runs overlap.
 * --precision fp16: the library convolutions' and linears' weights are kept
 * as half copies only (made on the device at the first prepare, channels
 * padded: cuda/dispatch.h), biases and every other weight in float32.
 */
#include <stdio.h>
#include <string.h>

#include <new>
#include <unordered_map>
#include <vector>

#include "graph/backend.h"       /* ds_backend_ops, ds_backend_shape */
#include "cuda/dispatch.h" /* node_exec, run_node */
#include "base/error.h"         /* ds_fail, DS_TRY */
#include "gpu/gpu_libs.h"      /* gpu_libs_create */
#include "gpu/gpu_rt.h"        /* cuda_* */
#include "kernels/kernels.h"       /* op_preprocess_rgb8, op_resize_bicubic, op_resize_bilinear_map */
#include "kernels/mesh/mesh_host.cuh"   /* mesh_buffers, mesh_build_device */
#include "mesh/mesh.h"            /* ds_mesh_grid, ds_mesh_vertex_count */

/* The table this build defines (backend.h declares both). */
#if defined(__CUDACC__)
#define DS_BACKEND_TABLE ds_backend_cuda
#define DS_BACKEND_NAME "cuda"
#else
#define DS_BACKEND_TABLE ds_backend_cuda_emu
#define DS_BACKEND_NAME "cuda-emu"
#endif

/* A runtime call (gpu_rt.h names it and the CUDA error) with this file's line. */
#define CUDA_CHECK(call)                                                                 \
    do {                                                                                 \
        ds_status cuda_check_s_ = (call);                                                \
        if (cuda_check_s_ != DS_OK)                                                      \
            return ds_fail_context(cuda_check_s_, "cuda/backend.cu:%d", __LINE__);      \
    } while (0)

namespace DS_CUDA_NS {

/* One slot of the queue of submitted runs: a network input (submit) or a
 * photo (submit_rgb8), and what comes back. */
struct queue_slot {
    float *in_host = NULL, *in_dev = NULL;   /* (H, W, 3) NHWC: pinned, device */
    float *out_dev = NULL, *out_host = NULL; /* (H, W): device, pinned */
    size_t in_cap = 0, out_cap = 0;          /* floats */
    uint8_t *rgb_host = NULL, *rgb_dev = NULL; /* the photo: pinned, device */
    size_t rgb_cap = 0;                      /* bytes */
    float *depth_dev = NULL, *depth_host = NULL; /* (height, width): the photo's depth map */
    size_t depth_cap = 0;                    /* floats */
    size_t out_n = 0;                        /* floats of the run submitted */
    bool photo = false;                      /* the run submitted was a photo's */
    cudaEvent_t uploaded = NULL, computed = NULL, downloaded = NULL;
};

/* One prepared input size. Its forward pass is captured against the
 * backend's buffers as they were (generation): once the arena, the scratch
 * or the libraries' workspace moved, it is captured again before it runs. */
struct cuda_shape {
    ds_backend_shape shape = {};
    std::vector<node_weights> w_dev;         /* per node: its weight slots on the device */
    std::vector<const __half *> wh_dev;      /* per node, fp16 */
    std::vector<float *> owned;              /* device copies of the graph's own constants */
    std::unordered_map<const void *, const float *> owned_of; /* host constant -> its copy: nodes share them */
    cudaGraphExec_t forward = NULL;
    size_t forward_nodes = 0;                /* operations in `forward` */
    uint64_t generation = 0;                 /* of the buffers `forward` uses */
};

struct cuda_state {
    int device = 0;
    void (*release_weights)(void *, const void *, size_t) = NULL;
    void *release_ctx = NULL;
    float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    ds_depth_resize depth_resize = DS_DEPTH_RESIZE_BICUBIC; /* the photo path's way back */
    cudaStream_t stream = NULL;
    gpu_libs *libs = NULL;
    bool fp16 = false;
    std::unordered_map<const void *, float *> weights; /* host weight -> its device copy */
    std::unordered_map<const void *, __half *> weights_half; /* fp16: host weight -> its half copy */
    size_t weight_bytes = 0; /* of both maps, on the device */
    /* shared by every prepared size (runs never overlap on the compute stream) */
    float *arena = NULL;    /* arena_floats, device: the largest plan's */
    size_t arena_floats = 0;
    char *scratch = NULL;   /* scratch_bytes, device: the largest node's need */
    size_t scratch_bytes = 0;
    uint64_t generation = 1; /* bumped whenever arena, scratch or the workspace move */
    float *in_host = NULL;   /* (H, W, 3) NHWC, page-locked, for run */
    float *out_host = NULL;  /* (H, W), page-locked */
    size_t io_cap = 0;       /* pixels of in_host and out_host */
    size_t forward_nodes = 0; /* of the last forward pass captured */
    /* the photo path (ds_engine_solve_rgb8), grown to the largest photo */
    uint8_t *rgb_dev = NULL, *rgb_host = NULL;
    size_t rgb_cap = 0;
    float *depth_dev = NULL, *depth_host = NULL;
    size_t depth_cap = 0;
    /* queued runs: the copy streams (made at the first submit) and the slots */
    cudaStream_t copy_in = NULL, copy_out = NULL;
    queue_slot slots[DS_ENGINE_QUEUE_DEPTH];
    /* the mesh of the photo path's depth map (ds_engine_mesh_rgb8) */
    mesh_buffers mesh;
    int64_t mesh_vertices = 0, mesh_triangles = 0;
};

static void release_weight(cuda_state *c, const void *data, size_t bytes) {
    /* the device copy is what runs: let the mapped original leave memory */
    if (c->release_weights)
        c->release_weights(c->release_ctx, data, bytes);
}

static void free_photo_buffers(cuda_state *c) {
    cuda_free(c->rgb_dev);
    cuda_free_host(c->rgb_host);
    cuda_free(c->depth_dev);
    cuda_free_host(c->depth_host);
    c->rgb_dev = c->rgb_host = NULL;
    c->depth_dev = c->depth_host = NULL;
    c->rgb_cap = c->depth_cap = 0;
}

/* Waits for every stream: the queued runs too. */
static ds_status wait_all(cuda_state *c) {
    for (cudaStream_t s : {c->copy_in, c->stream, c->copy_out})
        if (s)
            CUDA_CHECK(cuda_stream_sync(s));
    return DS_OK;
}

static void free_slot(queue_slot *q) {
    cuda_free_host(q->in_host);
    cuda_free(q->in_dev);
    cuda_free(q->out_dev);
    cuda_free_host(q->out_host);
    cuda_free_host(q->rgb_host);
    cuda_free(q->rgb_dev);
    cuda_free(q->depth_dev);
    cuda_free_host(q->depth_host);
    cuda_event_destroy(q->uploaded);
    cuda_event_destroy(q->computed);
    cuda_event_destroy(q->downloaded);
    *q = queue_slot();
}

/* Errors are ignored: this runs on the way out, and a failing free leaves
 * nothing to do. */
static void cu_free(void *state) {
    cuda_state *c = (cuda_state *)state;
    if (!c)
        return;
    if (wait_all(c) != DS_OK)
        ds_clear_error(); /* on the way out: nothing else to do */
    for (queue_slot &q : c->slots)
        free_slot(&q);
    cuda_stream_destroy(c->copy_in);
    cuda_stream_destroy(c->copy_out);
    cuda_free(c->arena);
    cuda_free(c->scratch);
    cuda_free_host(c->in_host);
    cuda_free_host(c->out_host);
    free_photo_buffers(c);
    mesh_buffers_free(&c->mesh);
    for (auto &w : c->weights)
        cuda_free(w.second);
    for (auto &w : c->weights_half)
        cuda_free(w.second);
    gpu_libs_free(c->libs);
    cuda_stream_destroy(c->stream);
    delete c;
}

static ds_status cu_create(const ds_backend_config *cfg, void **state, char *describe,
                           size_t describe_len) {
    if (cfg->precision == DS_PRECISION_BF16)
        return ds_fail(DS_ERR_UNSUPPORTED, "precision bf16 is for the CPU; CUDA has fp32, tf32 and fp16");
    int n = 0;
    char why[256] = "";
    CUDA_CHECK(cuda_device_count(&n, why, sizeof why));
    if (n == 0)
        return ds_fail(DS_ERR_DEVICE, "no CUDA device: %s", why[0] ? why : "none found");
    const int dev = cfg->device_index;
    if (dev < 0 || dev >= n)
        return ds_fail(DS_ERR_DEVICE, "no CUDA device %d (%d found)", dev, n);
    CUDA_CHECK(cuda_set_device(dev));
    char name[200];
    CUDA_CHECK(cuda_device_name(dev, name, sizeof name));
    cuda_state *c = new (std::nothrow) cuda_state();
    if (!c)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating the CUDA backend");
    c->device = dev;
    c->release_weights = cfg->release_weights;
    c->release_ctx = cfg->release_ctx;
    memcpy(c->mean, cfg->mean, sizeof c->mean);
    c->depth_resize = cfg->depth_resize;
    memcpy(c->std, cfg->std, sizeof c->std);
    c->fp16 = cfg->precision == DS_PRECISION_FP16;
    ds_status s = cuda_stream_create(&c->stream);
    if (s == DS_OK)
        s = gpu_libs_create(&c->libs);
    gpu_tuning tuning = gpu_tuning_default();
    tuning.autotune = cfg->autotune;
    tuning.tf32 = cfg->precision == DS_PRECISION_TF32;
    if (s == DS_OK)
        s = gpu_libs_set_tuning(c->libs, &tuning);
    if (s != DS_OK) {
        cu_free(c);
        return s;
    }
    snprintf(describe, describe_len, "%s device %d, %s", DS_BACKEND_NAME, dev, name);
    *state = c;
    return DS_OK;
}

static bool cu_supports_op(void *state, const ds_node *node) {
    (void)state;
    return node_supported(node);
}

/* A copy of a graph-owned constant for this size alone (cu_release frees
 * it), one per constant however many nodes use it. */
static ds_status shape_constant(cuda_shape *sh, const ds_tensor_ref *t, const float **out) {
    auto it = sh->owned_of.find(t->data);
    if (it != sh->owned_of.end()) {
        *out = it->second;
        return DS_OK;
    }
    const size_t bytes = (size_t)ds_shape_numel_n(t->shape, t->ndim) * ds_dtype_size(t->dtype);
    float *d = NULL;
    CUDA_CHECK(cuda_malloc((void **)&d, bytes ? bytes : sizeof(float)));
    sh->owned.push_back(d);
    ds_status s = cuda_memcpy(d, t->data, bytes, cudaMemcpyHostToDevice);
    if (s != DS_OK)
        return ds_fail_context(s, "uploading %s", t->name);
    sh->owned_of[t->data] = d;
    *out = d;
    return DS_OK;
}

/* The device copy of a weight, uploaded on first use (a graph-owned
 * constant: for its size alone). */
static ds_status device_weight(cuda_state *c, cuda_shape *sh, const ds_tensor_ref *t, const float **out) {
    *out = NULL;
    if (!t->data)
        return DS_OK;
    if (t->graph_owned)
        return shape_constant(sh, t, out);
    auto it = c->weights.find(t->data);
    if (it != c->weights.end()) {
        *out = it->second;
        return DS_OK;
    }
    const size_t bytes = (size_t)ds_shape_numel_n(t->shape, t->ndim) * sizeof(float);
    float *d = NULL;
    CUDA_CHECK(cuda_malloc((void **)&d, bytes ? bytes : sizeof(float)));
    ds_status s = cuda_memcpy(d, t->data, bytes, cudaMemcpyHostToDevice);
    if (s != DS_OK) {
        cuda_free(d);
        return ds_fail_context(s, "uploading %s", t->name);
    }
    c->weights[t->data] = d;
    c->weight_bytes += bytes;
    /* the device copy is what runs: let the mapped original leave memory */
    release_weight(c, t->data, bytes);
    *out = d;
    return DS_OK;
}

/* The half copy of a weight whose rows are `cols` long, padded to
 * `cols_padded` with zeros; converted on the device at first use. */
static ds_status device_weight_half(cuda_state *c, const ds_tensor_ref *t, int64_t cols, int64_t cols_padded,
                                    const __half **out) {
    *out = NULL;
    if (t->graph_owned) /* the half cache lives as long as the engine, the constant with its size */
        return ds_fail(DS_ERR_INTERNAL, "%s: a constant of the graph cannot be a half weight", t->name);
    auto it = c->weights_half.find(t->data);
    if (it != c->weights_half.end()) {
        *out = it->second;
        return DS_OK;
    }
    const int64_t n = ds_shape_numel_n(t->shape, t->ndim), rows = cols ? n / cols : 0;
    const int64_t halves = rows * cols_padded;
    float *staged = NULL;
    __half *h = NULL;
    CUDA_CHECK(cuda_malloc((void **)&staged, (size_t)(n > 0 ? n : 1) * sizeof(float)));
    ds_status s = cuda_malloc((void **)&h, (size_t)(halves > 0 ? halves : 1) * sizeof(__half));
    const kern_ctx k = {c->stream, 0};
    if (s == DS_OK)
        s = cuda_memcpy(staged, t->data, (size_t)n * sizeof(float), cudaMemcpyHostToDevice);
    if (s == DS_OK)
        s = op_to_half(&k, staged, rows, cols, DS_ACT_NONE, cols_padded, h);
    if (s == DS_OK)
        s = cuda_stream_sync(c->stream);
    cuda_free(staged);
    if (s != DS_OK) {
        cuda_free(h);
        return ds_fail_context(s, "converting %s to half", t->name);
    }
    c->weights_half[t->data] = h;
    c->weight_bytes += (size_t)halves * sizeof(__half);
    release_weight(c, t->data, (size_t)n * sizeof(float));
    *out = h;
    return DS_OK;
}

static node_exec exec_of(const cuda_state *c, const cuda_shape *sh) {
    node_exec x;
    x.graph = sh->shape.graph;
    x.plan = sh->shape.plan;
    x.arena = c->arena;
    x.w_dev = sh->w_dev.data();
    x.wh_dev = sh->wh_dev.data();
    x.scratch = c->scratch;
    x.scratch_bytes = c->scratch_bytes;
    x.fp16 = c->fp16;
    x.libs = c->libs;
    x.k.stream = c->stream;
    x.k.block = 0;
    return x;
}

static ds_status issue_all(const cuda_state *c, const cuda_shape *sh) {
    const node_exec x = exec_of(c, sh);
    for (int i = 0; i < x.graph->n_nodes; i++)
        DS_TRY(run_node(&x, i));
    return DS_OK;
}

static ds_status plan_all(const cuda_state *c, const cuda_shape *sh) {
    const node_exec x = exec_of(c, sh);
    for (int i = 0; i < x.graph->n_nodes; i++)
        DS_TRY(plan_node(&x, i));
    return DS_OK;
}

/* Records the forward pass of sh against today's buffers. A node that fails
 * to issue ends the capture and keeps its own message. */
static ds_status capture_forward(cuda_state *c, cuda_shape *sh) {
    cuda_graph_destroy(sh->forward);
    sh->forward = NULL;
    CUDA_CHECK(cuda_capture_begin(c->stream));
    ds_status s = issue_all(c, sh);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ds_last_error());
    cudaGraphExec_t exec = NULL;
    ds_status e = cuda_capture_end(c->stream, &exec, &sh->forward_nodes);
    if (s != DS_OK) {
        cuda_graph_destroy(exec);
        return ds_fail(s, "%s", msg);
    }
    DS_TRY(e);
    sh->forward = exec;
    sh->generation = c->generation;
    c->forward_nodes = sh->forward_nodes;
    return DS_OK;
}

/* The forward pass of sh, captured again if the buffers it used moved. */
static ds_status forward_of(cuda_state *c, cuda_shape *sh, cudaGraphExec_t *out) {
    if (!sh->forward || sh->generation != c->generation)
        DS_TRY(capture_forward(c, sh));
    c->forward_nodes = sh->forward_nodes;
    *out = sh->forward;
    return DS_OK;
}

/* Grows a device buffer (contents dropped); a move bumps the generation. */
static ds_status grow_device(cuda_state *c, void **buf, size_t *cap, size_t n, size_t size) {
    if (n <= *cap)
        return DS_OK;
    cuda_free(*buf);
    *buf = NULL;
    *cap = 0;
    c->generation++;
    CUDA_CHECK(cuda_malloc(buf, n * size));
    *cap = n;
    return DS_OK;
}

/* The device weights of sh's nodes, and the arena and scratch grown to its needs. */
static ds_status alloc_shape(cuda_state *c, cuda_shape *sh) {
    const ds_graph *g = sh->shape.graph;
    sh->w_dev.assign((size_t)g->n_nodes, node_weights{});
    sh->wh_dev.assign((size_t)g->n_nodes, NULL);
    size_t scratch = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ds_node *n = &g->nodes[i];
        node_weights &w = sh->w_dev[(size_t)i];
        int64_t cols = 0, padded = 0;
        const bool half = c->fp16 && node_half_weight(g, i, &cols, &padded);
        if (half)
            DS_TRY(device_weight_half(c, &n->w[0], cols, padded, &sh->wh_dev[(size_t)i]));
        for (int k = half ? 1 : 0; k < DS_NODE_MAX_W; k++)
            DS_TRY(device_weight(c, sh, &n->w[k], &w.slot[k]));
        size_t need = node_scratch_bytes(g, sh->shape.plan, i, c->fp16);
        if (need > scratch)
            scratch = need;
    }
    DS_TRY(grow_device(c, (void **)&c->arena, &c->arena_floats, sh->shape.plan->arena_floats + 1, sizeof(float)));
    if (scratch)
        DS_TRY(grow_device(c, (void **)&c->scratch, &c->scratch_bytes, scratch, 1));
    const size_t hw = (size_t)sh->shape.h * (size_t)sh->shape.w;
    if (hw > c->io_cap) {
        cuda_free_host(c->in_host);
        cuda_free_host(c->out_host);
        c->in_host = c->out_host = NULL;
        c->io_cap = 0;
        CUDA_CHECK(cuda_malloc_host((void **)&c->in_host, 3 * hw * sizeof(float)));
        CUDA_CHECK(cuda_malloc_host((void **)&c->out_host, hw * sizeof(float)));
        c->io_cap = hw;
    }
    return DS_OK;
}

static void cu_release(void *state, void *prepared) {
    cuda_state *c = (cuda_state *)state;
    cuda_shape *sh = (cuda_shape *)prepared;
    if (!sh)
        return;
    if (wait_all(c) != DS_OK) /* queued runs may still replay its graph */
        ds_clear_error();
    cuda_graph_destroy(sh->forward);
    for (float *d : sh->owned)
        cuda_free(d);
    delete sh;
}

static ds_status cu_prepare(void *state, const ds_backend_shape *shape, void **prepared) {
    cuda_state *c = (cuda_state *)state;
    *prepared = NULL;
    DS_TRY(wait_all(c)); /* queued runs still read the buffers that may move */
    cuda_shape *sh = new (std::nothrow) cuda_shape();
    if (!sh)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory preparing a %dx%d input", shape->h, shape->w);
    sh->shape = *shape;
    const size_t ws = gpu_libs_workspace_bytes(c->libs);
    ds_status s = alloc_shape(c, sh);
    if (s == DS_OK)
        s = plan_all(c, sh);
    if (s == DS_OK && gpu_libs_workspace_bytes(c->libs) != ws)
        c->generation++; /* the workspace moved: graphs captured before use the old one */
    if (s == DS_OK)
        s = capture_forward(c, sh);
    if (s != DS_OK) {
        cu_release(c, sh);
        return s;
    }
    *prepared = sh;
    return DS_OK;
}

static float *device_value(const cuda_state *c, const cuda_shape *sh, int node) {
    return ds_plan_value(sh->shape.plan, sh->shape.graph, c->arena, node).data;
}

/* The nodes one by one between events: per-node device time. */
static ds_status run_timed(cuda_state *c, const cuda_shape *sh, double *node_seconds) {
    const node_exec x = exec_of(c, sh);
    const int n = x.graph->n_nodes;
    std::vector<cudaEvent_t> ev((size_t)n + 1, NULL);
    ds_status s = DS_OK;
    for (size_t i = 0; i < ev.size() && s == DS_OK; i++)
        s = cuda_event_create(&ev[i]);
    if (s == DS_OK)
        s = cuda_event_record(ev[0], c->stream);
    for (int i = 0; i < n && s == DS_OK; i++) {
        s = run_node(&x, i);
        if (s == DS_OK)
            s = cuda_event_record(ev[(size_t)i + 1], c->stream);
    }
    if (s == DS_OK)
        s = cuda_stream_sync(c->stream);
    for (int i = 0; i < n && s == DS_OK; i++) {
        float ms = 0;
        s = cuda_event_elapsed_ms(&ms, ev[(size_t)i], ev[(size_t)i + 1]);
        node_seconds[i] = ms * 1e-3;
    }
    for (cudaEvent_t e : ev)
        cuda_event_destroy(e);
    return s;
}

static ds_status cu_run(void *state, void *prepared, const float *input, float *depth, double *node_seconds) {
    cuda_state *c = (cuda_state *)state;
    cuda_shape *sh = (cuda_shape *)prepared;
    const ds_graph *g = sh->shape.graph;
    const size_t hw = (size_t)sh->shape.h * (size_t)sh->shape.w;
    cudaGraphExec_t forward = NULL;
    if (!node_seconds)
        DS_TRY(forward_of(c, sh, &forward));
    ds_nchw_to_nhwc(input, c->in_host, 3, (int64_t)hw);
    CUDA_CHECK(cuda_memcpy_async(device_value(c, sh, g->input), c->in_host, 3 * hw * sizeof(float),
                                 cudaMemcpyHostToDevice, c->stream));
    if (node_seconds)
        DS_TRY(run_timed(c, sh, node_seconds));
    else
        CUDA_CHECK(cuda_graph_launch(forward, c->stream));
    CUDA_CHECK(cuda_memcpy_async(c->out_host, device_value(c, sh, g->output), hw * sizeof(float),
                                 cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cuda_stream_sync(c->stream));
    memcpy(depth, c->out_host, hw * sizeof(float));
    return DS_OK;
}

/* Grows a device buffer and its page-locked twin to n elements of `size`
 * bytes, contents dropped; *cap counts elements. */
static ds_status grow_pair(void **dev, void **host, size_t *cap, size_t n, size_t size) {
    if (n <= *cap)
        return DS_OK;
    cuda_free(*dev);
    cuda_free_host(*host);
    *dev = *host = NULL;
    *cap = 0;
    CUDA_CHECK(cuda_malloc(dev, n * size));
    CUDA_CHECK(cuda_malloc_host(host, n * size));
    *cap = n;
    return DS_OK;
}

/* The copy streams and the slots' events, at the first submit. */
static ds_status queue_ready(cuda_state *c) {
    if (c->copy_out)
        return DS_OK;
    for (queue_slot &q : c->slots)
        if (!q.uploaded) {
            CUDA_CHECK(cuda_event_create(&q.uploaded));
            CUDA_CHECK(cuda_event_create(&q.computed));
            CUDA_CHECK(cuda_event_create(&q.downloaded));
        }
    if (!c->copy_in)
        CUDA_CHECK(cuda_stream_create(&c->copy_in));
    CUDA_CHECK(cuda_stream_create(&c->copy_out));
    return DS_OK;
}

/* Upload (copy_in), network (stream), download (copy_out), ordered by the
 * slot's events. The slot is idle: its last run was collected. */
static ds_status cu_submit(void *state, void *prepared, int slot, const float *input) {
    cuda_state *c = (cuda_state *)state;
    cuda_shape *sh = (cuda_shape *)prepared;
    const ds_graph *g = sh->shape.graph;
    const size_t hw = (size_t)sh->shape.h * (size_t)sh->shape.w;
    queue_slot &q = c->slots[slot];
    cudaGraphExec_t forward = NULL;
    DS_TRY(forward_of(c, sh, &forward));
    DS_TRY(queue_ready(c));
    DS_TRY(grow_pair((void **)&q.in_dev, (void **)&q.in_host, &q.in_cap, 3 * hw, sizeof(float)));
    DS_TRY(grow_pair((void **)&q.out_dev, (void **)&q.out_host, &q.out_cap, hw, sizeof(float)));
    ds_nchw_to_nhwc(input, q.in_host, 3, (int64_t)hw);
    CUDA_CHECK(cuda_memcpy_async(q.in_dev, q.in_host, 3 * hw * sizeof(float), cudaMemcpyHostToDevice, c->copy_in));
    CUDA_CHECK(cuda_event_record(q.uploaded, c->copy_in));
    CUDA_CHECK(cuda_stream_wait_event(c->stream, q.uploaded));
    CUDA_CHECK(cuda_memcpy_async(device_value(c, sh, g->input), q.in_dev, 3 * hw * sizeof(float),
                                 cudaMemcpyDeviceToDevice, c->stream));
    CUDA_CHECK(cuda_graph_launch(forward, c->stream));
    CUDA_CHECK(cuda_memcpy_async(q.out_dev, device_value(c, sh, g->output), hw * sizeof(float),
                                 cudaMemcpyDeviceToDevice, c->stream));
    CUDA_CHECK(cuda_event_record(q.computed, c->stream));
    CUDA_CHECK(cuda_stream_wait_event(c->copy_out, q.computed));
    CUDA_CHECK(cuda_memcpy_async(q.out_host, q.out_dev, hw * sizeof(float), cudaMemcpyDeviceToHost, c->copy_out));
    CUDA_CHECK(cuda_event_record(q.downloaded, c->copy_out));
    q.out_n = hw;
    q.photo = false;
    return DS_OK;
}

static ds_status cu_collect(void *state, int slot, float *depth) {
    cuda_state *c = (cuda_state *)state;
    queue_slot &q = c->slots[slot];
    CUDA_CHECK(cuda_event_sync(q.downloaded));
    memcpy(depth, q.photo ? q.depth_host : q.out_host, q.out_n * sizeof(float));
    return DS_OK;
}

static ds_status cu_read(void *state, void *prepared, int node, float *nhwc) {
    cuda_state *c = (cuda_state *)state;
    const cuda_shape *sh = (const cuda_shape *)prepared;
    const size_t n = (size_t)ds_shape_numel(sh->shape.graph->nodes[node].shape);
    return cuda_memcpy(nhwc, device_value(c, sh, node), n * sizeof(float), cudaMemcpyDeviceToHost);
}

/* Bytes of a photo of `height` rows of `stride` bytes, the last row only as wide as the photo. */
static size_t photo_bytes(int width, int height, size_t stride) {
    return stride * (size_t)(height - 1) + (size_t)width * 3;
}

/* On the compute stream: the photo already on the device (rgb_dev) resized
 * and normalized into the network's input, the forward pass, and the
 * depth map resized back to width x height into depth_dev. */
static ds_status photo_to_depth(cuda_state *c, cuda_shape *sh, cudaGraphExec_t forward, const uint8_t *rgb_dev,
                                int width, int height, size_t stride, float *depth_dev) {
    const ds_graph *g = sh->shape.graph;
    const kern_ctx k = {c->stream, 0};
    rgb_norm norm;
    memcpy(norm.mean, c->mean, sizeof norm.mean);
    memcpy(norm.std, c->std, sizeof norm.std);
    DS_TRY(op_preprocess_rgb8(&k, rgb_dev, width, height, stride, sh->shape.w, sh->shape.h, &norm, 1,
                              device_value(c, sh, g->input)));
    CUDA_CHECK(cuda_graph_launch(forward, c->stream));
    if (c->depth_resize == DS_DEPTH_RESIZE_BILINEAR_ALIGNED)
        return op_resize_bilinear_map(&k, device_value(c, sh, g->output), sh->shape.w, sh->shape.h, depth_dev,
                                      width, height, 1);
    return op_resize_bicubic(&k, device_value(c, sh, g->output), sh->shape.w, sh->shape.h, depth_dev, width,
                             height);
}

/* Upload the photo, then photo_to_depth into c->depth_dev, all queued on the stream. */
static ds_status depth_on_device(cuda_state *c, cuda_shape *sh, const uint8_t *rgb, int width, int height,
                                 size_t stride) {
    cudaGraphExec_t forward = NULL;
    DS_TRY(forward_of(c, sh, &forward));
    const size_t rgb_bytes = photo_bytes(width, height, stride);
    DS_TRY(grow_pair((void **)&c->rgb_dev, (void **)&c->rgb_host, &c->rgb_cap, rgb_bytes, 1));
    DS_TRY(grow_pair((void **)&c->depth_dev, (void **)&c->depth_host, &c->depth_cap, (size_t)width * height,
                     sizeof(float)));
    memcpy(c->rgb_host, rgb, rgb_bytes);
    CUDA_CHECK(cuda_memcpy_async(c->rgb_dev, c->rgb_host, rgb_bytes, cudaMemcpyHostToDevice, c->stream));
    return photo_to_depth(c, sh, forward, c->rgb_dev, width, height, stride, c->depth_dev);
}

/* The photo's depth map, downloaded. */
static ds_status cu_solve_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                               size_t stride, float *depth) {
    cuda_state *c = (cuda_state *)state;
    const size_t n = (size_t)width * (size_t)height;
    DS_TRY(depth_on_device(c, (cuda_shape *)prepared, rgb, width, height, stride));
    CUDA_CHECK(cuda_memcpy_async(c->depth_host, c->depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost,
                                 c->stream));
    CUDA_CHECK(cuda_stream_sync(c->stream));
    memcpy(depth, c->depth_host, n * sizeof(float));
    return DS_OK;
}

/* The photo path, queued: upload (copy_in), resizes and network (stream),
 * download of the photo-sized depth map (copy_out). */
static ds_status cu_submit_rgb8(void *state, void *prepared, int slot, const uint8_t *rgb, int width, int height,
                                size_t stride) {
    cuda_state *c = (cuda_state *)state;
    cuda_shape *sh = (cuda_shape *)prepared;
    queue_slot &q = c->slots[slot];
    const size_t rgb_bytes = photo_bytes(width, height, stride), n = (size_t)width * height;
    cudaGraphExec_t forward = NULL;
    DS_TRY(forward_of(c, sh, &forward));
    DS_TRY(queue_ready(c));
    DS_TRY(grow_pair((void **)&q.rgb_dev, (void **)&q.rgb_host, &q.rgb_cap, rgb_bytes, 1));
    DS_TRY(grow_pair((void **)&q.depth_dev, (void **)&q.depth_host, &q.depth_cap, n, sizeof(float)));
    memcpy(q.rgb_host, rgb, rgb_bytes);
    CUDA_CHECK(cuda_memcpy_async(q.rgb_dev, q.rgb_host, rgb_bytes, cudaMemcpyHostToDevice, c->copy_in));
    CUDA_CHECK(cuda_event_record(q.uploaded, c->copy_in));
    CUDA_CHECK(cuda_stream_wait_event(c->stream, q.uploaded));
    DS_TRY(photo_to_depth(c, sh, forward, q.rgb_dev, width, height, stride, q.depth_dev));
    CUDA_CHECK(cuda_event_record(q.computed, c->stream));
    CUDA_CHECK(cuda_stream_wait_event(c->copy_out, q.computed));
    CUDA_CHECK(cuda_memcpy_async(q.depth_host, q.depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost, c->copy_out));
    CUDA_CHECK(cuda_event_record(q.downloaded, c->copy_out));
    q.out_n = n;
    q.photo = true;
    return DS_OK;
}

/* The photo's mesh, built from the depth map where the network left it;
 * the depth map downloaded too when asked for (queued before the mesh, so
 * the one wait of mesh_build_device covers both). */
static ds_status cu_mesh_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                              size_t stride, const ds_mesh_grid *grid, float *depth, ds_backend_mesh *out) {
    cuda_state *c = (cuda_state *)state;
    const size_t n = (size_t)width * (size_t)height;
    DS_TRY(depth_on_device(c, (cuda_shape *)prepared, rgb, width, height, stride));
    if (depth)
        CUDA_CHECK(cuda_memcpy_async(c->depth_host, c->depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost,
                                     c->stream));
    uint32_t kept = 0;
    c->mesh_vertices = c->mesh_triangles = 0;
    DS_TRY(mesh_build_device(&c->mesh, grid, c->depth_dev, c->stream, &kept));
    if (depth)
        memcpy(depth, c->depth_host, n * sizeof(float));
    c->mesh_vertices = ds_mesh_vertex_count(grid);
    c->mesh_triangles = kept;
    out->vertices = c->mesh.vertices;
    out->indices = c->mesh.indices;
    out->n_vertices = c->mesh_vertices;
    out->n_triangles = c->mesh_triangles;
    out->device = c->device;
    out->stream = (void *)c->stream;
    return DS_OK;
}

static ds_status cu_read_mesh(void *state, float *vertices, uint32_t *indices) {
    const cuda_state *c = (const cuda_state *)state;
    return mesh_read_back(&c->mesh, c->mesh_vertices, c->mesh_triangles, vertices, indices);
}

static void cu_stats(void *state, ds_engine_stats *out) {
    const cuda_state *c = (const cuda_state *)state;
    size_t bytes = c->weight_bytes + c->scratch_bytes + gpu_libs_workspace_bytes(c->libs);
    bytes += c->arena_floats * sizeof(float) + (c->io_cap * 4) * sizeof(float);
    bytes += c->rgb_cap + c->depth_cap * sizeof(float);
    const mesh_buffers &m = c->mesh;
    bytes += (m.vertex_floats * sizeof(float) + m.index_count * sizeof(uint32_t) + m.mesh_ws_bytes);
    for (const queue_slot &q : c->slots)
        bytes += (q.in_cap + q.out_cap + q.depth_cap) * sizeof(float) + q.rgb_cap;
    out->device_bytes = (int64_t)bytes;
    out->graph_operations = (int64_t)c->forward_nodes;
    size_t used = 0;
    if (cuda_mem_used(&used) == DS_OK) {
        out->device_used_bytes = (int64_t)used;
    } else {
        out->device_used_bytes = -1;
        ds_clear_error();
    }
}

} // namespace DS_CUDA_NS

static const ds_backend_photo photo_ops = {
    DS_CUDA_NS::cu_solve_rgb8, DS_CUDA_NS::cu_mesh_rgb8,   DS_CUDA_NS::cu_read_mesh,
    DS_CUDA_NS::cu_submit_rgb8, DS_CUDA_NS::cu_collect,
};

extern "C" const ds_backend_ops DS_BACKEND_TABLE = {
    DS_BACKEND_NAME,          DS_CUDA_NS::cu_create,  DS_CUDA_NS::cu_free,    DS_CUDA_NS::cu_supports_op,
    DS_CUDA_NS::cu_prepare,   DS_CUDA_NS::cu_release, DS_CUDA_NS::cu_run,     DS_CUDA_NS::cu_read,
    DS_CUDA_NS::cu_submit,    DS_CUDA_NS::cu_collect, DS_CUDA_NS::cu_stats,   &photo_ops,
};
