/* gguf_kv.c: the metadata of a parsed GGUF file: typed getters and a short rendering. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "gguf/gguf.h"
#include "gguf/gguf_private.h"

enum {
    FORMAT_MAX_ITEMS = 8,    /* array elements shown before eliding the rest */
    FORMAT_MAX_STRING = 64,  /* string bytes shown before eliding the rest */
};

const char *ds_gguf_type_name(ds_gguf_type t) {
    static const char *const names[DS_GGUF_TYPE_COUNT] = {
        "uint8", "int8",    "uint16", "int16", "uint32", "int32",  "float32",
        "bool",  "string",  "array",  "uint64", "int64", "float64",
    };
    return (unsigned)t < DS_GGUF_TYPE_COUNT ? names[t] : "?";
}

size_t ds_gguf_scalar_size(ds_gguf_type t) {
    switch (t) {
    case DS_GGUF_UINT8: case DS_GGUF_INT8: case DS_GGUF_BOOL: return 1;
    case DS_GGUF_UINT16: case DS_GGUF_INT16: return 2;
    case DS_GGUF_UINT32: case DS_GGUF_INT32: case DS_GGUF_FLOAT32: return 4;
    case DS_GGUF_UINT64: case DS_GGUF_INT64: case DS_GGUF_FLOAT64: return 8;
    case DS_GGUF_STRING: case DS_GGUF_ARRAY: case DS_GGUF_TYPE_COUNT: break;
    }
    return 0;
}

size_t ds_gguf_n_kv(const ds_gguf *g) { return g->n_kv; }

const char *ds_gguf_kv_key(const ds_gguf *g, size_t i) { return i < g->n_kv ? g->kv[i].key : NULL; }

ds_gguf_type ds_gguf_kv_type(const ds_gguf *g, size_t i) {
    return i < g->n_kv ? g->kv[i].type : DS_GGUF_TYPE_COUNT;
}

ds_gguf_type ds_gguf_kv_array_type(const ds_gguf *g, size_t i) {
    return i < g->n_kv && g->kv[i].type == DS_GGUF_ARRAY ? g->kv[i].arr_type : (ds_gguf_type)0;
}

size_t ds_gguf_kv_array_len(const ds_gguf *g, size_t i) {
    return i < g->n_kv && g->kv[i].type == DS_GGUF_ARRAY ? (size_t)g->kv[i].arr_len : 0;
}

long ds_gguf_find_kv(const ds_gguf *g, const char *key) {
    return ds_gguf_lookup(g->kv_by_key, g->n_kv, key);
}

/* ---- integers of any width ---- */

typedef struct intval {
    int is_signed;
    int64_t s;
    uint64_t u;
} intval;

static int read_int(ds_gguf_type t, const uint8_t *p, intval *v) {
    memset(v, 0, sizeof *v);
    switch (t) {
    case DS_GGUF_UINT8: v->u = p[0]; return 1;
    case DS_GGUF_UINT16: v->u = ds_le16(p); return 1;
    case DS_GGUF_UINT32: v->u = ds_le32(p); return 1;
    case DS_GGUF_UINT64: v->u = ds_le64(p); return 1;
    case DS_GGUF_INT8: v->s = (int8_t)p[0]; break;
    case DS_GGUF_INT16: v->s = (int16_t)ds_le16(p); break;
    case DS_GGUF_INT32: v->s = (int32_t)ds_le32(p); break;
    case DS_GGUF_INT64: v->s = (int64_t)ds_le64(p); break;
    default: return 0;
    }
    v->is_signed = 1;
    return 1;
}

static int is_int_type(ds_gguf_type t) {
    uint8_t zero[8] = {0};
    intval v;
    return read_int(t, zero, &v);
}

static int int_fits(const intval *v, int64_t lo, uint64_t hi) {
    if (v->is_signed)
        return v->s >= lo && (v->s < 0 || (uint64_t)v->s <= hi);
    return v->u <= hi;
}

static float read_f32(const uint8_t *p) {
    uint32_t u = ds_le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double read_f64(const uint8_t *p) {
    uint64_t u = ds_le64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- rendering ---- */

typedef struct out {
    char *buf;
    size_t cap;
    size_t len;
} out;

static void put(out *o, const char *fmt, ...) DS_PRINTF(2, 3);
static void put(out *o, const char *fmt, ...) {
    if (o->len + 1 >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

static void put_string(out *o, const uint8_t *s, size_t len) {
    put(o, "\"");
    size_t shown = len < FORMAT_MAX_STRING ? len : FORMAT_MAX_STRING;
    for (size_t i = 0; i < shown; i++) {
        uint8_t ch = s[i];
        if (ch == '"' || ch == '\\')
            put(o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            put(o, "\\x%02x", ch);
        else
            put(o, "%c", ch);
    }
    put(o, shown < len ? "...\"" : "\"");
}

/* Renders one element at p; returns the bytes it takes. */
static size_t put_elem(out *o, ds_gguf_type t, const uint8_t *p) {
    intval v;
    if (read_int(t, p, &v)) {
        if (v.is_signed)
            put(o, "%" PRId64, v.s);
        else
            put(o, "%" PRIu64, v.u);
        return ds_gguf_scalar_size(t);
    }
    switch (t) {
    case DS_GGUF_FLOAT32: put(o, "%g", (double)read_f32(p)); return 4;
    case DS_GGUF_FLOAT64: put(o, "%g", read_f64(p)); return 8;
    case DS_GGUF_BOOL: put(o, "%s", p[0] ? "true" : "false"); return 1;
    case DS_GGUF_STRING: {
        size_t len = (size_t)ds_le64(p); /* checked against the file when parsed */
        put_string(o, p + 8, len);
        return 8 + len;
    }
    default: return 0;
    }
}

void ds_gguf_kv_format(const ds_gguf *g, size_t i, char *buf, size_t buflen) {
    if (!buf || buflen == 0)
        return;
    buf[0] = '\0';
    if (i >= g->n_kv)
        return;
    out o = {buf, buflen, 0};
    const ds_gguf_kv *kv = &g->kv[i];
    const uint8_t *p = g->base + kv->value_off;
    if (kv->type == DS_GGUF_STRING) {
        put_string(&o, p, kv->value_len);
        return;
    }
    if (kv->type != DS_GGUF_ARRAY) {
        put_elem(&o, kv->type, p);
        return;
    }
    put(&o, "[");
    for (uint64_t k = 0; k < kv->arr_len && k < FORMAT_MAX_ITEMS; k++) {
        if (k)
            put(&o, ", ");
        p += put_elem(&o, kv->arr_type, p);
    }
    if (kv->arr_len > FORMAT_MAX_ITEMS)
        put(&o, ", ... (%" PRIu64 " items)", kv->arr_len);
    put(&o, "]");
}

/* ---- typed getters ---- */

static void describe(const ds_gguf_kv *kv, char *buf, size_t n) {
    if (kv->type == DS_GGUF_ARRAY)
        snprintf(buf, n, "an array of %" PRIu64 " %s", kv->arr_len,
                 ds_gguf_type_name(kv->arr_type));
    else
        snprintf(buf, n, "%s", ds_gguf_type_name(kv->type));
}

static ds_status find(const ds_gguf *g, const char *key, const ds_gguf_kv **kv) {
    long i = ds_gguf_find_kv(g, key);
    if (i < 0)
        return ds_fail(DS_ERR_MODEL, "%s: key '%s' is missing", g->label, key ? key : "(null)");
    *kv = &g->kv[i];
    return DS_OK;
}

static ds_status wrong_type(const ds_gguf *g, const ds_gguf_kv *kv, const char *wanted) {
    char have[64];
    describe(kv, have, sizeof have);
    return ds_fail(DS_ERR_MODEL, "%s: key '%s' is %s, expected %s", g->label, kv->key, have,
                   wanted);
}

static ds_status get_int(const ds_gguf *g, const char *key, int64_t lo, uint64_t hi,
                         const char *wanted, intval *v) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (!read_int(kv->type, g->base + kv->value_off, v))
        return wrong_type(g, kv, wanted);
    if (!int_fits(v, lo, hi)) {
        if (v->is_signed)
            return ds_fail(DS_ERR_MODEL, "%s: key '%s' is %" PRId64 ", which does not fit in %s",
                           g->label, key, v->s, wanted);
        return ds_fail(DS_ERR_MODEL, "%s: key '%s' is %" PRIu64 ", which does not fit in %s",
                       g->label, key, v->u, wanted);
    }
    return DS_OK;
}

ds_status ds_gguf_get_u32(const ds_gguf *g, const char *key, uint32_t *out) {
    intval v;
    DS_TRY(get_int(g, key, 0, UINT32_MAX, "uint32", &v));
    *out = v.is_signed ? (uint32_t)v.s : (uint32_t)v.u;
    return DS_OK;
}

ds_status ds_gguf_get_i64(const ds_gguf *g, const char *key, int64_t *out) {
    intval v;
    DS_TRY(get_int(g, key, INT64_MIN, INT64_MAX, "int64", &v));
    *out = v.is_signed ? v.s : (int64_t)v.u;
    return DS_OK;
}

ds_status ds_gguf_get_f32(const ds_gguf *g, const char *key, float *out) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (kv->type != DS_GGUF_FLOAT32)
        return wrong_type(g, kv, "float32");
    *out = read_f32(g->base + kv->value_off);
    return DS_OK;
}

ds_status ds_gguf_get_bool(const ds_gguf *g, const char *key, bool *out) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (kv->type != DS_GGUF_BOOL)
        return wrong_type(g, kv, "bool");
    *out = g->base[kv->value_off] != 0;
    return DS_OK;
}

ds_status ds_gguf_get_str(const ds_gguf *g, const char *key, const char **out) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (kv->type != DS_GGUF_STRING)
        return wrong_type(g, kv, "string");
    if (memchr(kv->str, 0, kv->value_len))
        return ds_fail(DS_ERR_MODEL, "%s: key '%s': string contains a NUL byte", g->label, key);
    *out = kv->str;
    return DS_OK;
}

ds_status ds_gguf_get_f32_array(const ds_gguf *g, const char *key, float *out, size_t n) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (kv->type != DS_GGUF_ARRAY || kv->arr_type != DS_GGUF_FLOAT32 || kv->arr_len != n) {
        char wanted[64];
        snprintf(wanted, sizeof wanted, "an array of %zu float32", n);
        return wrong_type(g, kv, wanted);
    }
    const uint8_t *p = g->base + kv->value_off;
    for (size_t k = 0; k < n; k++)
        out[k] = read_f32(p + 4 * k);
    return DS_OK;
}

ds_status ds_gguf_get_i32_array(const ds_gguf *g, const char *key, int32_t *out, size_t n) {
    const ds_gguf_kv *kv = NULL;
    DS_TRY(find(g, key, &kv));
    if (kv->type != DS_GGUF_ARRAY || kv->arr_len != n || !is_int_type(kv->arr_type)) {
        char wanted[64];
        snprintf(wanted, sizeof wanted, "an array of %zu integers", n);
        return wrong_type(g, kv, wanted);
    }
    size_t es = ds_gguf_scalar_size(kv->arr_type);
    for (size_t k = 0; k < n; k++) {
        intval v;
        read_int(kv->arr_type, g->base + kv->value_off + k * es, &v);
        if (!int_fits(&v, INT32_MIN, INT32_MAX))
            return ds_fail(DS_ERR_MODEL, "%s: key '%s': element %zu does not fit in int32",
                           g->label, key, k);
        out[k] = v.is_signed ? (int32_t)v.s : (int32_t)v.u;
    }
    return DS_OK;
}
