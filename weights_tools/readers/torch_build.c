/*
 * torch_build.c: from an unpickled checkpoint to a ds_ckpt. Every tensor is
 * checked before any storage is read; then each storage is read once and
 * all tensors viewing it are copied out, so peak memory is the output plus
 * one storage. A tensor that is its whole storage takes the reader's copy,
 * or points into the file when the reader has its bytes in place.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "weights_tools/readers/torch_common.h"

uint64_t ds_torch_output_limit(size_t file_len) {
    return (uint64_t)file_len * 4 + ((uint64_t)64 << 20);
}

typedef struct slot {
    size_t index; /* in the ds_ckpt */
    const ds_pk_tensor *tensor;
    size_t nbytes;
} slot;

static int by_storage(const void *a, const void *b) {
    const slot *x = a, *y = b;
    int c = strcmp(x->tensor->storage->u.storage.key, y->tensor->storage->u.storage.key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Tensors sharing a key must agree on what the record holds. */
static ds_status check_same_record(const char *label, const ds_pk_storage *a,
                                   const ds_pk_storage *b) {
    if (a->dtype == b->dtype && a->numel == b->numel)
        return DS_OK;
    char key[48];
    ds_pk_printable(key, sizeof key, a->key, strlen(a->key));
    return ds_fail(DS_ERR_FORMAT,
                   "%s: storage '%s' is declared both as %lld %s and as %lld %s elements", label,
                   key, (long long)a->numel, ds_dtype_name(a->dtype), (long long)b->numel,
                   ds_dtype_name(b->dtype));
}

static ds_status copy_group(ds_ckpt *out, const slot *group, size_t n, ds_torch_read_fn read,
                            void *user) {
    const uint8_t *bytes = NULL;
    void *owned = NULL;
    DS_TRY(read(user, &group[0].tensor->storage->u.storage, &bytes, &owned));
    ds_status s = DS_OK;
    ds_ckpt_tensor *only = &out->tensors[group[0].index];
    /* the usual case, one tensor that is its whole storage: no copy */
    if (n == 1 && only->nbytes && ds_torch_view_is_storage(group[0].tensor)) {
        if (owned == bytes) {
            only->data = only->owned = owned;
            return DS_OK;
        }
        if (!owned) {
            only->data = bytes; /* in the file's own bytes */
            return DS_OK;
        }
    }
    for (size_t i = 0; i < n && s == DS_OK; i++) {
        ds_ckpt_tensor *t = &out->tensors[group[i].index];
        if (t->nbytes == 0)
            continue;
        t->data = t->owned = malloc(t->nbytes);
        if (!t->owned)
            s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a tensor of %zu bytes",
                        t->nbytes);
        else
            ds_torch_copy_view(group[i].tensor, bytes, t->owned);
    }
    free(owned);
    return s;
}

static ds_status copy_all(const char *label, ds_ckpt *out, slot *slots, size_t n,
                          ds_torch_read_fn read, void *user) {
    qsort(slots, n, sizeof *slots, by_storage);
    size_t start = 0;
    while (start < n) {
        const ds_pk_storage *first = &slots[start].tensor->storage->u.storage;
        size_t end = start + 1;
        while (end < n && strcmp(slots[end].tensor->storage->u.storage.key, first->key) == 0) {
            DS_TRY(check_same_record(label, first, &slots[end].tensor->storage->u.storage));
            end++;
        }
        DS_TRY(copy_group(out, slots + start, end - start, read, user));
        start = end;
    }
    return DS_OK;
}

static ds_status build(const char *label, ds_torch_entry *entries, size_t n, uint64_t max_bytes,
                       ds_torch_read_fn read, void *user, ds_ckpt *out, slot *slots) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        slots[i].index = i;
        slots[i].tensor = entries[i].tensor;
        DS_TRY(ds_torch_view_nbytes(slots[i].tensor, label, entries[i].name, &slots[i].nbytes));
        if (slots[i].nbytes > max_bytes - total)
            return ds_fail(DS_ERR_FORMAT,
                           "%s: tensors would take more than %llu MiB (limit for this file size)",
                           label, (unsigned long long)(max_bytes >> 20));
        total += slots[i].nbytes;
    }
    for (size_t i = 0; i < n; i++) {
        const ds_pk_tensor *t = slots[i].tensor;
        char *name = entries[i].name;
        entries[i].name = NULL; /* owned by the checkpoint from here */
        DS_TRY(ds_ckpt_push(out, name, t->storage->u.storage.dtype, t->ndim, t->size, NULL,
                            slots[i].nbytes));
    }
    return copy_all(label, out, slots, n, read, user);
}

ds_status ds_torch_build(const ds_pk_value *root, const char *label, uint64_t max_bytes,
                         ds_torch_read_fn read, void *user, ds_ckpt *out) {
    ds_torch_entry *entries;
    size_t n;
    DS_TRY(ds_torch_collect(root, label, &entries, &n));
    slot *slots = malloc(n * sizeof *slots);
    ds_status s = slots ? build(label, entries, n, max_bytes, read, user, out, slots)
                        : ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", label);
    free(slots);
    ds_torch_entries_free(entries, n);
    if (s != DS_OK)
        ds_ckpt_free(out);
    return s;
}
