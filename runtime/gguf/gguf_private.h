/* gguf_private.h: the parsed GGUF file, shared by the reader and its getters. */
#ifndef DS_GGUF_PRIVATE_H
#define DS_GGUF_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

/* Writes without mapping the file, as on a file system without fallocate
 * (lets the tests cover that path). */
void ds_gguf_writer_stream_only(ds_gguf_writer *w);

#define DS_GGUF_MAX_KEY 65535 /* the spec's bound on key length; also used for names */

typedef struct ds_gguf_kv {
    char *key;               /* NUL-terminated copy */
    char *str;               /* strings only: NUL-terminated copy of the value */
    ds_gguf_type type;
    ds_gguf_type arr_type;   /* arrays only */
    uint64_t arr_len;        /* arrays only */
    size_t value_off;        /* file offset of the value (strings: of the bytes after the length;
                                arrays: of the first element) */
    size_t value_len;        /* bytes from value_off (strings: the string's length) */
} ds_gguf_kv;

/* A name and the index of its entry, kept sorted by name for lookups. */
typedef struct ds_gguf_name_ix {
    const char *name;
    size_t i;
} ds_gguf_name_ix;

struct ds_gguf {
    char *label;
    const uint8_t *base;
    size_t size;
    void *map; /* our own mapping, or NULL for a caller's buffer */
    uint32_t version;
    size_t alignment;
    size_t n_kv;
    ds_gguf_kv *kv;
    ds_gguf_name_ix *kv_by_key;
    size_t n_tensors;
    ds_gguf_tensor *tensors;
    ds_gguf_name_ix *tensor_by_name;
};

static inline uint16_t ds_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline uint32_t ds_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ds_le64(const uint8_t *p) {
    return (uint64_t)ds_le32(p) | (uint64_t)ds_le32(p + 4) << 32;
}

/* Index of `name` in a sorted list of n entries, or -1. */
long ds_gguf_lookup(const ds_gguf_name_ix *sorted, size_t n, const char *name);

/* Bytes of one scalar element of type t; 0 for strings and arrays. */
size_t ds_gguf_scalar_size(ds_gguf_type t);

#endif
