/*
 * torch_tensor.c: a tensor view (offset, sizes, strides) of a storage:
 * checked against the storage with overflow-safe arithmetic, then copied
 * out as a contiguous row-major array.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "weights_tools/readers/torch_common.h"

static ds_status view_fail(const char *label, const char *name, const char *fmt, ...)
    DS_PRINTF(3, 4);

static ds_status view_fail(const char *label, const char *name, const char *fmt, ...) {
    char shown[120], what[200];
    ds_pk_printable(shown, sizeof shown, name, strlen(name));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s' %s", label, shown, what);
}

ds_status ds_torch_view_nbytes(const ds_pk_tensor *t, const char *label, const char *name,
                               size_t *nbytes) {
    const ds_pk_storage *st = &t->storage->u.storage;
    if (t->offset < 0)
        return view_fail(label, name, "has a negative storage offset (%lld)",
                         (long long)t->offset);
    int64_t numel = 1, last = t->offset;
    for (int i = 0; i < t->ndim; i++) {
        if (t->size[i] < 0 || t->stride[i] < 0)
            return view_fail(label, name, "has a negative size or stride in dimension %d", i);
        if (__builtin_mul_overflow(numel, t->size[i], &numel))
            return view_fail(label, name, "has more than 2^63 elements");
    }
    *nbytes = 0;
    if (numel == 0)
        return DS_OK;
    for (int i = 0; i < t->ndim; i++) {
        int64_t reach;
        if (__builtin_mul_overflow(t->size[i] - 1, t->stride[i], &reach) ||
            __builtin_add_overflow(last, reach, &last))
            return view_fail(label, name, "reaches beyond element 2^63 of its storage");
    }
    if (last >= st->view_numel) {
        char key[48];
        ds_pk_printable(key, sizeof key, st->key, strlen(st->key));
        return view_fail(label, name, "needs element %lld of storage '%s', which has %lld",
                         (long long)last, key, (long long)st->view_numel);
    }
    size_t elem = ds_dtype_size(st->dtype);
    if ((uint64_t)numel > SIZE_MAX / elem)
        return view_fail(label, name, "has too many elements (%lld)", (long long)numel);
    *nbytes = (size_t)numel * elem;
    return DS_OK;
}

static int is_contiguous(const ds_pk_tensor *t) {
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->size[i] != 1 && t->stride[i] != expect)
            return 0;
        expect *= t->size[i];
    }
    return 1;
}

int ds_torch_view_is_storage(const ds_pk_tensor *t) {
    const ds_pk_storage *st = &t->storage->u.storage;
    int64_t numel = 1;
    for (int i = 0; i < t->ndim; i++)
        numel *= t->size[i];
    return st->view_offset == 0 && t->offset == 0 && numel == st->numel && is_contiguous(t);
}

void ds_torch_copy_view(const ds_pk_tensor *t, const uint8_t *storage_bytes, void *dst) {
    const ds_pk_storage *st = &t->storage->u.storage;
    size_t elem = ds_dtype_size(st->dtype);
    const uint8_t *base = storage_bytes + (size_t)(st->view_offset + t->offset) * elem;
    uint8_t *out = dst;
    int64_t numel = 1;
    for (int i = 0; i < t->ndim; i++)
        numel *= t->size[i];
    if (numel == 0)
        return;
    if (is_contiguous(t)) {
        memcpy(out, base, (size_t)numel * elem);
        return;
    }
    /* odometer over every dimension but the last, which is copied as a row */
    int inner = t->ndim - 1;
    int64_t idx[DS_MAX_DIMS] = {0};
    int64_t row = t->size[inner], step = t->stride[inner];
    for (;;) {
        int64_t at = 0;
        for (int i = 0; i < inner; i++)
            at += idx[i] * t->stride[i];
        const uint8_t *src = base + (size_t)at * elem;
        if (step == 1) {
            memcpy(out, src, (size_t)row * elem);
            out += (size_t)row * elem;
        } else {
            for (int64_t k = 0; k < row; k++, out += elem)
                memcpy(out, src + (size_t)(k * step) * elem, elem);
        }
        int d = inner - 1;
        while (d >= 0 && ++idx[d] == t->size[d])
            idx[d--] = 0;
        if (d < 0)
            return;
    }
}
