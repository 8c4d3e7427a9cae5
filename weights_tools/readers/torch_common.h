/*
 * torch_common.h: what the PyTorch zip and legacy readers share once their
 * pickle is read: choosing the state_dict, naming its tensors, and copying
 * each strided tensor view out of its storage.
 */
#ifndef DS_TORCH_COMMON_H
#define DS_TORCH_COMMON_H

#include "weights_tools/readers/checkpoint.h"
#include "weights_tools/readers/pickle.h"

/* A tensor found in the state_dict, with its dotted name (owned). */
typedef struct ds_torch_entry {
    char *name;
    const ds_pk_tensor *tensor;
} ds_torch_entry;

/* The state_dict inside `root` (itself, or its "model" / "state_dict" entry)
 * flattened into named tensors, in pickle order; non-tensor leaves skipped.
 * Fails on duplicate names and when there is no tensor at all. */
ds_status ds_torch_collect(const ds_pk_value *root, const char *label, ds_torch_entry **entries,
                           size_t *n);
void ds_torch_entries_free(ds_torch_entry *entries, size_t n);

/* Checks a view against its storage (sizes, strides, offset, bounds, all
 * overflow-checked) and gives its byte size as a contiguous tensor. */
ds_status ds_torch_view_nbytes(const ds_pk_tensor *t, const char *label, const char *name,
                               size_t *nbytes);
/* Copies a checked view out of its storage's bytes (the whole stored record)
 * into `dst`, contiguous row-major. */
void ds_torch_copy_view(const ds_pk_tensor *t, const uint8_t *storage_bytes, void *dst);
/* True when the view is its whole storage, in order: the storage's bytes are
 * the tensor's, and a reader can hand them over instead of copying. */
int ds_torch_view_is_storage(const ds_pk_tensor *t);

/* The bytes of one stored record, exactly st->numel elements of st->dtype.
 * *owned, if set, is freed by the caller once the tensors are copied. */
typedef ds_status (*ds_torch_read_fn)(void *user, const ds_pk_storage *st, const uint8_t **bytes,
                                      void **owned);

/* Most bytes the tensors of a file of `file_len` bytes may expand to
 * (stride-0 views can be much larger than their storage). */
uint64_t ds_torch_output_limit(size_t file_len);

/* Collects, checks and copies every tensor of the state_dict in `root` into
 * `out` (format is set by the caller). Each storage is read once. */
ds_status ds_torch_build(const ds_pk_value *root, const char *label, uint64_t max_bytes,
                         ds_torch_read_fn read, void *user, ds_ckpt *out);

#endif
