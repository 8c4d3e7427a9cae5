/* engine_internal.h: what the pipeline code (pipeline.c) needs from the engine. */
#ifndef DS_ENGINE_INTERNAL_H
#define DS_ENGINE_INTERNAL_H

#include <stddef.h>

#include "depthsolve.h" /* ds_engine */

/* Network input/output buffers kept by the engine, grown when a bigger
 * image comes (so a batch of same-sized photos allocates once). */
ds_status ds_engine_pipeline_buffers(ds_engine *e, size_t n_in, size_t n_out, float **in,
                                     float **out);
int ds_engine_threads(const ds_engine *e);

#endif
