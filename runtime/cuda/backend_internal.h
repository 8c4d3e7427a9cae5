/*
 * cuda/backend_internal.h: what the CUDA backend's files (runtime/cuda/backend*.cu)
 * share: the backend's state, a prepared input size, the queue's slots, and
 * the entries of the table that backend.cu assembles. Compiled twice like
 * the backend: by nvcc (ds_cuda) and by g++ against the emulator (ds_cuda_emu).
 */
#ifndef DS_CUDA_BACKEND_INTERNAL_H
#define DS_CUDA_BACKEND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <unordered_map>
#include <vector>

#include "base/error.h"               /* ds_fail_context */
#include "cuda/dispatch.h"            /* node_exec, node_weights */
#include "gpu/gpu_rt.h"               /* cudaStream_t, cudaEvent_t, cudaGraphExec_t */
#include "graph/backend.h"            /* ds_backend_shape, ds_backend_mesh, DS_ENGINE_QUEUE_DEPTH */
#include "kernels/mesh/mesh_host.cuh" /* mesh_buffers */

/* A runtime call (gpu_rt.h names it and the CUDA error) with the file and line. */
#define CUDA_CHECK(call)                                                                 \
    do {                                                                                 \
        ds_status cuda_check_s_ = (call);                                                \
        if (cuda_check_s_ != DS_OK)                                                      \
            return ds_fail_context(cuda_check_s_, "%s:%d", __FILE__, __LINE__);         \
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

/* backend.cu */
/* Waits for every stream: the queued runs too. */
ds_status wait_all(cuda_state *c);

/* backend_prepare.cu */
/* What run_node reads for sh's nodes, against today's buffers. */
node_exec exec_of(const cuda_state *c, const cuda_shape *sh);
/* The forward pass of sh, captured again if the buffers it used moved. */
ds_status forward_of(cuda_state *c, cuda_shape *sh, cudaGraphExec_t *out);
ds_status cu_prepare(void *state, const ds_backend_shape *shape, void **prepared);
void cu_release(void *state, void *prepared);

/* backend_run.cu */
/* Node `node`'s value in the arena (device). */
float *device_value(const cuda_state *c, const cuda_shape *sh, int node);
/* Grows a device buffer and its page-locked twin to n elements of `size`
 * bytes, contents dropped; *cap counts elements. */
ds_status grow_pair(void **dev, void **host, size_t *cap, size_t n, size_t size);
/* The copy streams and the slots' events, at the first submit. */
ds_status queue_ready(cuda_state *c);
ds_status cu_run(void *state, void *prepared, const float *input, float *depth, double *node_seconds);
ds_status cu_read(void *state, void *prepared, int node, float *nhwc);
ds_status cu_submit(void *state, void *prepared, int slot, const float *input);
ds_status cu_collect(void *state, int slot, float *depth);

/* backend_photo.cu */
ds_status cu_solve_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height, size_t stride,
                        float *depth);
ds_status cu_submit_rgb8(void *state, void *prepared, int slot, const uint8_t *rgb, int width, int height,
                         size_t stride);
ds_status cu_mesh_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height, size_t stride,
                       const ds_mesh_grid *grid, float *depth, ds_backend_mesh *out);
ds_status cu_read_mesh(void *state, float *vertices, uint32_t *indices);

} // namespace DS_CUDA_NS

#endif
