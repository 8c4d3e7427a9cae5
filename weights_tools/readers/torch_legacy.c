/*
 * torch_legacy.c: PyTorch checkpoints in the legacy format (torch < 1.6, or
 * torch.save(..., _use_new_zipfile_serialization=False)), as written by
 * torch/serialization.py:_legacy_save:
 *
 *   pickle  magic number 0x1950a86a20f9469cfc6c
 *   pickle  protocol version 1001
 *   pickle  sys_info {protocol_version, little_endian, type_sizes}
 *   pickle  the object; storages as persistent ids
 *           ('storage', StorageType, key, location, numel, view_metadata)
 *   pickle  the list of storage keys
 *   then, for each key in that order: int64 element count, raw bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "weights_tools/readers/torch_common.h"

/* the magic number as the little-endian two's complement bytes of its LONG1 */
static const uint8_t MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
enum { PROTOCOL_VERSION = 1001 };

typedef struct record {
    const ds_pk_storage *st; /* first reference; all must agree */
    size_t offset;           /* of the raw bytes in the file */
    int has_data;
} record;

typedef struct legacy {
    const char *label;
    const uint8_t *data;
    size_t len, pos;
    ds_pickle *pk;
    record *recs;
    size_t n_recs;
} legacy;

static ds_status next_pickle(legacy *lg, const ds_pk_value **v) {
    return ds_pickle_run(lg->pk, lg->data, lg->len, lg->pos, &lg->pos, v);
}

/* "<label>: storage '<key>' <what>" */
static ds_status fail_storage(const legacy *lg, const char *key, const char *fmt, ...)
    DS_PRINTF(3, 4);

static ds_status fail_storage(const legacy *lg, const char *key, const char *fmt, ...) {
    char shown[64], what[256];
    ds_pk_printable(shown, sizeof shown, key, strlen(key));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ds_fail(DS_ERR_FORMAT, "%s: storage '%s' %s", lg->label, shown, what);
}

static ds_status read_header(legacy *lg) {
    const ds_pk_value *v;
    DS_TRY(next_pickle(lg, &v));
    if (v->kind != DS_PK_BIGINT || v->u.s.len != sizeof MAGIC ||
        memcmp(v->u.s.ptr, MAGIC, sizeof MAGIC) != 0)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: not a PyTorch checkpoint (the first pickle is not its magic number)",
                       lg->label);
    DS_TRY(next_pickle(lg, &v));
    if (v->kind != DS_PK_INT || v->u.i != PROTOCOL_VERSION)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: legacy format version %lld (only %d is known)",
                       lg->label, v->kind == DS_PK_INT ? (long long)v->u.i : -1LL,
                       PROTOCOL_VERSION);
    DS_TRY(next_pickle(lg, &v));
    if (v->kind != DS_PK_DICT)
        return ds_fail(DS_ERR_FORMAT, "%s: sys_info is a %s, not a dict", lg->label,
                       ds_pk_kind_name(v->kind));
    const ds_pk_value *little = ds_pk_dict_get(v, "little_endian");
    if (little && little->kind == DS_PK_BOOL && !little->u.b)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: saved on a big-endian machine", lg->label);
    return DS_OK;
}

static int by_key(const void *a, const void *b) {
    const record *x = a, *y = b;
    return strcmp(x->st->key, y->st->key);
}

static record *find(legacy *lg, const char *key) {
    ds_pk_storage probe = {.key = key};
    record want = {.st = &probe};
    return bsearch(&want, lg->recs, lg->n_recs, sizeof *lg->recs, by_key);
}

/* One record per storage key the pickles referenced. */
static ds_status list_records(legacy *lg) {
    size_t n = ds_pickle_storage_count(lg->pk);
    lg->recs = calloc(n ? n : 1, sizeof *lg->recs);
    if (!lg->recs)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", lg->label);
    for (size_t i = 0; i < n; i++)
        lg->recs[i].st = ds_pickle_storage(lg->pk, i);
    qsort(lg->recs, n, sizeof *lg->recs, by_key);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const ds_pk_storage *st = lg->recs[i].st;
        if (kept && strcmp(lg->recs[kept - 1].st->key, st->key) == 0) {
            const ds_pk_storage *first = lg->recs[kept - 1].st;
            if (first->dtype != st->dtype || first->numel != st->numel)
                return fail_storage(lg, st->key,
                                    "is declared twice, as %lld %s and %lld %s elements",
                                    (long long)first->numel, ds_dtype_name(first->dtype),
                                    (long long)st->numel, ds_dtype_name(st->dtype));
            continue;
        }
        lg->recs[kept++] = lg->recs[i];
    }
    lg->n_recs = kept;
    return DS_OK;
}

/* The keys pickle, then each listed storage: int64 count and raw bytes. */
static ds_status read_data_section(legacy *lg) {
    const ds_pk_value *keys;
    DS_TRY(next_pickle(lg, &keys));
    if (keys->kind != DS_PK_LIST && keys->kind != DS_PK_TUPLE)
        return ds_fail(DS_ERR_FORMAT, "%s: the storage key list is a %s", lg->label,
                       ds_pk_kind_name(keys->kind));
    DS_TRY(list_records(lg));
    for (size_t i = 0; i < keys->u.seq.n; i++) {
        const ds_pk_value *k = keys->u.seq.items[i];
        if (k->kind != DS_PK_STR)
            return ds_fail(DS_ERR_FORMAT, "%s: storage key %zu is a %s, not a str", lg->label,
                           i, ds_pk_kind_name(k->kind));
        record *r = find(lg, k->u.s.ptr);
        if (!r)
            return fail_storage(lg, k->u.s.ptr, "has data but the pickle never uses it");
        if (r->has_data)
            return fail_storage(lg, k->u.s.ptr, "has data twice");
        size_t left = lg->len - lg->pos;
        if (left < 8)
            return fail_storage(lg, k->u.s.ptr, "is cut off before its size (truncated file)");
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--)
            count = (count << 8) | lg->data[lg->pos + (size_t)b];
        if (count != (uint64_t)r->st->numel)
            return fail_storage(lg, k->u.s.ptr, "holds %llu elements, the pickle declares %lld",
                                (unsigned long long)count, (long long)r->st->numel);
        uint64_t nbytes = count > (uint64_t)INT64_MAX / 8 ? UINT64_MAX
                                                            : count * ds_dtype_size(r->st->dtype);
        if (nbytes > left - 8)
            return fail_storage(lg, k->u.s.ptr, "needs %llu bytes, %zu are left (truncated file)",
                                (unsigned long long)nbytes, left - 8);
        r->offset = lg->pos + 8;
        r->has_data = 1;
        lg->pos += 8 + (size_t)nbytes;
    }
    return DS_OK;
}

static ds_status read_storage(void *user, const ds_pk_storage *st, const uint8_t **bytes,
                              void **owned) {
    legacy *lg = user;
    record *r = find(lg, st->key);
    if (!r || !r->has_data)
        return fail_storage(lg, st->key, "has no data in the file");
    *bytes = lg->data + r->offset;
    *owned = NULL;
    return DS_OK;
}

ds_status ds_ckpt_load_torch_legacy(const uint8_t *data, size_t len, const char *label,
                                    ds_ckpt *out) {
    memset(out, 0, sizeof *out);
    legacy lg = {.label = label, .data = data, .len = len};
    const ds_pk_value *root = NULL;
    ds_status s = ds_pickle_new(label, NULL, &lg.pk);
    if (s == DS_OK)
        s = read_header(&lg);
    if (s == DS_OK)
        s = next_pickle(&lg, &root);
    if (s == DS_OK)
        s = read_data_section(&lg);
    if (s == DS_OK)
        s = ds_torch_build(root, label, ds_torch_output_limit(len), read_storage, &lg, out);
    if (s == DS_OK)
        out->format = "pytorch-legacy";
    free(lg.recs);
    ds_pickle_free(lg.pk);
    return s;
}
