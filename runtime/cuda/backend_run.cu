/*
 * cuda/backend_run.cu: the runs of a prepared size: one at a time (the
 * captured graph, or the nodes one by one between events when profiled),
 * a node's value read back, and queued runs (submit, collect): each slot's
 * upload on one copy stream, the network on the compute stream, its
 * download on another, ordered by events.
 */
#include <string.h>

#include <vector>

#include "base/error.h"            /* DS_TRY */
#include "cuda/backend_internal.h" /* cuda_state, cuda_shape, queue_slot, CUDA_CHECK */
#include "cuda/dispatch.h"         /* node_exec, run_node */
#include "gpu/gpu_rt.h"            /* cuda_* */
#include "graph/planner.h"         /* ds_plan_value */

namespace DS_CUDA_NS {

float *device_value(const cuda_state *c, const cuda_shape *sh, int node) {
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

ds_status cu_run(void *state, void *prepared, const float *input, float *depth, double *node_seconds) {
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

ds_status grow_pair(void **dev, void **host, size_t *cap, size_t n, size_t size) {
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

ds_status queue_ready(cuda_state *c) {
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
ds_status cu_submit(void *state, void *prepared, int slot, const float *input) {
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

ds_status cu_collect(void *state, int slot, float *depth) {
    cuda_state *c = (cuda_state *)state;
    queue_slot &q = c->slots[slot];
    CUDA_CHECK(cuda_event_sync(q.downloaded));
    memcpy(depth, q.photo ? q.depth_host : q.out_host, q.out_n * sizeof(float));
    return DS_OK;
}

ds_status cu_read(void *state, void *prepared, int node, float *nhwc) {
    cuda_state *c = (cuda_state *)state;
    const cuda_shape *sh = (const cuda_shape *)prepared;
    const size_t n = (size_t)ds_shape_numel(sh->shape.graph->nodes[node].shape);
    return cuda_memcpy(nhwc, device_value(c, sh, node), n * sizeof(float), cudaMemcpyDeviceToHost);
}
} // namespace DS_CUDA_NS
