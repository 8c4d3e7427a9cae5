/*
 * pickle.c: the pickle virtual machine, one opcode at a time.
 *
 * It follows CPython's Unpickler (Lib/pickle.py) but only builds data:
 * globals go through the allow-list in pickle_globals.c and calls are
 * interpreted there, never executed. The stack is one array; MARK records
 * its height, and an opcode may only reach values above the innermost mark,
 * as in CPython's metastack.
 */
#include <stdlib.h>
#include <string.h>

#include "weights_tools/readers/pickle_internal.h"

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G', OP_BINBYTES = 'B',
    OP_SHORT_BINBYTES = 'C',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b, OP_SHORT_BINUNICODE = 0x8c,
    OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e, OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90,
    OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92, OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94,
    OP_FRAME = 0x95, OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98
};

enum { HIGHEST_PROTOCOL = 5 };

/* ---- reading the input ---------------------------------------------------- */

static ds_status take(ds_pickle *pk, uint64_t n, const uint8_t **out) {
    size_t left = pk->len - pk->pos;
    if (n > left)
        return pk_fail(pk, DS_ERR_FORMAT, "truncated: argument needs %llu bytes, %zu left",
                       (unsigned long long)n, left);
    *out = pk->data + pk->pos;
    pk->pos += (size_t)n;
    return DS_OK;
}

static ds_status take_uint(ds_pickle *pk, int nbytes, uint64_t *out) {
    const uint8_t *p = NULL;
    DS_TRY(take(pk, (uint64_t)nbytes, &p));
    uint64_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    *out = v;
    return DS_OK;
}

/* A text argument up to '\n' (excluded). */
static ds_status take_line(ds_pickle *pk, const uint8_t **s, size_t *n) {
    const uint8_t *start = pk->data + pk->pos;
    const uint8_t *nl = memchr(start, '\n', pk->len - pk->pos);
    if (!nl)
        return pk_fail(pk, DS_ERR_FORMAT, "truncated: text argument has no end of line");
    *s = start;
    *n = (size_t)(nl - start);
    pk->pos += *n + 1;
    return DS_OK;
}

/* ---- stack, marks, memo ----------------------------------------------------- */

static size_t frame_base(const ds_pickle *pk) {
    return pk->n_marks ? pk->marks[pk->n_marks - 1] : 0;
}

static ds_status push(ds_pickle *pk, ds_pk_value *v) {
    if (pk->sp >= pk->lim.max_stack)
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack deeper than %zu values",
                       pk->lim.max_stack);
    void *arr = pk->stack;
    DS_TRY(pk_grow(pk, &arr, &pk->stack_cap, pk->sp + 1, sizeof *pk->stack));
    pk->stack = arr;
    pk->stack[pk->sp++] = v;
    return DS_OK;
}

static ds_status pop(ds_pickle *pk, ds_pk_value **out) {
    if (pk->sp <= frame_base(pk))
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack underflow");
    *out = pk->stack[--pk->sp];
    return DS_OK;
}

static ds_status top(ds_pickle *pk, ds_pk_value **out) {
    if (pk->sp <= frame_base(pk))
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack underflow");
    *out = pk->stack[pk->sp - 1];
    return DS_OK;
}

static ds_status push_mark(ds_pickle *pk) {
    if (pk->n_marks >= pk->lim.max_marks)
        return pk_fail(pk, DS_ERR_FORMAT, "containers nested deeper than %zu MARKs",
                       pk->lim.max_marks);
    void *arr = pk->marks;
    DS_TRY(pk_grow(pk, &arr, &pk->marks_cap, pk->n_marks + 1, sizeof *pk->marks));
    pk->marks = arr;
    pk->marks[pk->n_marks++] = pk->sp;
    return DS_OK;
}

/* Ends the innermost mark: the values above it are stack[*base .. sp). */
static ds_status pop_mark(ds_pickle *pk, size_t *base) {
    if (pk->n_marks == 0)
        return pk_fail(pk, DS_ERR_FORMAT, "no MARK to close");
    *base = pk->marks[--pk->n_marks];
    return DS_OK;
}

static ds_status memo_put(ds_pickle *pk, uint64_t key) {
    ds_pk_value *v;
    DS_TRY(top(pk, &v));
    if (key >= pk->lim.max_memo)
        return pk_fail(pk, DS_ERR_FORMAT, "memo key %llu beyond the limit of %zu",
                       (unsigned long long)key, pk->lim.max_memo);
    size_t old_cap = pk->memo_cap;
    void *arr = pk->memo;
    DS_TRY(pk_grow(pk, &arr, &pk->memo_cap, (size_t)key + 1, sizeof *pk->memo));
    pk->memo = arr;
    if (pk->memo_cap > old_cap)
        memset(pk->memo + old_cap, 0, (pk->memo_cap - old_cap) * sizeof *pk->memo);
    if (!pk->memo[key])
        pk->memo_count++;
    pk->memo[key] = v;
    if (key >= pk->memo_used)
        pk->memo_used = (size_t)key + 1;
    return DS_OK;
}

static ds_status memo_get(ds_pickle *pk, uint64_t key) {
    if (key >= pk->memo_used || !pk->memo[key])
        return pk_fail(pk, DS_ERR_FORMAT, "memo key %llu was never stored",
                       (unsigned long long)key);
    return push(pk, pk->memo[key]);
}

static ds_status line_key(ds_pickle *pk, uint64_t *key) {
    const uint8_t *s;
    size_t n;
    DS_TRY(take_line(pk, &s, &n));
    uint64_t v = 0;
    if (n == 0 || n > 19)
        return pk_fail(pk, DS_ERR_FORMAT, "bad memo key");
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return pk_fail(pk, DS_ERR_FORMAT, "bad memo key");
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *key = v;
    return DS_OK;
}

/* ---- values from the input ----------------------------------------------- */

static ds_status push_int(ds_pickle *pk, int64_t v) {
    ds_pk_value *val;
    DS_TRY(pk_new_int(pk, v, &val));
    return push(pk, val);
}

static ds_status push_blob(ds_pickle *pk, ds_pk_kind kind, uint64_t n) {
    const uint8_t *p = NULL;
    DS_TRY(take(pk, n, &p));
    if (kind == DS_PK_STR && !pk_utf8_valid(p, (size_t)n))
        return pk_fail(pk, DS_ERR_FORMAT, "string is not valid UTF-8");
    ds_pk_value *v;
    DS_TRY(pk_new_blob(pk, kind, p, (size_t)n, &v));
    return push(pk, v);
}

static ds_status push_sized_blob(ds_pickle *pk, ds_pk_kind kind, int len_bytes, int is_signed) {
    uint64_t n;
    DS_TRY(take_uint(pk, len_bytes, &n));
    if (is_signed && (n & 0x80000000u))
        return pk_fail(pk, DS_ERR_FORMAT, "negative length");
    return push_blob(pk, kind, n);
}

/* LONG1/LONG4: little-endian two's complement; int64 when it fits. */
static ds_status push_long(ds_pickle *pk, int len_bytes) {
    uint64_t n;
    DS_TRY(take_uint(pk, len_bytes, &n));
    if (len_bytes == 4 && (n & 0x80000000u))
        return pk_fail(pk, DS_ERR_FORMAT, "negative length");
    const uint8_t *p = NULL;
    DS_TRY(take(pk, n, &p));
    size_t k = (size_t)n;
    /* drop redundant sign bytes so that equal values compare equal */
    while (k > 1 && ((p[k - 1] == 0x00 && !(p[k - 2] & 0x80)) ||
                     (p[k - 1] == 0xff && (p[k - 2] & 0x80))))
        k--;
    if (k > 8) {
        ds_pk_value *v;
        DS_TRY(pk_new_blob(pk, DS_PK_BIGINT, p, k, &v));
        return push(pk, v);
    }
    uint64_t u = (k && (p[k - 1] & 0x80)) ? UINT64_MAX : 0;
    for (size_t i = k; i-- > 0;)
        u = (u << 8) | p[i];
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return push_int(pk, v);
}

static ds_status push_line(ds_pickle *pk, ds_status (*parse)(ds_pickle *, const uint8_t *,
                                                              size_t, ds_pk_value **)) {
    const uint8_t *s;
    size_t n;
    DS_TRY(take_line(pk, &s, &n));
    ds_pk_value *v;
    DS_TRY(parse(pk, s, n, &v));
    return push(pk, v);
}

static ds_status op_int_line(ds_pickle *pk) {
    const uint8_t *s;
    size_t n;
    DS_TRY(take_line(pk, &s, &n));
    if (n == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) /* protocol 0 bools */
        return push(pk, s[1] == '1' ? pk->yes : pk->no);
    ds_pk_value *v;
    DS_TRY(pk_parse_decimal(pk, s, n, &v));
    return push(pk, v);
}

static ds_status op_binfloat(ds_pickle *pk) {
    uint64_t be, u = 0;
    DS_TRY(take_uint(pk, 8, &be));
    for (int i = 0; i < 8; i++) /* stored big-endian */
        u = (u << 8) | ((be >> (8 * i)) & 0xff);
    double d;
    memcpy(&d, &u, sizeof d);
    ds_pk_value *v;
    DS_TRY(pk_new_float(pk, d, &v));
    return push(pk, v);
}

/* ---- containers ------------------------------------------------------------- */

/* stack[base..sp), without pointer arithmetic on a stack not yet allocated */
static ds_pk_value *const *stack_from(const ds_pickle *pk, size_t base) {
    return base < pk->sp ? pk->stack + base : NULL;
}

static ds_status push_seq_from(ds_pickle *pk, ds_pk_kind kind, size_t base) {
    ds_pk_value *v;
    DS_TRY(pk_new_seq(pk, kind, stack_from(pk, base), pk->sp - base, &v));
    pk->sp = base;
    return push(pk, v);
}

static ds_status op_seq_from_mark(ds_pickle *pk, ds_pk_kind kind) {
    size_t base = 0;
    DS_TRY(pop_mark(pk, &base));
    if (kind == DS_PK_DICT && (pk->sp - base) % 2)
        return pk_fail(pk, DS_ERR_FORMAT, "odd number of items for a dict");
    return push_seq_from(pk, kind, base);
}

static ds_status op_tuple_n(ds_pickle *pk, size_t n) {
    if (pk->sp - frame_base(pk) < n)
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack underflow");
    return push_seq_from(pk, DS_PK_TUPLE, pk->sp - n);
}

static ds_status push_empty(ds_pickle *pk, ds_pk_kind kind) {
    ds_pk_value *v;
    DS_TRY(pk_new_seq(pk, kind, NULL, 0, &v));
    return push(pk, v);
}

static ds_status expect(ds_pickle *pk, const ds_pk_value *v, ds_pk_kind kind, const char *what) {
    if (v->kind != kind)
        return pk_fail(pk, DS_ERR_FORMAT, "%s on a %s", what, ds_pk_kind_name(v->kind));
    return DS_OK;
}

/* APPEND(S), SETITEM(S), ADDITEMS: stack[base..sp) go into the container below them. */
static ds_status add_items(ds_pickle *pk, size_t base, ds_pk_kind kind, const char *what) {
    if (base == 0 || base <= frame_base(pk))
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack underflow");
    ds_pk_value *target = pk->stack[base - 1];
    DS_TRY(expect(pk, target, kind, what));
    if (kind == DS_PK_DICT && (pk->sp - base) % 2)
        return pk_fail(pk, DS_ERR_FORMAT, "odd number of items for a dict");
    for (size_t i = base; i < pk->sp; i++)
        DS_TRY(pk_seq_push(pk, target, pk->stack[i]));
    pk->sp = base;
    return DS_OK;
}

static ds_status op_add_from_mark(ds_pickle *pk, ds_pk_kind kind, const char *what) {
    size_t base = 0;
    DS_TRY(pop_mark(pk, &base));
    return add_items(pk, base, kind, what);
}

static ds_status op_add_n(ds_pickle *pk, size_t n, ds_pk_kind kind, const char *what) {
    if (pk->sp - frame_base(pk) < n)
        return pk_fail(pk, DS_ERR_FORMAT, "pickle stack underflow");
    return add_items(pk, pk->sp - n, kind, what);
}

/* ---- globals, calls, persistent ids ------------------------------------- */

static ds_status op_global_lines(ds_pickle *pk, ds_pk_value **out) {
    const uint8_t *mod, *name;
    size_t mod_len, name_len;
    DS_TRY(take_line(pk, &mod, &mod_len));
    DS_TRY(take_line(pk, &name, &name_len));
    if (!pk_utf8_valid(mod, mod_len) || !pk_utf8_valid(name, name_len))
        return pk_fail(pk, DS_ERR_FORMAT, "global name is not valid UTF-8");
    return pk_find_global(pk, (const char *)mod, mod_len, (const char *)name, name_len, out);
}

static ds_status op_stack_global(ds_pickle *pk) {
    ds_pk_value *mod, *name, *g;
    DS_TRY(pop(pk, &name));
    DS_TRY(pop(pk, &mod));
    if (mod->kind != DS_PK_STR || name->kind != DS_PK_STR)
        return pk_fail(pk, DS_ERR_FORMAT, "STACK_GLOBAL needs two str, got %s and %s",
                       ds_pk_kind_name(mod->kind), ds_pk_kind_name(name->kind));
    DS_TRY(pk_find_global(pk, mod->u.s.ptr, mod->u.s.len, name->u.s.ptr, name->u.s.len, &g));
    return push(pk, g);
}

static ds_status op_reduce(ds_pickle *pk) {
    ds_pk_value *args, *fn, *result;
    DS_TRY(pop(pk, &args));
    DS_TRY(top(pk, &fn));
    DS_TRY(pk_call(pk, fn, args, 0, &result));
    pk->stack[pk->sp - 1] = result;
    return DS_OK;
}

static ds_status op_newobj(ds_pickle *pk, int with_kwargs) {
    ds_pk_value *cls, *args, *kwargs = NULL, *result;
    if (with_kwargs)
        DS_TRY(pop(pk, &kwargs));
    DS_TRY(pop(pk, &args));
    DS_TRY(pop(pk, &cls));
    if (kwargs && (kwargs->kind != DS_PK_DICT || kwargs->u.seq.n != 0))
        return pk_fail(pk, DS_ERR_UNSUPPORTED, "NEWOBJ_EX with keyword arguments");
    DS_TRY(pk_call(pk, cls, args, 1, &result));
    return push(pk, result);
}

/* INST and OBJ: old-style calls with their arguments above a mark. */
static ds_status op_inst(ds_pickle *pk, int cls_on_stack) {
    ds_pk_value *cls = NULL, *args, *result;
    if (!cls_on_stack)
        DS_TRY(op_global_lines(pk, &cls));
    size_t base = 0;
    DS_TRY(pop_mark(pk, &base));
    if (cls_on_stack) {
        if (pk->sp == base)
            return pk_fail(pk, DS_ERR_FORMAT, "OBJ without a class");
        cls = pk->stack[base++];
    }
    DS_TRY(pk_new_seq(pk, DS_PK_TUPLE, stack_from(pk, base), pk->sp - base, &args));
    pk->sp = base - (cls_on_stack ? 1 : 0);
    DS_TRY(pk_call(pk, cls, args, 0, &result));
    return push(pk, result);
}

static ds_status op_build(ds_pickle *pk) {
    ds_pk_value *state, *inst;
    DS_TRY(pop(pk, &state));
    DS_TRY(top(pk, &inst));
    return pk_build(pk, inst, state);
}

static ds_status op_persid(ds_pickle *pk, int binary) {
    ds_pk_value *pid, *v;
    if (binary) {
        DS_TRY(pop(pk, &pid));
    } else {
        const uint8_t *s;
        size_t n;
        DS_TRY(take_line(pk, &s, &n));
        if (!pk_utf8_valid(s, n))
            return pk_fail(pk, DS_ERR_FORMAT, "persistent id is not valid UTF-8");
        DS_TRY(pk_new_blob(pk, DS_PK_STR, s, n, &pid));
    }
    DS_TRY(pk_persistent_load(pk, pid, &v));
    return push(pk, v);
}

/* ---- the loop ------------------------------------------------------------------ */

static ds_status step(ds_pickle *pk, int *stop) {
    uint64_t n;
    ds_pk_value *v;
    switch (pk->op) {
    case OP_PROTO:
        DS_TRY(take_uint(pk, 1, &n));
        if (n > HIGHEST_PROTOCOL)
            return pk_fail(pk, DS_ERR_UNSUPPORTED, "pickle protocol %llu (at most %d)",
                           (unsigned long long)n, HIGHEST_PROTOCOL);
        pk->proto = (int)n;
        return DS_OK;
    case OP_FRAME:
        DS_TRY(take_uint(pk, 8, &n));
        if (n > pk->len - pk->pos)
            return pk_fail(pk, DS_ERR_FORMAT, "truncated: frame of %llu bytes, %zu left",
                           (unsigned long long)n, pk->len - pk->pos);
        return DS_OK;
    case OP_STOP: *stop = 1; return DS_OK;
    case OP_MARK: return push_mark(pk);
    case OP_POP:
        if (pk->sp > frame_base(pk)) {
            pk->sp--;
            return DS_OK;
        }
        return pop_mark(pk, &pk->sp);
    case OP_POP_MARK: return pop_mark(pk, &pk->sp);
    case OP_DUP:
        DS_TRY(top(pk, &v));
        return push(pk, v);

    case OP_NONE: return push(pk, pk->none);
    case OP_NEWTRUE: return push(pk, pk->yes);
    case OP_NEWFALSE: return push(pk, pk->no);
    case OP_INT: return op_int_line(pk);
    case OP_LONG: return push_line(pk, pk_parse_decimal);
    case OP_BININT:
        DS_TRY(take_uint(pk, 4, &n));
        return push_int(pk, (int32_t)(uint32_t)n);
    case OP_BININT1:
        DS_TRY(take_uint(pk, 1, &n));
        return push_int(pk, (int64_t)n);
    case OP_BININT2:
        DS_TRY(take_uint(pk, 2, &n));
        return push_int(pk, (int64_t)n);
    case OP_LONG1: return push_long(pk, 1);
    case OP_LONG4: return push_long(pk, 4);
    case OP_FLOAT: return push_line(pk, pk_parse_float);
    case OP_BINFLOAT: return op_binfloat(pk);

    case OP_STRING: return push_line(pk, pk_parse_quoted);
    case OP_BINSTRING: return push_sized_blob(pk, DS_PK_STR, 4, 1);
    case OP_SHORT_BINSTRING: return push_sized_blob(pk, DS_PK_STR, 1, 0);
    case OP_UNICODE: return push_line(pk, pk_parse_raw_unicode);
    case OP_SHORT_BINUNICODE: return push_sized_blob(pk, DS_PK_STR, 1, 0);
    case OP_BINUNICODE: return push_sized_blob(pk, DS_PK_STR, 4, 0);
    case OP_BINUNICODE8: return push_sized_blob(pk, DS_PK_STR, 8, 0);
    case OP_SHORT_BINBYTES: return push_sized_blob(pk, DS_PK_BYTES, 1, 0);
    case OP_BINBYTES: return push_sized_blob(pk, DS_PK_BYTES, 4, 0);
    case OP_BINBYTES8:
    case OP_BYTEARRAY8: return push_sized_blob(pk, DS_PK_BYTES, 8, 0);
    case OP_NEXT_BUFFER:
        return pk_fail(pk, DS_ERR_UNSUPPORTED, "out-of-band buffers are not supported");
    case OP_READONLY_BUFFER: return top(pk, &v);

    case OP_EMPTY_TUPLE: return push_empty(pk, DS_PK_TUPLE);
    case OP_TUPLE: return op_seq_from_mark(pk, DS_PK_TUPLE);
    case OP_TUPLE1: return op_tuple_n(pk, 1);
    case OP_TUPLE2: return op_tuple_n(pk, 2);
    case OP_TUPLE3: return op_tuple_n(pk, 3);
    case OP_EMPTY_LIST: return push_empty(pk, DS_PK_LIST);
    case OP_LIST: return op_seq_from_mark(pk, DS_PK_LIST);
    case OP_APPEND: return op_add_n(pk, 1, DS_PK_LIST, "APPEND");
    case OP_APPENDS: return op_add_from_mark(pk, DS_PK_LIST, "APPENDS");
    case OP_EMPTY_DICT: return push_empty(pk, DS_PK_DICT);
    case OP_DICT: return op_seq_from_mark(pk, DS_PK_DICT);
    case OP_SETITEM: return op_add_n(pk, 2, DS_PK_DICT, "SETITEM");
    case OP_SETITEMS: return op_add_from_mark(pk, DS_PK_DICT, "SETITEMS");
    case OP_EMPTY_SET: return push_empty(pk, DS_PK_LIST);
    case OP_ADDITEMS: return op_add_from_mark(pk, DS_PK_LIST, "ADDITEMS");
    case OP_FROZENSET: return op_seq_from_mark(pk, DS_PK_LIST);

    case OP_GET: DS_TRY(line_key(pk, &n)); return memo_get(pk, n);
    case OP_BINGET: DS_TRY(take_uint(pk, 1, &n)); return memo_get(pk, n);
    case OP_LONG_BINGET: DS_TRY(take_uint(pk, 4, &n)); return memo_get(pk, n);
    case OP_PUT: DS_TRY(line_key(pk, &n)); return memo_put(pk, n);
    case OP_BINPUT: DS_TRY(take_uint(pk, 1, &n)); return memo_put(pk, n);
    case OP_LONG_BINPUT: DS_TRY(take_uint(pk, 4, &n)); return memo_put(pk, n);
    case OP_MEMOIZE: return memo_put(pk, pk->memo_count);

    case OP_GLOBAL:
        DS_TRY(op_global_lines(pk, &v));
        return push(pk, v);
    case OP_STACK_GLOBAL: return op_stack_global(pk);
    case OP_EXT1:
    case OP_EXT2:
    case OP_EXT4:
        return pk_fail(pk, DS_ERR_UNSAFE,
                       "refusing a pickle global from the extension registry (only tensor and "
                       "state_dict types are allowed)");
    case OP_REDUCE: return op_reduce(pk);
    case OP_NEWOBJ: return op_newobj(pk, 0);
    case OP_NEWOBJ_EX: return op_newobj(pk, 1);
    case OP_INST: return op_inst(pk, 0);
    case OP_OBJ: return op_inst(pk, 1);
    case OP_BUILD: return op_build(pk);
    case OP_PERSID: return op_persid(pk, 0);
    case OP_BINPERSID: return op_persid(pk, 1);
    default: return pk_fail(pk, DS_ERR_FORMAT, "unknown pickle opcode 0x%02x", pk->op);
    }
}

ds_status ds_pickle_run(ds_pickle *pk, const uint8_t *data, size_t len, size_t start,
                        size_t *end, const ds_pk_value **root) {
    static const uint8_t nothing[1];
    *root = NULL;
    pk->data = data ? data : nothing;
    pk->len = data ? len : 0;
    pk->pos = start;
    pk->op = 0;
    pk->op_pos = start;
    pk->proto = 0;
    pk->sp = 0;
    pk->n_marks = 0;
    if (pk->memo_used)
        memset(pk->memo, 0, pk->memo_used * sizeof *pk->memo);
    pk->memo_used = 0;
    pk->memo_count = 0;

    ds_status s = start > len ? pk_fail(pk, DS_ERR_FORMAT, "pickle starts past the end") : DS_OK;
    int stop = 0;
    while (s == DS_OK && !stop) {
        pk->op_pos = pk->pos;
        if (pk->pos >= len) {
            pk->op = 0;
            s = pk_fail(pk, DS_ERR_FORMAT, "truncated: pickle ends without STOP");
            break;
        }
        pk->op = data[pk->pos++];
        s = step(pk, &stop);
    }
    ds_pk_value *result = NULL;
    if (s == DS_OK)
        s = pop(pk, &result);
    if (s == DS_OK) {
        *root = result;
        *end = pk->pos;
    }
    pk->data = NULL;
    return s;
}
