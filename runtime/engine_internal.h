/* engine_internal.h: what the pipeline code (pipeline.c) needs from the engine. */
#ifndef DS_ENGINE_INTERNAL_H
#define DS_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_engine */

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

#endif
