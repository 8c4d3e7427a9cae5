/*
 * pickle.h: a Python pickle reader that builds plain data and never runs code.
 *
 * Protocols 0 to 5 are read into a tree of values: None, bool, int, float,
 * str, bytes, tuple, list (also sets), dict, and three torch-specific kinds
 * (storage, tensor, and "global", a reference to an allowed callable). A
 * GLOBAL or STACK_GLOBAL naming anything outside a short allow-list of tensor
 * and state_dict types fails with DS_ERR_UNSAFE. REDUCE, NEWOBJ and BUILD are
 * interpreted for the allowed callables only (see pickle_globals.c).
 *
 * All values belong to a ds_pickle context and live until ds_pickle_free();
 * several pickles may be read into one context (the legacy torch format is a
 * sequence of pickles). Hard limits (stack, marks, memo, bytes) bound what
 * hostile input can make us do; every length is checked against the input.
 */
#ifndef DS_PICKLE_H
#define DS_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */
#include "base/dtype.h"      /* ds_dtype, DS_MAX_DIMS */

typedef enum ds_pk_kind {
    DS_PK_NONE = 0,
    DS_PK_BOOL,
    DS_PK_INT,     /* fits in int64 */
    DS_PK_BIGINT,  /* wider: kept as little-endian two's complement bytes */
    DS_PK_FLOAT,
    DS_PK_STR,     /* valid UTF-8, NUL-terminated (may hold inner NULs: use len) */
    DS_PK_BYTES,   /* bytes and bytearray */
    DS_PK_TUPLE,
    DS_PK_LIST,    /* list, set, frozenset */
    DS_PK_DICT,    /* dict, OrderedDict: pairs in insertion order */
    DS_PK_GLOBAL,  /* an allowed callable or type, not yet applied */
    DS_PK_STORAGE, /* a torch storage named by a persistent id */
    DS_PK_TENSOR,  /* a strided view of a storage */
    DS_PK_OPAQUE,  /* allowed but unused data (torch.device, dtypes, numpy scalars) */
    DS_PK_KIND_COUNT
} ds_pk_kind;

typedef struct ds_pk_value ds_pk_value;

typedef struct ds_pk_storage {
    ds_dtype dtype;
    const char *key;     /* record name: "0" in zip archives, a number string in legacy files */
    int64_t numel;       /* elements of dtype in the stored record */
    int64_t view_offset; /* legacy storage views: first element of the view, else 0 */
    int64_t view_numel;  /* elements visible through this reference (numel without a view) */
} ds_pk_storage;

typedef struct ds_pk_tensor {
    const ds_pk_value *storage; /* kind DS_PK_STORAGE */
    int64_t offset;             /* in elements, relative to the view */
    int ndim;
    int64_t size[DS_MAX_DIMS];
    int64_t stride[DS_MAX_DIMS];
} ds_pk_tensor;

struct ds_pk_value {
    ds_pk_kind kind;
    union {
        int b;     /* BOOL */
        int64_t i; /* INT */
        double f;  /* FLOAT */
        struct {
            char *ptr; /* NUL-terminated copy */
            size_t len;
        } s;       /* STR, BYTES, BIGINT */
        struct {
            ds_pk_value **items;
            size_t n, cap;
        } seq;     /* TUPLE, LIST; DICT: items[2k] = key, items[2k+1] = value, n = 2 * pairs */
        struct {
            int id;           /* internal allow-list id (pickle_internal.h) */
            ds_dtype dtype;   /* storage types: their element type */
            const char *name; /* "module.name" */
        } global;
        ds_pk_storage storage;
        ds_pk_tensor tensor;
        const char *opaque; /* what it stands for, e.g. "torch.device" */
    } u;
};

typedef struct ds_pickle_limits {
    size_t max_stack;  /* values on the stack */
    size_t max_marks;  /* open MARKs: nesting depth of containers being built */
    size_t max_memo;   /* highest memo index + 1 */
    size_t max_bytes;  /* everything the context allocates */
} ds_pickle_limits;

/* 1M stack entries, 1000 marks, 4M memo slots, 512 MiB. */
extern const ds_pickle_limits ds_pickle_default_limits;

typedef struct ds_pickle ds_pickle;

/* `label` names the source in error messages; `limits` NULL for the defaults. */
ds_status ds_pickle_new(const char *label, const ds_pickle_limits *limits, ds_pickle **out);
void ds_pickle_free(ds_pickle *pk); /* NULL-safe; frees every value of the context */

/* Reads one pickle starting at data[start], up to and including its STOP.
 * *end receives the offset just after STOP, *root the unpickled value.
 * Byte offsets in error messages are offsets into `data`. */
ds_status ds_pickle_run(ds_pickle *pk, const uint8_t *data, size_t len, size_t start,
                        size_t *end, const ds_pk_value **root);

/* Every storage reference read so far by this context, in order (the legacy
 * format needs them all to walk its data section). */
size_t ds_pickle_storage_count(const ds_pickle *pk);
const ds_pk_storage *ds_pickle_storage(const ds_pickle *pk, size_t i);

/* The value for a str key of a DICT (the last one if repeated), or NULL. */
const ds_pk_value *ds_pk_dict_get(const ds_pk_value *dict, const char *key);
/* Copies s[0..n) into out (cap > 8) for a one-line message: non-printable
 * bytes and quotes escaped as \xNN, "..." when cut short. */
void ds_pk_printable(char *out, size_t cap, const char *s, size_t n);
/* "None", "int", "tensor", ... */
const char *ds_pk_kind_name(ds_pk_kind kind);

#endif
