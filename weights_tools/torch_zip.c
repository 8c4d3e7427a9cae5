/*
 * torch_zip.c: PyTorch checkpoints in the zip format (torch.save since 1.6).
 *
 * The archive holds <prefix>/data.pkl (the pickled object, storages as
 * persistent ids), <prefix>/data/<key> (each storage's raw little-endian
 * bytes) and, since torch 2.1, <prefix>/byteorder. libzip reads the archive
 * from memory and checks its structure and each entry's CRC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "error.h"
#include "torch_common.h"

enum { MAX_PICKLE_BYTES = 256 << 20 };

typedef struct zip_ctx {
    const char *label;
    zip_t *za;
    char *prefix; /* "archive" */
    uint64_t max_bytes;
} zip_ctx;

/* "<prefix>/<dir><tail>", malloc'd. */
static char *entry_name(const zip_ctx *z, const char *dir, const char *tail) {
    size_t n = strlen(z->prefix) + strlen(dir) + strlen(tail) + 2;
    char *name = malloc(n);
    if (name)
        snprintf(name, n, "%s/%s%s", z->prefix, dir, tail);
    return name;
}

/* An entry's bytes, which must number `want` (or anything up to the limit when want < 0). */
static ds_status read_entry(const zip_ctx *z, zip_int64_t idx, const char *name, int64_t want,
                            uint64_t limit, uint8_t **out, size_t *len) {
    char entry[160];
    ds_pk_printable(entry, sizeof entry, name, strlen(name));
    zip_stat_t st;
    if (zip_stat_index(z->za, (zip_uint64_t)idx, ZIP_FL_ENC_RAW, &st) != 0 ||
        !(st.valid & ZIP_STAT_SIZE))
        return ds_fail(DS_ERR_FORMAT, "%s: %s: %s", z->label, entry, zip_strerror(z->za));
    if (want >= 0 && st.size != (uint64_t)want)
        return ds_fail(DS_ERR_FORMAT, "%s: %s holds %llu bytes, the pickle declares %lld", z->label,
                       entry, (unsigned long long)st.size, (long long)want);
    if (st.size > limit)
        return ds_fail(DS_ERR_FORMAT, "%s: %s is %llu bytes, more than the %llu MiB limit",
                       z->label, entry, (unsigned long long)st.size,
                       (unsigned long long)(limit >> 20));
    uint8_t *buf = malloc(st.size ? (size_t)st.size : 1);
    if (!buf)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %s (%llu bytes)", z->label,
                       entry, (unsigned long long)st.size);
    zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
    if (!f) {
        free(buf);
        return ds_fail(DS_ERR_FORMAT, "%s: %s: %s", z->label, entry, zip_strerror(z->za));
    }
    uint64_t got = 0;
    zip_int64_t n = 1;
    while (got < st.size && (n = zip_fread(f, buf + got, st.size - got)) > 0)
        got += (uint64_t)n;
    uint8_t extra;
    /* one more read reaches the end of the entry, where libzip checks its CRC */
    if (n >= 0 && got == st.size)
        n = zip_fread(f, &extra, 1);
    ds_status s = DS_OK;
    if (n < 0)
        s = ds_fail(DS_ERR_FORMAT, "%s: %s: %s", z->label, entry, zip_file_strerror(f));
    else if (got != st.size || n != 0)
        s = ds_fail(DS_ERR_FORMAT, "%s: %s: data does not match its declared size", z->label,
                    entry);
    zip_fclose(f);
    if (s != DS_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    *len = (size_t)st.size;
    return DS_OK;
}

static ds_status read_storage(void *user, const ds_pk_storage *st, const uint8_t **bytes,
                              void **owned) {
    const zip_ctx *z = user;
    size_t elem = ds_dtype_size(st->dtype);
    if ((uint64_t)st->numel > INT64_MAX / elem)
        return ds_fail(DS_ERR_FORMAT, "%s: a storage declares %lld elements", z->label,
                       (long long)st->numel);
    char *name = entry_name(z, "data/", st->key);
    if (!name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", z->label);
    zip_int64_t idx = zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
    ds_status s;
    if (idx < 0) {
        char shown[160];
        ds_pk_printable(shown, sizeof shown, name, strlen(name));
        s = ds_fail(DS_ERR_FORMAT, "%s: storage record %s is missing", z->label, shown);
    } else {
        uint8_t *buf = NULL;
        size_t len;
        s = read_entry(z, idx, name, st->numel * (int64_t)elem, z->max_bytes, &buf, &len);
        *bytes = buf;
        *owned = buf;
    }
    free(name);
    return s;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The one "<prefix>/data.pkl"; refuses TorchScript archives with a useful message. */
static ds_status find_data_pkl(zip_ctx *z, zip_int64_t *idx) {
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    *idx = -1;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!name)
            return ds_fail(DS_ERR_FORMAT, "%s: zip entry %lld has no name", z->label,
                           (long long)i);
        const char *slash = strchr(name, '/');
        if (!slash)
            continue;
        if (ends_with(name, "/constants.pkl") || strstr(name, "/code/"))
            return ds_fail(DS_ERR_UNSUPPORTED,
                           "%s: a TorchScript archive (torch.jit.save); save the model's "
                           "state_dict() with torch.save instead",
                           z->label);
        if (strcmp(slash, "/data.pkl") != 0)
            continue;
        if (*idx >= 0)
            return ds_fail(DS_ERR_FORMAT, "%s: the archive holds several data.pkl", z->label);
        *idx = i;
        z->prefix = strndup(name, (size_t)(slash - name));
        if (!z->prefix)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", z->label);
    }
    if (*idx < 0)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: zip archive without a data.pkl: not a PyTorch checkpoint", z->label);
    return DS_OK;
}

/* <prefix>/byteorder, when present, must say "little". */
static ds_status check_byteorder(const zip_ctx *z) {
    char *name = entry_name(z, "", "byteorder");
    if (!name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", z->label);
    zip_int64_t idx = zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
    uint8_t *buf = NULL;
    size_t len = 0;
    ds_status s = idx < 0 ? DS_OK : read_entry(z, idx, name, -1, 64, &buf, &len);
    free(name);
    if (s != DS_OK || idx < 0)
        return s;
    int little = len == 6 && memcmp(buf, "little", 6) == 0;
    int big = len == 3 && memcmp(buf, "big", 3) == 0;
    free(buf);
    if (big)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: big-endian checkpoint (its byteorder record says "
                       "big)", z->label);
    if (!little)
        return ds_fail(DS_ERR_FORMAT, "%s: byteorder record is neither 'little' nor 'big'",
                       z->label);
    return DS_OK;
}

static ds_status load(zip_ctx *z, ds_ckpt *out) {
    zip_int64_t idx;
    DS_TRY(find_data_pkl(z, &idx));
    DS_TRY(check_byteorder(z));
    char *pkl_name = entry_name(z, "", "data.pkl");
    if (!pkl_name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", z->label);
    uint8_t *pkl = NULL;
    size_t pkl_len = 0;
    ds_status s = read_entry(z, idx, pkl_name, -1, MAX_PICKLE_BYTES, &pkl, &pkl_len);
    if (s != DS_OK) {
        free(pkl_name);
        return s;
    }
    char pk_label[1024], shown[160];
    ds_pk_printable(shown, sizeof shown, pkl_name, strlen(pkl_name));
    snprintf(pk_label, sizeof pk_label, "%s: %s", z->label, shown);
    free(pkl_name);
    ds_pickle *pk = NULL;
    s = ds_pickle_new(pk_label, NULL, &pk);
    const ds_pk_value *root = NULL;
    size_t end;
    if (s == DS_OK)
        s = ds_pickle_run(pk, pkl, pkl_len, 0, &end, &root);
    if (s == DS_OK)
        s = ds_torch_build(root, z->label, z->max_bytes, read_storage, z, out);
    ds_pickle_free(pk);
    free(pkl);
    return s;
}

ds_status ds_ckpt_load_torch_zip(const uint8_t *data, size_t len, const char *label,
                                 ds_ckpt *out) {
    memset(out, 0, sizeof *out);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err) : NULL;
    if (!za) {
        ds_status s = ds_fail(DS_ERR_FORMAT, "%s: not a readable zip archive: %s", label,
                              zip_error_strerror(&err));
        zip_source_free(src);
        zip_error_fini(&err);
        return s;
    }
    zip_error_fini(&err);
    zip_ctx z = {.label = label, .za = za, .max_bytes = ds_torch_output_limit(len)};
    ds_status s = load(&z, out);
    if (s == DS_OK)
        out->format = "pytorch-zip";
    zip_discard(za);
    free(z.prefix);
    return s;
}
