/*
 * backend.h: what the engine asks of a backend (CPU, CUDA, CUDA emulated).
 *
 * The engine (engine.c) is the executor: it opens the model, builds the
 * layer graph for an input size and plans its memory, then hands both to
 * the backend, which runs every node. A backend knows the graph and the
 * plan only through this table; the engine knows nothing of any backend
 * but its table (ggml's backend interface, in small).
 *
 * Values are NHWC float32 (graph.h); the plan's offsets are in floats from
 * the start of the backend's one activation arena, wherever it lives.
 */
#ifndef DS_BACKEND_H
#define DS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status, ds_engine_params */
#include "graph.h"      /* ds_graph */
#include "mesh.h"       /* ds_mesh_grid */
#include "planner.h"    /* ds_plan */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_gguf ds_gguf;

/* What a backend is created with. */
typedef struct ds_backend_config {
    const ds_engine_params *params; /* device_index, reference, log */
    ds_gguf *gguf;                  /* the mapped model (weights live in it) */
    int n_threads;                  /* CPU threads */
} ds_backend_config;

/* One planned input size, owned by the engine while the backend uses it. */
typedef struct ds_backend_shape {
    const ds_graph *graph;
    const ds_plan *plan;
    int h, w;        /* network input size */
    bool keep_marks; /* the run will read marked values afterwards */
} ds_backend_shape;

/* A mesh in the backend's device memory (mesh_rgb8), owned by the backend. */
typedef struct ds_backend_mesh {
    const float *vertices;   /* (n_vertices, 8) x y z nx ny nz u v */
    const uint32_t *indices; /* (n_triangles, 3) */
    int64_t n_vertices, n_triangles;
    int device;   /* CUDA device ordinal */
    void *stream; /* the cudaStream_t they were written on, synchronized */
} ds_backend_mesh;

typedef struct ds_backend_ops {
    const char *name; /* "cpu", "cuda", "cuda-emu" */
    /* Opens the device. A backend that cannot run here (no device, no
     * driver, not built) fails with DS_ERR_DEVICE or DS_ERR_UNSUPPORTED and a
     * one-line reason. `describe` receives what the log line names. */
    ds_status (*create)(const ds_backend_config *cfg, void **state, char *describe,
                        size_t describe_len);
    void (*free)(void *state); /* NULL-safe */
    /* Allocates what one input size needs (arena, scratch, uploads of
     * weights not yet on the device). Replaces the previous shape; the
     * shape stays valid until the next prepare or free. */
    ds_status (*prepare)(void *state, const ds_backend_shape *shape);
    /* input (3, H, W) NCHW on the host -> depth (H, W) on the host.
     * node_seconds: NULL, or per node the time it took (a run that times
     * its nodes may be slower than one that does not). */
    ds_status (*run)(void *state, const float *input_nchw, float *depth, double *node_seconds);
    /* After run: copies value `node` (its node's shape, NHWC) to the host. */
    ds_status (*read_value)(void *state, int node, float *nhwc);
    /* Photo to depth at the photo's size in one go, for backends that do
     * the resizes themselves (NULL: the engine does them on the CPU).
     * The shape prepared is the network size (net_w x net_h). */
    ds_status (*solve_rgb8)(void *state, const uint8_t *rgb, int width, int height, size_t stride,
                            const float mean[3], const float std[3], float *depth);
    /* solve_rgb8, then the mesh of `grid` (from ds_mesh_plan at the photo's
     * size) built from the depth map where it lies, into device buffers the
     * backend owns: grown to the largest mesh, valid until the next call.
     * depth: NULL, or the depth map downloaded too. NULL op (the CPU): the
     * engine meshes the host depth map with ds_mesh_build. */
    ds_status (*mesh_rgb8)(void *state, const uint8_t *rgb, int width, int height, size_t stride,
                           const float mean[3], const float std[3], const ds_mesh_grid *grid,
                           float *depth, ds_backend_mesh *out);
    /* After mesh_rgb8: its vertices and indices copied to host memory (the
     * sizes its out gave). */
    ds_status (*read_mesh)(void *state, float *vertices, uint32_t *indices);
    /* What the backend holds on its device and replays per run (NULL: none). */
    void (*stats)(void *state, ds_engine_stats *out);
    /* run, queued (NULL: the engine runs at submit): submit copies the input
     * into queue slot `slot` (< DS_ENGINE_QUEUE_DEPTH) and issues upload,
     * network and download without waiting; collect waits for the slot's
     * run and copies its depth out. The engine submits to a slot only once
     * its previous run was collected, and prepares a new shape only after
     * every submitted run finished (prepare waits for them). */
    ds_status (*submit)(void *state, int slot, const float *input_nchw);
    ds_status (*collect)(void *state, int slot, float *depth);
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
