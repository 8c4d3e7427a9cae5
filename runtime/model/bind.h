/*
 * model/bind.h: binds the tensors of a GGUF model to the graph the
 * architecture description builds, checking metadata, names and shapes.
 */
#ifndef DS_MODEL_BIND_H
#define DS_MODEL_BIND_H

#include "model/arch.h"    /* ds_arch_info */
#include "graph/builder.h" /* ds_param_binder */
#include "gguf/gguf.h"    /* ds_gguf */

typedef struct ds_model_binder {
    ds_param_binder binder; /* pass to ds_arch_build */
    ds_gguf *gguf;
    const ds_arch_info *arch;
    float **f32;            /* per GGUF tensor: a float32 copy when stored in f16/bf16 */
    bool *bound;            /* per GGUF tensor: used by the graph */
    int64_t n_params;
} ds_model_binder;

/* Reads the architecture from the metadata, checks the metadata against it,
 * and binds every tensor once (a missing, mis-shaped or unexpected tensor is
 * an error naming it). */
ds_status ds_model_binder_init(ds_model_binder *b, ds_gguf *g, const ds_arch_info **arch_out);
void ds_model_binder_free(ds_model_binder *b);

#endif
