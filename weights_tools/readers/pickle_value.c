/* pickle_value.c: the pickle context, its value arena, and error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/readers/pickle_internal.h"

const ds_pickle_limits ds_pickle_default_limits = {
    .max_stack = (size_t)1 << 20,
    .max_marks = 1000,
    .max_memo = (size_t)1 << 22,
    .max_bytes = (size_t)512 << 20,
};

enum { SLAB_VALUES = 256 };

/* Values come from slabs so that shared and even cyclic values (the memo
 * allows both) are freed in one sweep, with no reference counts. */
struct pk_slab {
    struct pk_slab *next;
    size_t used;
    ds_pk_value v[SLAB_VALUES];
};

static ds_status charge(ds_pickle *pk, size_t n) {
    if (n > pk->lim.max_bytes - pk->bytes)
        return pk_fail(pk, DS_ERR_FORMAT, "pickle needs more than the %zu MiB memory limit",
                       pk->lim.max_bytes >> 20);
    pk->bytes += n;
    return DS_OK;
}

static ds_status no_memory(ds_pickle *pk) {
    return pk_fail(pk, DS_ERR_OUT_OF_MEMORY, "out of memory reading the pickle");
}

ds_status pk_grow(ds_pickle *pk, void **array, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return DS_OK;
    size_t new_cap = *cap ? *cap : 4;
    while (new_cap < need)
        new_cap = new_cap > SIZE_MAX / 2 ? need : new_cap * 2;
    if (new_cap > SIZE_MAX / elem)
        return no_memory(pk);
    DS_TRY(charge(pk, (new_cap - *cap) * elem));
    void *grown = realloc(*array, new_cap * elem);
    if (!grown)
        return no_memory(pk);
    *array = grown;
    *cap = new_cap;
    return DS_OK;
}

ds_status pk_new(ds_pickle *pk, ds_pk_kind kind, ds_pk_value **out) {
    struct pk_slab *slab = pk->slabs;
    if (!slab || slab->used == SLAB_VALUES) {
        DS_TRY(charge(pk, sizeof *slab));
        slab = calloc(1, sizeof *slab);
        if (!slab)
            return no_memory(pk);
        slab->next = pk->slabs;
        pk->slabs = slab;
    }
    ds_pk_value *v = &slab->v[slab->used++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    *out = v;
    return DS_OK;
}

ds_status pk_new_blob(ds_pickle *pk, ds_pk_kind kind, const void *bytes, size_t len,
                      ds_pk_value **out) {
    if (len == SIZE_MAX)
        return no_memory(pk);
    DS_TRY(charge(pk, len + 1));
    char *copy = malloc(len + 1);
    if (!copy)
        return no_memory(pk);
    if (len)
        memcpy(copy, bytes, len);
    copy[len] = '\0';
    ds_status s = pk_new(pk, kind, out);
    if (s != DS_OK) {
        free(copy);
        return s;
    }
    (*out)->u.s.ptr = copy;
    (*out)->u.s.len = len;
    return DS_OK;
}

ds_status pk_new_int(ds_pickle *pk, int64_t v, ds_pk_value **out) {
    DS_TRY(pk_new(pk, DS_PK_INT, out));
    (*out)->u.i = v;
    return DS_OK;
}

ds_status pk_new_float(ds_pickle *pk, double v, ds_pk_value **out) {
    DS_TRY(pk_new(pk, DS_PK_FLOAT, out));
    (*out)->u.f = v;
    return DS_OK;
}

ds_status pk_new_seq(ds_pickle *pk, ds_pk_kind kind, ds_pk_value *const *items, size_t n,
                     ds_pk_value **out) {
    ds_pk_value *v;
    DS_TRY(pk_new(pk, kind, &v));
    if (n) {
        void *arr = NULL;
        DS_TRY(pk_grow(pk, &arr, &v->u.seq.cap, n, sizeof *items));
        v->u.seq.items = arr;
        memcpy(v->u.seq.items, items, n * sizeof *items);
        v->u.seq.n = n;
    }
    *out = v;
    return DS_OK;
}

ds_status pk_new_opaque(ds_pickle *pk, const char *what, ds_pk_value **out) {
    DS_TRY(pk_new(pk, DS_PK_OPAQUE, out));
    (*out)->u.opaque = what;
    return DS_OK;
}

ds_status pk_seq_push(ds_pickle *pk, ds_pk_value *seq, ds_pk_value *item) {
    void *arr = seq->u.seq.items;
    DS_TRY(pk_grow(pk, &arr, &seq->u.seq.cap, seq->u.seq.n + 1, sizeof item));
    seq->u.seq.items = arr;
    seq->u.seq.items[seq->u.seq.n++] = item;
    return DS_OK;
}

ds_status ds_pickle_new(const char *label, const ds_pickle_limits *limits, ds_pickle **out) {
    *out = NULL;
    const char *name = label ? label : "pickle";
    ds_pickle *pk = calloc(1, sizeof *pk);
    if (pk)
        pk->label = strdup(name);
    if (!pk || !pk->label) {
        free(pk);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    pk->lim = limits ? *limits : ds_pickle_default_limits;
    ds_status s = pk_new(pk, DS_PK_NONE, &pk->none);
    if (s == DS_OK)
        s = pk_new(pk, DS_PK_BOOL, &pk->yes);
    if (s == DS_OK)
        s = pk_new(pk, DS_PK_BOOL, &pk->no);
    if (s != DS_OK) {
        ds_pickle_free(pk);
        return s;
    }
    pk->yes->u.b = 1;
    *out = pk;
    return DS_OK;
}

void ds_pickle_free(ds_pickle *pk) {
    if (!pk)
        return;
    struct pk_slab *slab = pk->slabs;
    while (slab) {
        for (size_t i = 0; i < slab->used; i++) {
            ds_pk_value *v = &slab->v[i];
            switch (v->kind) {
            case DS_PK_STR:
            case DS_PK_BYTES:
            case DS_PK_BIGINT: free(v->u.s.ptr); break;
            case DS_PK_TUPLE:
            case DS_PK_LIST:
            case DS_PK_DICT: free(v->u.seq.items); break;
            default: break;
            }
        }
        struct pk_slab *next = slab->next;
        free(slab);
        slab = next;
    }
    free(pk->stack);
    free(pk->marks);
    free(pk->memo);
    free(pk->storages);
    free(pk->label);
    free(pk);
}

size_t ds_pickle_storage_count(const ds_pickle *pk) { return pk->n_storages; }

const ds_pk_storage *ds_pickle_storage(const ds_pickle *pk, size_t i) {
    return i < pk->n_storages ? &pk->storages[i]->u.storage : NULL;
}

const ds_pk_value *ds_pk_dict_get(const ds_pk_value *dict, const char *key) {
    if (!dict || dict->kind != DS_PK_DICT)
        return NULL;
    size_t klen = strlen(key);
    const ds_pk_value *found = NULL;
    for (size_t i = 0; i + 1 < dict->u.seq.n; i += 2) {
        const ds_pk_value *k = dict->u.seq.items[i];
        if (k->kind == DS_PK_STR && k->u.s.len == klen && memcmp(k->u.s.ptr, key, klen) == 0)
            found = dict->u.seq.items[i + 1];
    }
    return found;
}

/* Printable form of a name from the input, for one-line messages. */
void ds_pk_printable(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0, i = 0;
    for (; i < n && o + 8 < cap; i++) { /* room for an escape, "..." and the NUL */
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

const char *ds_pk_kind_name(ds_pk_kind kind) {
    static const char *names[DS_PK_KIND_COUNT] = {
        "None",  "bool", "int",  "big int", "float",  "str", "bytes",
        "tuple", "list", "dict", "global", "storage", "tensor", "object"};
    return (unsigned)kind < DS_PK_KIND_COUNT ? names[kind] : "?";
}

const char *pk_opcode_name(uint8_t op) {
    switch (op) {
    case 0x28: return "MARK";
    case 0x29: return "EMPTY_TUPLE";
    case 0x2e: return "STOP";
    case 0x30: return "POP";
    case 0x31: return "POP_MARK";
    case 0x32: return "DUP";
    case 0x42: return "BINBYTES";
    case 0x43: return "SHORT_BINBYTES";
    case 0x46: return "FLOAT";
    case 0x47: return "BINFLOAT";
    case 0x49: return "INT";
    case 0x4a: return "BININT";
    case 0x4b: return "BININT1";
    case 0x4c: return "LONG";
    case 0x4d: return "BININT2";
    case 0x4e: return "NONE";
    case 0x50: return "PERSID";
    case 0x51: return "BINPERSID";
    case 0x52: return "REDUCE";
    case 0x53: return "STRING";
    case 0x54: return "BINSTRING";
    case 0x55: return "SHORT_BINSTRING";
    case 0x56: return "UNICODE";
    case 0x58: return "BINUNICODE";
    case 0x5d: return "EMPTY_LIST";
    case 0x61: return "APPEND";
    case 0x62: return "BUILD";
    case 0x63: return "GLOBAL";
    case 0x64: return "DICT";
    case 0x65: return "APPENDS";
    case 0x67: return "GET";
    case 0x68: return "BINGET";
    case 0x69: return "INST";
    case 0x6a: return "LONG_BINGET";
    case 0x6c: return "LIST";
    case 0x6f: return "OBJ";
    case 0x70: return "PUT";
    case 0x71: return "BINPUT";
    case 0x72: return "LONG_BINPUT";
    case 0x73: return "SETITEM";
    case 0x74: return "TUPLE";
    case 0x75: return "SETITEMS";
    case 0x7d: return "EMPTY_DICT";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return NULL;
    }
}

ds_status pk_fail(ds_pickle *pk, ds_status status, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!pk->data)
        return ds_fail(status, "%s: %s", pk->label, what);
    const char *name = pk_opcode_name(pk->op);
    if (name)
        return ds_fail(status, "%s: %s at byte %zu (opcode %s)", pk->label, what, pk->op_pos,
                       name);
    return ds_fail(status, "%s: %s at byte %zu", pk->label, what, pk->op_pos);
}
