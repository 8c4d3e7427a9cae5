/*
 * torch_zip.c: PyTorch checkpoints in the zip format (torch.save since 1.6).
 *
 * The archive holds <prefix>/data.pkl (the pickled object, storages as
 * persistent ids), <prefix>/data/<key> (each storage's raw little-endian
 * bytes) and, since torch 2.1, <prefix>/byteorder. libzip reads the archive
 * from memory and checks its structure and each entry's CRC.
 *
 * Records are stored uncompressed: a tensor that is a whole record is used
 * where it lies in the mapped file instead of being copied out. libzip reads
 * the archive through our own source, so the offset at which it reads a
 * stored record's data is seen there; the bytes at that offset are used only
 * if they fit the file and their CRC-32 is the one the archive records
 * (libdeflate's CRC-32: carry-less multiply, 4x zlib's speed here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <libdeflate.h>

#include "base/error.h"
#include "weights_tools/readers/torch_common.h"

enum { MAX_PICKLE_BYTES = 256 << 20 };

/* A libzip source over the archive's bytes that notes where a read begins. */
typedef struct mem_source {
    const uint8_t *data;
    zip_uint64_t len, pos;
    int watching;
    int64_t first_read; /* offset of the first read since watching began; -1 if none */
    zip_error_t error;
} mem_source;

typedef struct zip_ctx {
    const char *label;
    zip_t *za;
    mem_source *src;
    char *prefix; /* "archive" */
    uint64_t max_bytes;
} zip_ctx;

static zip_int64_t mem_source_cb(void *user, void *data, zip_uint64_t n, zip_source_cmd_t cmd) {
    mem_source *m = user;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        m->pos = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t k = m->len - m->pos < n ? m->len - m->pos : n;
        if (m->watching && m->first_read < 0)
            m->first_read = (int64_t)m->pos;
        memcpy(data, m->data + m->pos, (size_t)k);
        m->pos += k;
        return (zip_int64_t)k;
    }
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = m->len;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&m->error, data, n);
    case ZIP_SOURCE_SEEK: {
        zip_int64_t pos = zip_source_seek_compute_offset(m->pos, m->len, data, n, &m->error);
        if (pos < 0)
            return -1;
        m->pos = (zip_uint64_t)pos;
        return 0;
    }
    case ZIP_SOURCE_TELL:
        return (zip_int64_t)m->pos;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
                                              ZIP_SOURCE_SUPPORTS, -1);
    default:
        zip_error_set(&m->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* A stored record's `size` bytes in place in the archive, checked against
 * its CRC-32; NULL when it is compressed or anything does not agree (the
 * caller then reads it through libzip, which reports what is wrong). */
static const uint8_t *record_in_place(const zip_ctx *z, zip_int64_t idx, uint64_t size) {
    zip_stat_t st;
    if (size == 0 || zip_stat_index(z->za, (zip_uint64_t)idx, ZIP_FL_ENC_RAW, &st) != 0)
        return NULL;
    zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_CRC;
    if ((st.valid & need) != need || st.comp_method != ZIP_CM_STORE || st.size != size ||
        st.comp_size != size)
        return NULL;
    zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, ZIP_FL_COMPRESSED);
    if (!f)
        return NULL;
    mem_source *m = z->src;
    uint8_t first = 0;
    m->watching = 1;
    m->first_read = -1;
    zip_int64_t got = zip_fread(f, &first, 1);
    m->watching = 0;
    zip_fclose(f);
    int64_t off = m->first_read;
    if (got != 1 || off < 0 || (uint64_t)off > m->len || size > m->len - (uint64_t)off ||
        m->data[off] != first)
        return NULL;
    const uint8_t *p = m->data + off;
    return libdeflate_crc32(0, p, (size_t)size) == st.crc ? p : NULL;
}

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
    } else if ((*bytes = record_in_place(z, idx, (uint64_t)st->numel * elem)) != NULL) {
        *owned = NULL;
        s = DS_OK;
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
    if (!data || len == 0)
        return ds_fail(DS_ERR_FORMAT, "%s: not a readable zip archive: the file is empty", label);
    zip_error_t err;
    zip_error_init(&err);
    mem_source mem = {.data = data, .len = len, .first_read = -1};
    zip_error_init(&mem.error);
    zip_source_t *src = zip_source_function_create(mem_source_cb, &mem, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err) : NULL;
    if (!za) {
        /* a zip's first entry and no end record: the file stops short */
        const int cut = zip_error_code_zip(&err) == ZIP_ER_NOZIP && len >= 4 && memcmp(data, "PK\3\4", 4) == 0;
        ds_status s = cut ? ds_fail(DS_ERR_FORMAT,
                                    "%s: not a readable zip archive: it starts as one but its end record is "
                                    "missing (a truncated file, an interrupted download?)",
                                    label)
                          : ds_fail(DS_ERR_FORMAT, "%s: not a readable zip archive: %s", label,
                                    zip_error_strerror(&err));
        zip_source_free(src);
        zip_error_fini(&err);
        zip_error_fini(&mem.error);
        return s;
    }
    zip_error_fini(&err);
    zip_ctx z = {.label = label, .za = za, .src = &mem, .max_bytes = ds_torch_output_limit(len)};
    ds_status s = load(&z, out);
    if (s == DS_OK)
        out->format = "pytorch-zip";
    zip_discard(za);
    zip_error_fini(&mem.error);
    free(z.prefix);
    return s;
}
