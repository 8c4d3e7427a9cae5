/*
 * pickle_internal.h: what the pickle reader's files share (not for users of
 * pickle.h): the context, value allocation, and the allow-list hooks.
 */
#ifndef DS_PICKLE_INTERNAL_H
#define DS_PICKLE_INTERNAL_H

#include "base/error.h"
#include "weights_tools/readers/pickle.h"

/* Allowed globals. Callables are applied by pk_call; the types only appear
 * as arguments (storage types in persistent ids, tensor types in
 * _rebuild_from_type_v2). */
enum pk_global_id {
    PK_G_ORDERED_DICT = 1,
    PK_G_SET,
    PK_G_FROZENSET,
    PK_G_BYTEARRAY,
    PK_G_BYTES,
    PK_G_CODECS_ENCODE,
    PK_G_TORCH_SIZE,
    PK_G_TORCH_DEVICE,
    PK_G_TORCH_DTYPE, /* torch.float32 and friends: plain constants */
    PK_G_NUMPY_SCALAR,
    PK_G_NUMPY_DTYPE,
    PK_G_REBUILD_TENSOR,
    PK_G_REBUILD_TENSOR_V2,
    PK_G_REBUILD_PARAMETER,
    PK_G_REBUILD_PARAMETER_WITH_STATE,
    PK_G_REBUILD_FROM_TYPE,
    PK_G_REBUILD_FROM_TYPE_V2,
    PK_G_TYPE_TENSOR,
    PK_G_TYPE_PARAMETER,
    PK_G_STORAGE_TYPE /* typed storage classes; dtype in u.global.dtype */
};

struct pk_slab;

struct ds_pickle {
    char *label;
    ds_pickle_limits lim;
    size_t bytes;           /* allocated so far, against lim.max_bytes */
    struct pk_slab *slabs;  /* every value of the context, freed together */
    ds_pk_value *none, *yes, *no;

    /* state of the pickle being read */
    const uint8_t *data;
    size_t len, pos;
    size_t op_pos;          /* offset of the current opcode */
    uint8_t op;
    int proto;
    ds_pk_value **stack;
    size_t sp, stack_cap;
    size_t *marks;          /* stack heights at each open MARK */
    size_t n_marks, marks_cap;
    ds_pk_value **memo;
    size_t memo_cap;
    size_t memo_used;       /* highest key stored + 1 */
    size_t memo_count;      /* keys stored, for MEMOIZE */

    ds_pk_value **storages; /* every storage reference read, for ds_pickle_storage() */
    size_t n_storages, storages_cap;
};

/* A failure at the current opcode: "<label>: <what> at byte N (opcode NAME)". */
ds_status pk_fail(ds_pickle *pk, ds_status status, const char *fmt, ...) DS_PRINTF(3, 4);
const char *pk_opcode_name(uint8_t op);

/* Allocation charged against lim.max_bytes; fails with a message. */
ds_status pk_grow(ds_pickle *pk, void **array, size_t *cap, size_t need, size_t elem);
ds_status pk_new(ds_pickle *pk, ds_pk_kind kind, ds_pk_value **out);
/* STR/BYTES/BIGINT holding a copy of `len` bytes (NUL-terminated). */
ds_status pk_new_blob(ds_pickle *pk, ds_pk_kind kind, const void *bytes, size_t len,
                      ds_pk_value **out);
ds_status pk_new_int(ds_pickle *pk, int64_t v, ds_pk_value **out);
ds_status pk_new_float(ds_pickle *pk, double v, ds_pk_value **out);
/* TUPLE/LIST/DICT holding a copy of items[0..n) (pairs for DICT). */
ds_status pk_new_seq(ds_pickle *pk, ds_pk_kind kind, ds_pk_value *const *items, size_t n,
                     ds_pk_value **out);
ds_status pk_new_opaque(ds_pickle *pk, const char *what, ds_pk_value **out);
ds_status pk_seq_push(ds_pickle *pk, ds_pk_value *seq, ds_pk_value *item);

/* Text arguments of protocol 0 opcodes and UTF-8 checks (pickle_text.c). */
int pk_utf8_valid(const uint8_t *s, size_t len);
/* A decimal integer line (INT, LONG; optional sign, optional trailing 'L'). */
ds_status pk_parse_decimal(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out);
ds_status pk_parse_float(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out);
/* STRING: a quoted Python 2 str literal with backslash escapes. */
ds_status pk_parse_quoted(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out);
/* UNICODE: raw-unicode-escape (latin-1 bytes, \uXXXX, \UXXXXXXXX). */
ds_status pk_parse_raw_unicode(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out);
/* Latin-1 code points of a str (for _codecs.encode(s, 'latin1')). */
ds_status pk_latin1_bytes(ds_pickle *pk, const ds_pk_value *str, ds_pk_value **out);

/* The allow-list (pickle_globals.c). */
ds_status pk_find_global(ds_pickle *pk, const char *module, size_t module_len, const char *name,
                         size_t name_len, ds_pk_value **out);
/* REDUCE (newobj = 0) or NEWOBJ (newobj = 1) of an allowed callable. */
ds_status pk_call(ds_pickle *pk, const ds_pk_value *callable, const ds_pk_value *args, int newobj,
                  ds_pk_value **out);
ds_status pk_build(ds_pickle *pk, ds_pk_value *inst, const ds_pk_value *state);

/* torch semantics (pickle_torch.c). */
ds_status pk_persistent_load(ds_pickle *pk, const ds_pk_value *pid, ds_pk_value **out);
ds_status pk_rebuild_tensor(ds_pickle *pk, int id, const ds_pk_value *args, ds_pk_value **out);

#endif
