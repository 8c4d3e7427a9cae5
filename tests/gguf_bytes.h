/*
 * gguf_bytes.h: hand-made GGUF bytes for the reader's tests (test_gguf.c,
 * test_gguf_hostile.c): a little-endian byte builder, and a check that
 * opening some bytes fails with a given status and message.
 */
#ifndef DS_TEST_GGUF_BYTES_H
#define DS_TEST_GGUF_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "gguf/gguf.h"
#include "tests/test.h"

/* ---- helpers ---- */

/* Opens an exact-size copy (so reading past the end trips ASan); NULL on the
 * expected failure, otherwise what went wrong. */
static inline const char *open_fails(const uint8_t *data, size_t len, ds_status want, const char *needle) {
    static char why[1400];
    const char *label = "hostile.gguf";
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, data, len);
    ds_gguf *g = (ds_gguf *)1;
    ds_status s = ds_gguf_open_memory(copy, len, label, &g);
    const char *msg = ds_last_error();
    why[0] = '\0';
    if (s == DS_OK)
        snprintf(why, sizeof why, "opened, expected %s with \"%s\"", ds_status_string(want), needle);
    else if (s != want || !strstr(msg, needle))
        snprintf(why, sizeof why, "got %s \"%s\", expected %s with \"%s\"", ds_status_string(s),
                 msg, ds_status_string(want), needle);
    else if (strncmp(msg, label, strlen(label)) != 0 || strchr(msg, '\n'))
        snprintf(why, sizeof why, "message does not start with the label on one line: \"%s\"",
                 msg);
    else if (g != NULL)
        snprintf(why, sizeof why, "*out not cleared on failure");
    ds_gguf_close(s == DS_OK ? g : NULL);
    free(copy);
    return why[0] ? why : NULL;
}

#define CHECK_OPEN_FAILS(b, status, needle)                     \
    do {                                                        \
        const char *why_ = open_fails((b).p, (b).len, status, needle); \
        free((b).p);                                            \
        (b) = (bb){0};                                          \
        CHECK_MSG(!why_, "%s", why_);                           \
    } while (0)

/* ---- a byte builder for hand-made files ---- */

typedef struct bb {
    uint8_t *p;
    size_t len, cap;
} bb;

static inline void bb_raw(bb *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static inline void bb_le(bb *b, uint64_t v, size_t n) {
    uint8_t le[8];
    for (size_t i = 0; i < n; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    bb_raw(b, le, n);
}

static inline void bb_u8(bb *b, uint8_t v) { bb_le(b, v, 1); }
static inline void bb_u16(bb *b, uint16_t v) { bb_le(b, v, 2); }
static inline void bb_u32(bb *b, uint32_t v) { bb_le(b, v, 4); }
static inline void bb_u64(bb *b, uint64_t v) { bb_le(b, v, 8); }

static inline void bb_str(bb *b, const char *s) {
    bb_u64(b, strlen(s));
    bb_raw(b, s, strlen(s));
}

static inline void bb_zeros(bb *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        bb_u8(b, 0);
}

static inline void bb_pad(bb *b, size_t align) { bb_zeros(b, (align - b->len % align) % align); }

static inline void bb_header(bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bb_raw(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}

static inline void bb_key(bb *b, const char *key, ds_gguf_type t) {
    bb_str(b, key);
    bb_u32(b, t);
}

static inline void bb_info(bb *b, const char *name, uint32_t nd, const uint64_t *dims, uint32_t type,
                    uint64_t off) {
    bb_str(b, name);
    bb_u32(b, nd);
    for (uint32_t i = 0; i < nd; i++)
        bb_u64(b, dims[i]);
    bb_u32(b, type);
    bb_u64(b, off);
}

/* One tensor with the given info, the default alignment and 64 data bytes. */
static inline bb one_tensor(const char *name, uint32_t nd, const uint64_t *dims, uint32_t type,
                     uint64_t off) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_info(&b, name, nd, dims, type, off);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    return b;
}

#endif
