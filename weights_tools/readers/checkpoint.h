/*
 * checkpoint.h: a checkpoint read into memory as a flat list of named tensors.
 *
 * Every reader (PyTorch zip, PyTorch legacy, safetensors) produces this same
 * structure. Names are state_dict keys; a checkpoint wrapped as
 * {"model": state_dict, "optimizer": ...} (or {"state_dict": ...}) yields the
 * inner state_dict's keys. Nested containers below that are flattened with
 * dotted paths ("a.b.0"), as PyTorch names modules.
 *
 * A tensor that is a whole stored record is not copied: its data points into
 * the file's bytes (the checkpoint keeps the file mapped; the caller of
 * ds_ckpt_load_memory keeps its buffer alive). Such data is where the file
 * put it, which need not be aligned for its type: read it with memcpy.
 */
#ifndef DS_CHECKPOINT_H
#define DS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */
#include "base/dtype.h"    /* ds_dtype, DS_MAX_DIMS */

typedef struct ds_ckpt_tensor {
    char *name;                  /* state_dict key, e.g. "pretrained.layer1.0.weight" */
    ds_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    int64_t shape[DS_MAX_DIMS];  /* PyTorch order, outermost first */
    const void *data;            /* contiguous row-major bytes, maybe unaligned; NULL if nbytes == 0 */
    void *owned;                 /* data when it is a copy (freed with the checkpoint), else NULL */
    size_t nbytes;               /* numel * ds_dtype_size(dtype) */
} ds_ckpt_tensor;

typedef struct ds_ckpt {
    ds_ckpt_tensor *tensors;
    size_t n_tensors;
    const char *format; /* "pytorch-zip", "pytorch-legacy", "safetensors" (static string) */
    void *map;          /* the file ds_ckpt_load mapped, which tensors may point into */
    size_t map_len;
} ds_ckpt;

/* Reads any supported format, detected from the file's content (not its name). */
ds_status ds_ckpt_load(const char *path, ds_ckpt *out);
/* The same from a buffer; `label` names the source in error messages.
 * Tensors may point into `data`: keep it alive as long as `out`. */
ds_status ds_ckpt_load_memory(const uint8_t *data, size_t len, const char *label, ds_ckpt *out);

/* Format-specific entry points (also used by the fuzz targets). */
ds_status ds_ckpt_load_torch_zip(const uint8_t *data, size_t len, const char *label, ds_ckpt *out);
ds_status ds_ckpt_load_torch_legacy(const uint8_t *data, size_t len, const char *label, ds_ckpt *out);
ds_status ds_ckpt_load_safetensors(const uint8_t *data, size_t len, const char *label, ds_ckpt *out);

const ds_ckpt_tensor *ds_ckpt_find(const ds_ckpt *ck, const char *name);
int64_t ds_ckpt_tensor_numel(const ds_ckpt_tensor *t);
void ds_ckpt_free(ds_ckpt *ck); /* NULL-safe; leaves *ck zeroed */

/* Appends a tensor taking ownership of `name` and `data` (used by readers). */
ds_status ds_ckpt_push(ds_ckpt *ck, char *name, ds_dtype dtype, int ndim,
                       const int64_t *shape, void *data, size_t nbytes);

#endif
