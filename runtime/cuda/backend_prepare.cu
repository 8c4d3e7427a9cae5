/*
 * cuda/backend_prepare.cu: an input size made ready to run on the device:
 * its weights uploaded (once per engine, cached by host pointer; fp16: the
 * half copies), the graph's own constants for this size, the arena and
 * scratch grown to its plan, the libraries' algorithms chosen (plan_node),
 * and its forward pass captured as a CUDA graph, captured again when the
 * buffers it used moved.
 */
#include <stdio.h>

#include <new>

#include "base/error.h"            /* ds_fail, DS_TRY, ds_last_error */
#include "cuda/backend_internal.h" /* cuda_state, cuda_shape, CUDA_CHECK */
#include "cuda/dispatch.h"         /* node_exec, run_node, plan_node, node_half_weight, node_scratch_bytes */
#include "gpu/gpu_libs.h"          /* gpu_libs_workspace_bytes */
#include "gpu/gpu_rt.h"            /* cuda_* */
#include "kernels/kernels.h"       /* op_to_half */

namespace DS_CUDA_NS {

static void release_weight(cuda_state *c, const void *data, size_t bytes) {
    /* the device copy is what runs: let the mapped original leave memory */
    if (c->release_weights)
        c->release_weights(c->release_ctx, data, bytes);
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

node_exec exec_of(const cuda_state *c, const cuda_shape *sh) {
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

ds_status forward_of(cuda_state *c, cuda_shape *sh, cudaGraphExec_t *out) {
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

void cu_release(void *state, void *prepared) {
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

ds_status cu_prepare(void *state, const ds_backend_shape *shape, void **prepared) {
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
} // namespace DS_CUDA_NS
