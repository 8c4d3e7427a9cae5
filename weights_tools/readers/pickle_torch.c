/*
 * pickle_torch.c: what torch.load's persistent_load and _rebuild_* functions
 * mean, as data: a storage reference and a strided tensor view of it.
 * Bounds of a view against its storage are checked where the tensor gets
 * its name (torch_state_dict.c); here only the shapes of the arguments.
 */
#include <stdio.h>
#include <string.h>

#include "weights_tools/readers/pickle_internal.h"

static int is_text(const ds_pk_value *v) {
    return v->kind == DS_PK_STR || v->kind == DS_PK_BYTES;
}

/* Storage keys are str (decimal in practice); an int key is spelled out. */
static ds_status key_string(ds_pickle *pk, const ds_pk_value *v, const char **out) {
    if (v->kind == DS_PK_INT) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
        ds_pk_value *s;
        DS_TRY(pk_new_blob(pk, DS_PK_STR, buf, (size_t)n, &s));
        *out = s->u.s.ptr;
        return DS_OK;
    }
    if (v->kind != DS_PK_STR || v->u.s.len == 0 || strlen(v->u.s.ptr) != v->u.s.len)
        return pk_fail(pk, DS_ERR_FORMAT, "storage key is a %s, not a non-empty str",
                       ds_pk_kind_name(v->kind));
    *out = v->u.s.ptr;
    return DS_OK;
}

static ds_status count(ds_pickle *pk, const ds_pk_value *v, const char *what, int64_t *out) {
    if (v->kind != DS_PK_INT || v->u.i < 0)
        return pk_fail(pk, DS_ERR_FORMAT, "%s is not a non-negative int", what);
    *out = v->u.i;
    return DS_OK;
}

/* ('storage', storage_type, key, location, numel[, (view_key, offset, view_numel)]) */
ds_status pk_persistent_load(ds_pickle *pk, const ds_pk_value *pid, ds_pk_value **out) {
    if (pid->kind != DS_PK_TUPLE || pid->u.seq.n == 0 || !is_text(pid->u.seq.items[0]))
        return pk_fail(pk, DS_ERR_FORMAT, "persistent id is a %s, not a ('storage', ...) tuple",
                       ds_pk_kind_name(pid->kind));
    ds_pk_value *const *f = pid->u.seq.items;
    size_t n = pid->u.seq.n;
    if (strcmp(f[0]->u.s.ptr, "storage") != 0 || f[0]->u.s.len != 7) {
        char type[48];
        ds_pk_printable(type, sizeof type, f[0]->u.s.ptr, f[0]->u.s.len);
        return pk_fail(pk, DS_ERR_FORMAT,
                       "persistent id of type '%s' (only 'storage' is supported)", type);
    }
    if (n != 5 && n != 6)
        return pk_fail(pk, DS_ERR_FORMAT, "storage persistent id has %zu fields, not 5 or 6", n);
    if (f[1]->kind != DS_PK_GLOBAL || f[1]->u.global.id != PK_G_STORAGE_TYPE)
        return pk_fail(pk, DS_ERR_FORMAT, "storage persistent id names a %s, not a storage type",
                       f[1]->kind == DS_PK_GLOBAL ? f[1]->u.global.name
                                                  : ds_pk_kind_name(f[1]->kind));
    if (!is_text(f[3]))
        return pk_fail(pk, DS_ERR_FORMAT, "storage location is a %s, not a str",
                       ds_pk_kind_name(f[3]->kind));
    ds_pk_value *v;
    DS_TRY(pk_new(pk, DS_PK_STORAGE, &v));
    ds_pk_storage *st = &v->u.storage;
    st->dtype = f[1]->u.global.dtype;
    DS_TRY(key_string(pk, f[2], &st->key));
    DS_TRY(count(pk, f[4], "storage size", &st->numel));
    st->view_numel = st->numel;
    if (n == 6 && f[5]->kind != DS_PK_NONE) {
        const ds_pk_value *view = f[5];
        if (view->kind != DS_PK_TUPLE || view->u.seq.n != 3)
            return pk_fail(pk, DS_ERR_FORMAT, "storage view is a %s, not (key, offset, size)",
                           ds_pk_kind_name(view->kind));
        const char *view_key;
        DS_TRY(key_string(pk, view->u.seq.items[0], &view_key));
        DS_TRY(count(pk, view->u.seq.items[1], "storage view offset", &st->view_offset));
        DS_TRY(count(pk, view->u.seq.items[2], "storage view size", &st->view_numel));
        if (st->view_offset > st->numel || st->view_numel > st->numel - st->view_offset) {
            char vk[48], rk[48];
            ds_pk_printable(vk, sizeof vk, view_key, strlen(view_key));
            ds_pk_printable(rk, sizeof rk, st->key, strlen(st->key));
            return pk_fail(pk, DS_ERR_FORMAT,
                           "storage view '%s' [%lld, +%lld) is outside storage '%s' of %lld "
                           "elements",
                           vk, (long long)st->view_offset, (long long)st->view_numel, rk,
                           (long long)st->numel);
        }
    }
    void *arr = pk->storages;
    DS_TRY(pk_grow(pk, &arr, &pk->storages_cap, pk->n_storages + 1, sizeof v));
    pk->storages = arr;
    pk->storages[pk->n_storages++] = v;
    *out = v;
    return DS_OK;
}

static ds_status int_tuple(ds_pickle *pk, const ds_pk_value *v, const char *what, int *ndim,
                           int64_t *dims) {
    if (v->kind != DS_PK_TUPLE && v->kind != DS_PK_LIST)
        return pk_fail(pk, DS_ERR_FORMAT, "tensor %s is a %s, not a tuple", what,
                       ds_pk_kind_name(v->kind));
    if (v->u.seq.n > DS_MAX_DIMS)
        return pk_fail(pk, DS_ERR_UNSUPPORTED, "tensor with %zu dimensions (at most %d)",
                       v->u.seq.n, DS_MAX_DIMS);
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const ds_pk_value *d = v->u.seq.items[i];
        if (d->kind != DS_PK_INT)
            return pk_fail(pk, DS_ERR_FORMAT, "tensor %s holds a %s, not an int", what,
                           ds_pk_kind_name(d->kind));
        dims[i] = d->u.i;
    }
    *ndim = (int)v->u.seq.n;
    return DS_OK;
}

/* _rebuild_tensor(storage, offset, size, stride); _v2 adds requires_grad,
 * backward_hooks[, metadata], none of which change the data. */
static ds_status new_tensor(ds_pickle *pk, ds_pk_value *const *a, ds_pk_value **out) {
    if (a[0]->kind != DS_PK_STORAGE)
        return pk_fail(pk, DS_ERR_FORMAT, "tensor built on a %s, not a storage",
                       ds_pk_kind_name(a[0]->kind));
    if (a[1]->kind != DS_PK_INT)
        return pk_fail(pk, DS_ERR_FORMAT, "tensor storage offset is a %s, not an int",
                       ds_pk_kind_name(a[1]->kind));
    ds_pk_value *v;
    DS_TRY(pk_new(pk, DS_PK_TENSOR, &v));
    ds_pk_tensor *t = &v->u.tensor;
    t->storage = a[0];
    t->offset = a[1]->u.i;
    int stride_dims;
    DS_TRY(int_tuple(pk, a[2], "size", &t->ndim, t->size));
    DS_TRY(int_tuple(pk, a[3], "stride", &stride_dims, t->stride));
    if (stride_dims != t->ndim)
        return pk_fail(pk, DS_ERR_FORMAT, "tensor has %d sizes but %d strides", t->ndim,
                       stride_dims);
    *out = v;
    return DS_OK;
}

ds_status pk_rebuild_tensor(ds_pickle *pk, int id, const ds_pk_value *args, ds_pk_value **out) {
    size_t argc = args->u.seq.n;
    ds_pk_value *const *a = args->u.seq.items;
    switch (id) {
    case PK_G_REBUILD_TENSOR:
        if (argc != 4)
            break;
        return new_tensor(pk, a, out);
    case PK_G_REBUILD_TENSOR_V2:
        if (argc != 6 && argc != 7)
            break;
        return new_tensor(pk, a, out);
    case PK_G_REBUILD_PARAMETER:
    case PK_G_REBUILD_PARAMETER_WITH_STATE:
        if (argc != (id == PK_G_REBUILD_PARAMETER ? 3u : 4u))
            break;
        if (a[0]->kind != DS_PK_TENSOR)
            return pk_fail(pk, DS_ERR_FORMAT, "Parameter of a %s, not a tensor",
                           ds_pk_kind_name(a[0]->kind));
        *out = a[0];
        return DS_OK;
    default: break;
    }
    return pk_fail(pk, DS_ERR_FORMAT, "tensor rebuild function called with %zu arguments", argc);
}
