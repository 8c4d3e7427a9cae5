/*
 * cuda/backend.cu: the CUDA backend (backend.h). Each of its files, two builds:
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
 * The files: backend.cu the state and the table (create, free, stats),
 * backend_prepare.cu an input size's weights, buffers and captured forward
 * pass, backend_run.cu the runs (one at a time, profiled, queued),
 * backend_photo.cu the photo path and its mesh; what they share in
 * cuda/backend_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include <new>

#include "base/error.h"            /* ds_fail, ds_clear_error */
#include "cuda/backend_internal.h" /* cuda_state, queue_slot, CUDA_CHECK, the table's entries */
#include "cuda/dispatch.h"         /* node_supported */
#include "gpu/gpu_libs.h"          /* gpu_libs_create */
#include "gpu/gpu_rt.h"            /* cuda_* */
#include "graph/backend.h"         /* ds_backend_ops, ds_backend_photo */

/* The table this build defines (backend.h declares both). */
#if defined(__CUDACC__)
#define DS_BACKEND_TABLE ds_backend_cuda
#define DS_BACKEND_NAME "cuda"
#else
#define DS_BACKEND_TABLE ds_backend_cuda_emu
#define DS_BACKEND_NAME "cuda-emu"
#endif

namespace DS_CUDA_NS {

static void free_photo_buffers(cuda_state *c) {
    cuda_free(c->rgb_dev);
    cuda_free_host(c->rgb_host);
    cuda_free(c->depth_dev);
    cuda_free_host(c->depth_host);
    c->rgb_dev = c->rgb_host = NULL;
    c->depth_dev = c->depth_host = NULL;
    c->rgb_cap = c->depth_cap = 0;
}

ds_status wait_all(cuda_state *c) {
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
