/* engine_internal.h: what the engine's other files (pipeline.c, mesh.c,
 * queue.c) need from engine.c. */
#ifndef DS_ENGINE_INTERNAL_H
#define DS_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h"     /* ds_engine */
#include "graph/backend.h" /* ds_backend_ops, ds_backend_photo */

/* Network input/output buffers kept by the engine, grown when a bigger
 * image comes (so a batch of same-sized photos allocates once). */
ds_status ds_engine_pipeline_buffers(ds_engine *e, size_t n_in, size_t n_out, float **in,
                                     float **out);
int ds_engine_threads(const ds_engine *e);
/* The network prepared for an input size as ds_engine_run prepares it
 * (kept among the engine's prepared sizes), and the backend's handle of it. */
ds_status ds_engine_prepare_network(ds_engine *e, int h, int w, void **prepared);
/* The backend and its state. */
const ds_backend_ops *ds_engine_backend(const ds_engine *e, void **state);
bool ds_engine_profiling(const ds_engine *e);
/* The queue's state, kept in the engine and freed with it. */
typedef struct ds_run_queue ds_run_queue;
ds_run_queue **ds_engine_run_queue(ds_engine *e);
void ds_run_queue_free(ds_run_queue *q); /* NULL-safe */

/* What the last network run gave beside the depth (the graph's output
 * marks, ds_graph_mark.output), at the network's size; valid until the next
 * run. The sky step has already been applied to that run's depth. */
typedef struct ds_net_extras {
    int width, height;       /* the network input's */
    const float *confidence; /* (height, width), or NULL */
    const float *sky;        /* (height, width), or NULL */
    int has_pose;
    float pose_enc[9];       /* t, quaternion xyzw, fov_h, fov_w (radians) */
} ds_net_extras;
const ds_net_extras *ds_engine_net_extras(const ds_engine *e);

/* engine/extras.c: Depth Anything 3's photo path (network input nw x nh),
 * its outputs beside the depth, and the metric scaling. */
void ds_extras_clear(ds_extras *x); /* keeps x->confidence, zeroes the rest */
ds_status ds_da3_solve(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                       const ds_solve_params *params, int nw, int nh, float *depth, ds_extras *extras);

#endif
