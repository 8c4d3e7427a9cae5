/* engine_internal.h: what the pipeline code (pipeline.c) needs from the engine. */
#ifndef DS_ENGINE_INTERNAL_H
#define DS_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"     /* ds_backend_mesh */
#include "depthsolve.h" /* ds_engine */
#include "mesh.h"        /* ds_mesh_grid */

/* Network input/output buffers kept by the engine, grown when a bigger
 * image comes (so a batch of same-sized photos allocates once). */
ds_status ds_engine_pipeline_buffers(ds_engine *e, size_t n_in, size_t n_out, float **in,
                                     float **out);
int ds_engine_threads(const ds_engine *e);
/* True when the engine's backend runs the whole photo path itself (the
 * CUDA backends: resizes on the device, one upload and one download). */
bool ds_engine_solves_rgb8(const ds_engine *e);
/* That path, for a network size from ds_engine_input_size. */
ds_status ds_engine_solve_on_backend(ds_engine *e, const uint8_t *rgb, int width, int height,
                                     size_t stride, int net_w, int net_h, float *depth);
/* True when the engine's backend also meshes the depth map where it lies
 * (the CUDA backends: on the device). */
bool ds_engine_meshes_rgb8(const ds_engine *e);
/* That path (backend.h, mesh_rgb8), and its mesh read back to the host. */
ds_status ds_engine_mesh_on_backend(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                                    int net_w, int net_h, const ds_mesh_grid *grid, float *depth,
                                    ds_backend_mesh *out);
ds_status ds_engine_read_mesh(ds_engine *e, float *vertices, uint32_t *indices);

/* For engine_queue.c (ds_engine_submit, ds_engine_collect): the network
 * prepared for an input size as ds_engine_run prepares it; the backend. */
ds_status ds_engine_prepare_network(ds_engine *e, int h, int w);
const ds_backend_ops *ds_engine_backend(const ds_engine *e, void **state);
bool ds_engine_profiling(const ds_engine *e);
/* The queue's state, kept in the engine and freed with it. */
typedef struct ds_run_queue ds_run_queue;
ds_run_queue **ds_engine_run_queue(ds_engine *e);
void ds_run_queue_free(ds_run_queue *q); /* NULL-safe */

#endif
