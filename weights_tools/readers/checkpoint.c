/* checkpoint.c: the flat tensor list, and format detection by content. */
#include "weights_tools/readers/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"    /* ds_fail */
#include "base/file_map.h" /* ds_map_file */

int64_t ds_ckpt_tensor_numel(const ds_ckpt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

ds_status ds_ckpt_push(ds_ckpt *ck, char *name, ds_dtype dtype, int ndim,
                       const int64_t *shape, void *data, size_t nbytes) {
    if (ndim < 0 || ndim > DS_MAX_DIMS) {
        free(name);
        free(data);
        return ds_fail(DS_ERR_UNSUPPORTED, "tensor with %d dimensions (at most %d)", ndim,
                       DS_MAX_DIMS);
    }
    ds_ckpt_tensor *grown = realloc(ck->tensors, (ck->n_tensors + 1) * sizeof *grown);
    if (!grown) {
        free(name);
        free(data);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing tensors");
    }
    ck->tensors = grown;
    ds_ckpt_tensor *t = &ck->tensors[ck->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->data = t->owned = data;
    t->nbytes = nbytes;
    return DS_OK;
}

const ds_ckpt_tensor *ds_ckpt_find(const ds_ckpt *ck, const char *name) {
    for (size_t i = 0; i < ck->n_tensors; i++)
        if (strcmp(ck->tensors[i].name, name) == 0)
            return &ck->tensors[i];
    return NULL;
}

void ds_ckpt_free(ds_ckpt *ck) {
    if (!ck)
        return;
    for (size_t i = 0; i < ck->n_tensors; i++) {
        free(ck->tensors[i].name);
        free(ck->tensors[i].owned);
    }
    free(ck->tensors);
    if (ck->map)
        munmap(ck->map, ck->map_len);
    memset(ck, 0, sizeof *ck);
}

static int looks_like_safetensors(const uint8_t *d, size_t len) {
    if (len < 10)
        return 0;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | d[i];
    return hlen >= 2 && hlen <= len - 8 && d[8] == '{';
}

ds_status ds_ckpt_load_memory(const uint8_t *data, size_t len, const char *label, ds_ckpt *out) {
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ds_fail(DS_ERR_FORMAT, "%s: empty file", label);
    if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0)
        return ds_ckpt_load_torch_zip(data, len, label, out);
    if (len >= 4 && memcmp(data, "GGUF", 4) == 0)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: already a GGUF file, nothing to read as a checkpoint",
                       label);
    if (len >= 262 && memcmp(data + 257, "ustar", 5) == 0)
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: tar-format checkpoint (PyTorch < 0.4) is not supported; "
                       "re-save it with a newer PyTorch", label);
    /* safetensors first: its length prefix may begin with 0x80, like a pickle */
    if (looks_like_safetensors(data, len))
        return ds_ckpt_load_safetensors(data, len, label, out);
    /* the legacy format's first pickle: protocol 2+ (PROTO), or 0/1 (a LONG line) */
    if (len >= 2 && (data[0] == 0x80 || data[0] == 'L'))
        return ds_ckpt_load_torch_legacy(data, len, label, out);
    return ds_fail(DS_ERR_FORMAT,
                   "%s: not a PyTorch checkpoint (zip or legacy pickle) or a safetensors file",
                   label);
}

ds_status ds_ckpt_load(const char *path, ds_ckpt *out) {
    memset(out, 0, sizeof *out);
    void *map;
    size_t size;
    DS_TRY(ds_map_file(path, "not a checkpoint", true, &map, &size));
    ds_status s = ds_ckpt_load_memory(map, size, path, out);
    if (s != DS_OK) {
        munmap(map, size);
        return s;
    }
    out->map = map;
    out->map_len = size;
    return DS_OK;
}
