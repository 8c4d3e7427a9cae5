/*
 * backend.h: what the engine asks of a backend (CPU, CUDA, CUDA emulated).
 *
 * The engine (engine/engine.c) is the executor: it opens the model, builds
 * the layer graph for an input size and plans its memory, then hands both
 * to the backend, which runs every node. A backend knows the graph and the
 * plan only through this table; the engine knows nothing of any backend
 * but its table (ggml's backend interface, in small).
 *
 * The engine keeps a few input sizes prepared at once (a folder of portrait
 * and landscape photos does not rebuild at every change of size): each
 * prepared size is a handle the backend gives out (`prepared`), and every
 * call that runs the network names one.
 *
 * Values are NHWC float32 (graph.h); the plan's offsets are in floats from
 * the start of the backend's activation arena, wherever it lives. One arena
 * serves every prepared size (runs never overlap on it), grown to the
 * largest.
 */
#ifndef DS_BACKEND_H
#define DS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h"   /* ds_status, ds_precision, ds_engine_stats, ds_log_fn */
#include "graph/graph.h"   /* ds_graph, ds_node */
#include "graph/planner.h" /* ds_plan */

#ifdef __cplusplus
extern "C" {
#endif

/* What a backend is created with: what it needs, no more. */
typedef struct ds_backend_config {
    int n_threads;          /* CPU threads */
    int device_index;       /* CUDA device ordinal */
    bool reference;         /* the plain reference ops (CPU) */
    bool autotune;          /* CUDA: time the libraries' algorithms once per shape */
    ds_precision precision; /* CUDA: arithmetic of convolutions and GEMMs */
    float mean[3], std[3];  /* the photo path's normalization: (x / 255 - mean) / std */
    ds_depth_resize depth_resize; /* the photo path's resize of the depth map back to the photo */
    /* Weights live in the mapped model file. A backend that has copied or
     * packed one and will not read it again hands it back, so that its
     * pages may leave memory. */
    void (*release_weights)(void *ctx, const void *data, size_t bytes);
    void *release_ctx;
} ds_backend_config;

/* One planned input size, owned by the engine while it is prepared. */
typedef struct ds_backend_shape {
    const ds_graph *graph;
    const ds_plan *plan;
    int h, w;        /* network input size */
    bool keep_marks; /* runs will read marked values afterwards */
} ds_backend_shape;

/* A mesh in the backend's device memory (photo->mesh_rgb8), owned by the backend. */
typedef struct ds_backend_mesh {
    const float *vertices;   /* (n_vertices, 8) x y z nx ny nz u v */
    const uint32_t *indices; /* (n_triangles, 3) */
    int64_t n_vertices, n_triangles;
    int device;   /* CUDA device ordinal */
    void *stream; /* the cudaStream_t they were written on, synchronized */
} ds_backend_mesh;

typedef struct ds_mesh_grid ds_mesh_grid; /* mesh/mesh.h: passed through by pointer */

/* The photo path on the backend's device (resize in, network, resize back,
 * and the mesh where the depth map lies), for backends with a device. The
 * photo is RGB8, `stride` bytes per row; `prepared` is the network size
 * the engine picked for it. */
typedef struct ds_backend_photo {
    /* The photo's depth map at its size, in host memory. */
    ds_status (*solve_rgb8)(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                            size_t stride, float *depth);
    /* solve_rgb8, then the mesh of `grid` (ds_mesh_plan at the photo's size)
     * built from the depth map where it lies, into device buffers the
     * backend owns: grown to the largest mesh, valid until the next call.
     * depth: NULL, or the depth map downloaded too. */
    ds_status (*mesh_rgb8)(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                           size_t stride, const ds_mesh_grid *grid, float *depth, ds_backend_mesh *out);
    /* After mesh_rgb8: its vertices and indices copied to host memory. */
    ds_status (*read_mesh)(void *state, float *vertices, uint32_t *indices);
    /* solve_rgb8, queued (as submit/collect): submit copies the photo into
     * queue slot `slot` and issues its upload, resize, network, resize back
     * and download without waiting; collect waits and writes the depth map
     * at the photo's size. */
    ds_status (*submit_rgb8)(void *state, void *prepared, int slot, const uint8_t *rgb, int width, int height,
                             size_t stride);
    ds_status (*collect_rgb8)(void *state, int slot, float *depth);
} ds_backend_photo;

typedef struct ds_backend_ops {
    const char *name; /* "cpu", "cuda", "cuda-emu" */
    /* Opens the device. A backend that cannot run here (no device, no
     * driver, not built) fails with DS_ERR_DEVICE or DS_ERR_UNSUPPORTED and a
     * one-line reason. `describe` receives what the log line names. */
    ds_status (*create)(const ds_backend_config *cfg, void **state, char *describe, size_t describe_len);
    void (*free)(void *state); /* NULL-safe */
    /* Whether the backend runs this node (its op and attributes); the
     * engine asks for every node before it prepares a size. */
    bool (*supports_op)(void *state, const ds_node *node);
    /* What one input size needs (uploads of weights not yet on the device,
     * packed weights, the arena grown, library plans, a captured graph),
     * as a handle valid until release. Waits for queued runs if the arena
     * must move. */
    ds_status (*prepare)(void *state, const ds_backend_shape *shape, void **prepared);
    /* Frees a prepared size (after the queued runs that use it). NULL-safe. */
    void (*release)(void *state, void *prepared);
    /* input (3, H, W) NCHW on the host -> depth (H, W) on the host.
     * node_seconds: NULL, or per node the time it took (a run that times
     * its nodes may be slower than one that does not). */
    ds_status (*run)(void *state, void *prepared, const float *input_nchw, float *depth, double *node_seconds);
    /* After run: copies value `node` (its node's shape, NHWC) to the host. */
    ds_status (*read)(void *state, void *prepared, int node, float *nhwc);
    /* run, queued (NULL: the engine runs at submit): submit copies the input
     * into queue slot `slot` (< DS_ENGINE_QUEUE_DEPTH) and issues upload,
     * network and download without waiting; collect waits for the slot's
     * run and copies its depth out. The engine submits to a slot only once
     * its previous run was collected. */
    ds_status (*submit)(void *state, void *prepared, int slot, const float *input_nchw);
    ds_status (*collect)(void *state, int slot, float *depth);
    /* What the backend holds on its device and replays per run (NULL: none). */
    void (*stats)(void *state, ds_engine_stats *out);
    /* The photo path on the device (NULL: the engine resizes on the CPU). */
    const ds_backend_photo *photo;
} ds_backend_ops;

extern const ds_backend_ops ds_backend_cpu;
/* The CUDA backend built by nvcc; without nvcc its create says "built
 * without CUDA". */
extern const ds_backend_ops ds_backend_cuda;
/* The same source built by g++ against the CPU emulator. */
extern const ds_backend_ops ds_backend_cuda_emu;

#ifdef __cplusplus
}
#endif

#endif
