/*
 * gguf.c: parsing a GGUF file (mapped, or a caller's buffer) and the
 * accessors of its tensors. The parser trusts nothing: every count, length
 * and offset is checked against the bytes that remain before it is used,
 * and tables grow only as entries are actually parsed, so a hostile count
 * cannot cause a large allocation.
 */
#include "gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file_map.h" /* ds_map_file */
#include "gguf/gguf_private.h"

enum {
    GGUF_HEADER_BYTES = 24,     /* magic, version, tensor count, kv count */
    GGUF_MIN_KV_BYTES = 13,     /* key length, value type, a one-byte value */
    GGUF_MIN_TENSOR_BYTES = 24, /* name length, dim count, type, offset */
    GGUF_DEFAULT_ALIGNMENT = 32,
    GGUF_MAX_DIMS = 4,
    GGUF_TABLE_START = 64,
};

/* Reading position, and what is being read (for error messages). */
typedef struct cursor {
    const uint8_t *base;
    size_t size;
    size_t pos;
    const char *label;
    char what[160];
} cursor;

static ds_status need(cursor *c, uint64_t n) {
    if (n > c->size - c->pos)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated: %s needs %llu bytes at offset %zu, the file has %zu",
                       c->label, c->what, (unsigned long long)n, c->pos, c->size);
    return DS_OK;
}

static ds_status read_u32(cursor *c, uint32_t *v) {
    DS_TRY(need(c, 4));
    *v = ds_le32(c->base + c->pos);
    c->pos += 4;
    return DS_OK;
}

static ds_status read_u64(cursor *c, uint64_t *v) {
    DS_TRY(need(c, 8));
    *v = ds_le64(c->base + c->pos);
    c->pos += 8;
    return DS_OK;
}

/* A length-prefixed string, left in place: its offset and length. */
static ds_status read_str(cursor *c, size_t *off, size_t *len) {
    uint64_t n;
    DS_TRY(read_u64(c, &n));
    DS_TRY(need(c, n));
    *off = c->pos;
    *len = (size_t)n;
    c->pos += (size_t)n;
    return DS_OK;
}

/* Keys and tensor names become C strings and appear in one-line messages,
 * so they may not hold NUL or other control bytes. */
static ds_status read_name(cursor *c, char **out) {
    size_t off, len;
    DS_TRY(read_str(c, &off, &len));
    if (len > DS_GGUF_MAX_KEY)
        return ds_fail(DS_ERR_FORMAT, "%s: %s: name is %zu bytes long (at most %d)", c->label,
                       c->what, len, DS_GGUF_MAX_KEY);
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = c->base[off + i];
        if (ch < 0x20 || ch == 0x7f)
            return ds_fail(DS_ERR_FORMAT, "%s: %s: name contains a control byte (0x%02x)",
                           c->label, c->what, ch);
    }
    char *s = malloc(len + 1);
    if (!s)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory reading %s", c->label, c->what);
    memcpy(s, c->base + off, len);
    s[len] = '\0';
    *out = s;
    return DS_OK;
}

static ds_status check_bools(cursor *c, size_t off, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (c->base[off + i] > 1)
            return ds_fail(DS_ERR_FORMAT, "%s: %s: boolean byte at offset %zu is %u, not 0 or 1",
                           c->label, c->what, off + i, c->base[off + i]);
    return DS_OK;
}

static ds_status parse_array(cursor *c, ds_gguf_kv *kv) {
    uint32_t et;
    uint64_t n;
    DS_TRY(read_u32(c, &et));
    DS_TRY(read_u64(c, &n));
    if (et >= DS_GGUF_TYPE_COUNT)
        return ds_fail(DS_ERR_FORMAT, "%s: %s: unknown array element type %u", c->label, c->what,
                       et);
    if (et == DS_GGUF_ARRAY)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: %s: nested arrays are not supported", c->label,
                       c->what);
    kv->arr_type = (ds_gguf_type)et;
    kv->arr_len = n;
    kv->value_off = c->pos;
    /* every element takes at least elem bytes: bound the count before looping */
    size_t elem = et == DS_GGUF_STRING ? 8 : ds_gguf_scalar_size((ds_gguf_type)et);
    if (n > (c->size - c->pos) / elem)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated: %s: %llu array elements of %s at offset %zu cannot fit "
                       "in the file (%zu bytes)",
                       c->label, c->what, (unsigned long long)n,
                       ds_gguf_type_name((ds_gguf_type)et), c->pos, c->size);
    if (et == DS_GGUF_STRING) {
        for (uint64_t i = 0; i < n; i++) {
            size_t off, len;
            DS_TRY(read_str(c, &off, &len));
        }
    } else {
        c->pos += (size_t)n * elem;
        if (et == DS_GGUF_BOOL)
            DS_TRY(check_bools(c, kv->value_off, (size_t)n));
    }
    kv->value_len = c->pos - kv->value_off;
    return DS_OK;
}

static ds_status parse_value(cursor *c, ds_gguf_kv *kv) {
    if (kv->type == DS_GGUF_ARRAY)
        return parse_array(c, kv);
    if (kv->type == DS_GGUF_STRING) {
        DS_TRY(read_str(c, &kv->value_off, &kv->value_len));
        kv->str = malloc(kv->value_len + 1);
        if (!kv->str)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory reading %s", c->label,
                           c->what);
        memcpy(kv->str, c->base + kv->value_off, kv->value_len);
        kv->str[kv->value_len] = '\0';
        return DS_OK;
    }
    size_t n = ds_gguf_scalar_size(kv->type);
    DS_TRY(need(c, n));
    kv->value_off = c->pos;
    kv->value_len = n;
    c->pos += n;
    return kv->type == DS_GGUF_BOOL ? check_bools(c, kv->value_off, 1) : DS_OK;
}

/* Makes room for one more entry in a table that grows by doubling. */
static ds_status grow(void **table, size_t *cap, size_t n, size_t elem, const char *label) {
    if (n < *cap)
        return DS_OK;
    size_t new_cap = *cap ? *cap * 2 : GGUF_TABLE_START;
    void *p = realloc(*table, new_cap * elem);
    if (!p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory listing entries", label);
    memset((char *)p + *cap * elem, 0, (new_cap - *cap) * elem);
    *table = p;
    *cap = new_cap;
    return DS_OK;
}

static ds_status parse_kvs(cursor *c, ds_gguf *g, uint64_t n_kv) {
    size_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        DS_TRY(grow((void **)&g->kv, &cap, g->n_kv, sizeof *g->kv, c->label));
        ds_gguf_kv *kv = &g->kv[g->n_kv];
        snprintf(c->what, sizeof c->what, "metadata entry %llu", (unsigned long long)i);
        DS_TRY(read_name(c, &kv->key));
        g->n_kv++;
        snprintf(c->what, sizeof c->what, "metadata '%.100s'", kv->key);
        uint32_t type;
        DS_TRY(read_u32(c, &type));
        if (type >= DS_GGUF_TYPE_COUNT)
            return ds_fail(DS_ERR_FORMAT, "%s: %s: unknown value type %u", c->label, c->what,
                           type);
        kv->type = (ds_gguf_type)type;
        DS_TRY(parse_value(c, kv));
    }
    return DS_OK;
}

static int ggml_to_dtype(uint32_t t, ds_dtype *out) {
    switch (t) {
    case 0: *out = DS_F32; return 1;
    case 1: *out = DS_F16; return 1;
    case 24: *out = DS_I8; return 1;
    case 25: *out = DS_I16; return 1;
    case 26: *out = DS_I32; return 1;
    case 27: *out = DS_I64; return 1;
    case 28: *out = DS_F64; return 1;
    case 30: *out = DS_BF16; return 1;
    default: return 0;
    }
}

/* Names of the ggml types we refuse, so the error says what the file holds. */
static const char *ggml_type_name(uint32_t t) {
    static const char *const names[] = {
        [2] = "q4_0",     [3] = "q4_1",     [6] = "q5_0",     [7] = "q5_1",    [8] = "q8_0",
        [9] = "q8_1",     [10] = "q2_k",    [11] = "q3_k",    [12] = "q4_k",   [13] = "q5_k",
        [14] = "q6_k",    [15] = "q8_k",    [16] = "iq2_xxs", [17] = "iq2_xs", [18] = "iq3_xxs",
        [19] = "iq1_s",   [20] = "iq4_nl",  [21] = "iq3_s",   [22] = "iq2_s",  [23] = "iq4_xs",
        [29] = "iq1_m",   [34] = "tq1_0",   [35] = "tq2_0",   [39] = "mxfp4",
    };
    if (t < sizeof names / sizeof names[0] && names[t])
        return names[t];
    return "unknown";
}

static ds_status parse_tensor_info(cursor *c, const ds_gguf *g, ds_gguf_tensor *t,
                                   uint64_t *offset) {
    const char *name = t->name;
    uint32_t nd;
    DS_TRY(read_u32(c, &nd));
    if (nd > GGUF_MAX_DIMS)
        return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s' has %u dimensions (at most %d)", c->label,
                       name, nd, GGUF_MAX_DIMS);
    t->ndim = (int)nd;
    uint64_t numel = 1;
    for (uint32_t j = 0; j < nd; j++) {
        uint64_t d;
        DS_TRY(read_u64(c, &d));
        if (d == 0 || d > INT64_MAX)
            return ds_fail(DS_ERR_FORMAT,
                           "%s: tensor '%s': dimension %u is %llu (must be positive)", c->label,
                           name, j, (unsigned long long)d);
        if (numel > UINT64_MAX / d)
            return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s': element count overflows", c->label,
                           name);
        numel *= d;
        t->shape[nd - 1 - j] = (int64_t)d; /* the file is fastest-first */
    }
    uint32_t type;
    DS_TRY(read_u32(c, &type));
    if (!ggml_to_dtype(type, &t->dtype))
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has ggml type %u (%s); only f32, f16, bf16, f64, i8, "
                       "i16, i32 and i64 are supported",
                       c->label, name, type, ggml_type_name(type));
    size_t es = ds_dtype_size(t->dtype);
    if (numel > c->size / es)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated or corrupt: tensor '%s': %llu elements cannot fit in the "
                       "file (%zu bytes)",
                       c->label, name, (unsigned long long)numel, c->size);
    t->nbytes = (size_t)numel * es;
    DS_TRY(read_u64(c, offset));
    if (*offset % g->alignment != 0)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: tensor '%s': data offset %llu is not a multiple of the alignment %zu",
                       c->label, name, (unsigned long long)*offset, g->alignment);
    return DS_OK;
}

static ds_status parse_tensors(cursor *c, ds_gguf *g, uint64_t n_tensors, uint64_t **offsets) {
    size_t cap = 0, off_cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        DS_TRY(grow((void **)&g->tensors, &cap, g->n_tensors, sizeof *g->tensors, c->label));
        DS_TRY(grow((void **)offsets, &off_cap, g->n_tensors, sizeof **offsets, c->label));
        ds_gguf_tensor *t = &g->tensors[g->n_tensors];
        snprintf(c->what, sizeof c->what, "tensor info %llu", (unsigned long long)i);
        char *name;
        DS_TRY(read_name(c, &name));
        t->name = name;
        g->n_tensors++;
        snprintf(c->what, sizeof c->what, "tensor '%.100s'", name);
        DS_TRY(parse_tensor_info(c, g, t, &(*offsets)[g->n_tensors - 1]));
    }
    return DS_OK;
}

/* Data offsets count from the end of the tensor infos, rounded up to the alignment. */
static ds_status place_tensors(cursor *c, ds_gguf *g, const uint64_t *offsets) {
    size_t start = c->pos + (g->alignment - c->pos % g->alignment) % g->alignment;
    for (size_t i = 0; i < g->n_tensors; i++) {
        ds_gguf_tensor *t = &g->tensors[i];
        if (start > c->size || offsets[i] > c->size - start ||
            t->nbytes > c->size - start - offsets[i])
            return ds_fail(DS_ERR_FORMAT,
                           "%s: truncated: tensor '%s' data (%zu bytes at offset %llu of the "
                           "data section at %zu) runs past the end of the file (%zu bytes)",
                           c->label, t->name, t->nbytes, (unsigned long long)offsets[i], start,
                           c->size);
        t->data = c->base + start + offsets[i];
    }
    return DS_OK;
}

static int cmp_name_ix(const void *a, const void *b) {
    return strcmp(((const ds_gguf_name_ix *)a)->name, ((const ds_gguf_name_ix *)b)->name);
}

long ds_gguf_lookup(const ds_gguf_name_ix *sorted, size_t n, const char *name) {
    if (!name || n == 0)
        return -1;
    ds_gguf_name_ix key = {name, 0};
    const ds_gguf_name_ix *hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_name_ix);
    return hit ? (long)hit->i : -1;
}

/* Builds the sorted index used for lookups; equal neighbours are duplicates. */
static ds_status index_names(const char *label, const char *what, size_t n,
                             const char *(*name_of)(const ds_gguf *, size_t), const ds_gguf *g,
                             ds_gguf_name_ix **out) {
    if (n == 0)
        return DS_OK;
    ds_gguf_name_ix *ix = malloc(n * sizeof *ix);
    if (!ix)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory indexing %ss", label, what);
    for (size_t i = 0; i < n; i++)
        ix[i] = (ds_gguf_name_ix){name_of(g, i), i};
    qsort(ix, n, sizeof *ix, cmp_name_ix);
    *out = ix;
    for (size_t i = 1; i < n; i++)
        if (strcmp(ix[i - 1].name, ix[i].name) == 0)
            return ds_fail(DS_ERR_FORMAT, "%s: duplicate %s '%s'", label, what, ix[i].name);
    return DS_OK;
}

static const char *kv_name(const ds_gguf *g, size_t i) { return g->kv[i].key; }
static const char *tensor_name(const ds_gguf *g, size_t i) { return g->tensors[i].name; }

static ds_status read_alignment(cursor *c, ds_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    long i = ds_gguf_lookup(g->kv_by_key, g->n_kv, "general.alignment");
    if (i < 0)
        return DS_OK;
    const ds_gguf_kv *kv = &g->kv[i];
    if (kv->type != DS_GGUF_UINT32)
        return ds_fail(DS_ERR_FORMAT, "%s: general.alignment is %s, not uint32", c->label,
                       ds_gguf_type_name(kv->type));
    uint32_t a = ds_le32(c->base + kv->value_off);
    if (a == 0 || (a & (a - 1)) != 0)
        return ds_fail(DS_ERR_FORMAT, "%s: general.alignment %u is not a power of two", c->label,
                       a);
    g->alignment = a;
    return DS_OK;
}

static ds_status read_header(cursor *c, ds_gguf *g, uint64_t *n_tensors, uint64_t *n_kv) {
    const uint8_t *b = c->base;
    if (c->size < 4 || memcmp(b, "GGUF", 4) != 0)
        return ds_fail(DS_ERR_FORMAT, "%s: not a GGUF file (no \"GGUF\" magic at the start)",
                       c->label);
    if (c->size < 8)
        return ds_fail(DS_ERR_FORMAT, "%s: truncated: %zu bytes, too short for a GGUF header",
                       c->label, c->size);
    g->version = ds_le32(b + 4);
    if (g->version == 1)
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: GGUF version 1 is not supported (versions 2 and 3 are); "
                       "re-convert the model",
                       c->label);
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported",
                       c->label);
    if (g->version != 2 && g->version != 3)
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: GGUF version %u is not supported (versions 2 and 3 are)", c->label,
                       g->version);
    if (c->size < GGUF_HEADER_BYTES)
        return ds_fail(DS_ERR_FORMAT, "%s: truncated: %zu bytes, too short for a GGUF header",
                       c->label, c->size);
    *n_tensors = ds_le64(b + 8);
    *n_kv = ds_le64(b + 16);
    c->pos = GGUF_HEADER_BYTES;
    size_t left = c->size - c->pos;
    if (*n_kv > left / GGUF_MIN_KV_BYTES)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated or corrupt: metadata count %llu cannot fit in a %zu-byte "
                       "file",
                       c->label, (unsigned long long)*n_kv, c->size);
    if (*n_tensors > left / GGUF_MIN_TENSOR_BYTES)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated or corrupt: tensor count %llu cannot fit in a %zu-byte file",
                       c->label, (unsigned long long)*n_tensors, c->size);
    return DS_OK;
}

static ds_status parse(cursor *c, ds_gguf *g) {
    uint64_t n_tensors = 0, n_kv = 0;
    DS_TRY(read_header(c, g, &n_tensors, &n_kv));
    DS_TRY(parse_kvs(c, g, n_kv));
    DS_TRY(index_names(c->label, "key", g->n_kv, kv_name, g, &g->kv_by_key));
    DS_TRY(read_alignment(c, g));
    uint64_t *offsets = NULL;
    ds_status s = parse_tensors(c, g, n_tensors, &offsets);
    if (s == DS_OK)
        s = index_names(c->label, "tensor name", g->n_tensors, tensor_name, g, &g->tensor_by_name);
    if (s == DS_OK)
        s = place_tensors(c, g, offsets);
    free(offsets);
    return s;
}

ds_status ds_gguf_open_memory(const uint8_t *data, size_t len, const char *label, ds_gguf **out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "ds_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!label)
        label = "<memory>";
    if (!data && len > 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: NULL buffer of %zu bytes", label, len);
    ds_gguf *g = calloc(1, sizeof *g);
    char *label_copy = strdup(label);
    if (!g || !label_copy) {
        free(g);
        free(label_copy);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", label);
    }
    g->label = label_copy;
    g->base = data;
    g->size = len;
    cursor c = {.base = data, .size = len, .label = g->label};
    ds_status s = parse(&c, g);
    if (s != DS_OK) {
        ds_gguf_close(g);
        return s;
    }
    *out = g;
    return DS_OK;
}

ds_status ds_gguf_open(const char *path, ds_gguf **out) {
    if (!out || !path)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "ds_gguf_open: NULL argument");
    *out = NULL;
    void *map;
    size_t size;
    DS_TRY(ds_map_file(path, "not GGUF", false, &map, &size));
    ds_status s = ds_gguf_open_memory(map, size, path, out);
    if (s != DS_OK) {
        munmap(map, size);
        return s;
    }
    (*out)->map = map;
    return DS_OK;
}

void ds_gguf_close(ds_gguf *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
    }
    for (size_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->kv_by_key);
    free(g->tensors);
    free(g->tensor_by_name);
    if (g->map)
        munmap(g->map, g->size);
    free(g->label);
    free(g);
}

const char *ds_gguf_label(const ds_gguf *g) { return g->label; }
uint32_t ds_gguf_version(const ds_gguf *g) { return g->version; }
size_t ds_gguf_alignment(const ds_gguf *g) { return g->alignment; }
size_t ds_gguf_file_size(const ds_gguf *g) { return g->size; }

size_t ds_gguf_n_tensors(const ds_gguf *g) { return g->n_tensors; }

const ds_gguf_tensor *ds_gguf_tensor_at(const ds_gguf *g, size_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const ds_gguf_tensor *ds_gguf_find_tensor(const ds_gguf *g, const char *name) {
    long i = ds_gguf_lookup(g->tensor_by_name, g->n_tensors, name);
    return i < 0 ? NULL : &g->tensors[i];
}

void ds_gguf_release_pages(const ds_gguf *g, const void *data, size_t nbytes) {
    if (!g->map || nbytes == 0)
        return; /* a caller's buffer is the caller's business */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)data + page - 1) / page * page;
    uintptr_t hi = ((uintptr_t)data + nbytes) / page * page;
    uintptr_t map_lo = (uintptr_t)g->map, map_hi = map_lo + g->size;
    if (hi > lo && lo >= map_lo && hi <= map_hi)
        madvise((void *)lo, hi - lo, MADV_DONTNEED); /* clean file pages: read again if needed */
}
