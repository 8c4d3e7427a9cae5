/* pickle_text.c: the text arguments of protocol 0 opcodes, and UTF-8 checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/readers/pickle_internal.h"

/* Python refuses int() of longer decimal strings (sys.int_info.default_max_str_digits). */
enum { MAX_DECIMAL_DIGITS = 4300, MAX_FLOAT_TEXT = 400 };

int pk_utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i < n)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n;
    }
    return 1;
}

static size_t utf8_put(uint8_t *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A scratch buffer charged against the context's memory limit. */
static ds_status scratch(ds_pickle *pk, size_t n, uint8_t **out) {
    void *p = NULL;
    size_t cap = 0;
    DS_TRY(pk_grow(pk, &p, &cap, n ? n : 1, 1));
    *out = p;
    return DS_OK;
}

static ds_status new_str(ds_pickle *pk, uint8_t *buf, size_t n, ds_pk_value **out) {
    ds_status s = pk_utf8_valid(buf, n)
                      ? pk_new_blob(pk, DS_PK_STR, buf, n, out)
                      : pk_fail(pk, DS_ERR_FORMAT, "string is not valid UTF-8");
    free(buf);
    return s;
}

/* Magnitude (little-endian bytes) times 10 plus d, for integers wider than 64 bits. */
static void mul10_add(uint8_t *mag, size_t n, unsigned d) {
    unsigned carry = d;
    for (size_t i = 0; i < n; i++) {
        unsigned v = mag[i] * 10u + carry;
        mag[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

ds_status pk_parse_decimal(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out) {
    if (len && s[len - 1] == 'L')
        len--;
    int neg = 0;
    size_t i = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return pk_fail(pk, DS_ERR_FORMAT, "integer argument has no digits");
    if (len - i > MAX_DECIMAL_DIGITS)
        return pk_fail(pk, DS_ERR_FORMAT, "integer argument longer than %d digits",
                       MAX_DECIMAL_DIGITS);
    uint64_t acc = 0;
    int wide = 0;
    for (size_t k = i; k < len; k++) {
        if (s[k] < '0' || s[k] > '9')
            return pk_fail(pk, DS_ERR_FORMAT, "integer argument has a non-digit");
        unsigned d = (unsigned)(s[k] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            wide = 1;
        acc = acc * 10 + d;
    }
    if (!wide && (acc <= INT64_MAX || (neg && acc == (uint64_t)INT64_MAX + 1)))
        return pk_new_int(pk, neg ? (int64_t)(0 - acc) : (int64_t)acc, out);

    /* wider than int64: little-endian two's complement, one spare sign byte */
    size_t n = (len - i) / 2 + 2;
    uint8_t *mag;
    DS_TRY(scratch(pk, n, &mag));
    memset(mag, 0, n);
    for (size_t k = i; k < len; k++)
        mul10_add(mag, n, (unsigned)(s[k] - '0'));
    if (neg) {
        unsigned carry = 1;
        for (size_t k = 0; k < n; k++) {
            unsigned v = (uint8_t)~mag[k] + carry;
            mag[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    while (n > 1 && ((mag[n - 1] == 0x00 && !(mag[n - 2] & 0x80)) ||
                     (mag[n - 1] == 0xff && (mag[n - 2] & 0x80))))
        n--;
    ds_status st = pk_new_blob(pk, DS_PK_BIGINT, mag, n, out);
    free(mag);
    return st;
}

ds_status pk_parse_float(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out) {
    char buf[MAX_FLOAT_TEXT + 1];
    if (len == 0 || len > MAX_FLOAT_TEXT)
        return pk_fail(pk, DS_ERR_FORMAT, "float argument of %zu characters", len);
    for (size_t k = 0; k < len; k++)
        if (s[k] == 0 || strchr("0123456789+-.eEinfaINFA", s[k]) == NULL)
            return pk_fail(pk, DS_ERR_FORMAT, "float argument is not a number");
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len)
        return pk_fail(pk, DS_ERR_FORMAT, "float argument is not a number");
    return pk_new_float(pk, v, out);
}

/* The one-character escapes of a Python 2 str literal; -1 for others. */
static int simple_escape(uint8_t c) {
    switch (c) {
    case '\\': return '\\';
    case '\'': return '\'';
    case '"': return '"';
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return -1;
    }
}

ds_status pk_parse_quoted(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out) {
    if (len < 2 || s[0] != s[len - 1] || (s[0] != '"' && s[0] != '\''))
        return pk_fail(pk, DS_ERR_FORMAT, "STRING argument must be quoted");
    s++;
    len -= 2;
    uint8_t *buf;
    DS_TRY(scratch(pk, len, &buf));
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            buf[n++] = s[i];
            continue;
        }
        if (++i == len) {
            free(buf);
            return pk_fail(pk, DS_ERR_FORMAT, "STRING argument ends in a backslash");
        }
        uint8_t c = s[i];
        int simple = simple_escape(c);
        if (simple >= 0) {
            buf[n++] = (uint8_t)simple;
        } else if (c == '\n') {
            /* line continuation: nothing */
        } else if (c >= '0' && c <= '7') {
            unsigned v = c - '0';
            for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                v = v * 8 + (unsigned)(s[++i] - '0');
            buf[n++] = (uint8_t)v;
        } else if (c == 'x') {
            int hi = i + 1 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(buf);
                return pk_fail(pk, DS_ERR_FORMAT, "STRING argument has a bad \\x escape");
            }
            buf[n++] = (uint8_t)(hi * 16 + lo);
            i += 2;
        } else {
            buf[n++] = '\\';
            buf[n++] = c;
        }
    }
    return new_str(pk, buf, n, out);
}

ds_status pk_parse_raw_unicode(ds_pickle *pk, const uint8_t *s, size_t len, ds_pk_value **out) {
    if (len > SIZE_MAX / 2)
        return pk_fail(pk, DS_ERR_FORMAT, "UNICODE argument too long");
    uint8_t *buf;
    DS_TRY(scratch(pk, len * 2, &buf)); /* a latin-1 byte takes at most 2, escapes shrink */
    size_t n = 0, i = 0;
    while (i < len) {
        if (s[i] != '\\') {
            n += utf8_put(buf + n, s[i++]);
            continue;
        }
        /* as CPython: a run of backslashes stays; an odd run escapes a following u/U */
        size_t run = 0;
        while (i < len && s[i] == '\\') {
            buf[n++] = '\\';
            i++;
            run++;
        }
        if (!(run & 1) || i == len || (s[i] != 'u' && s[i] != 'U'))
            continue;
        n--;
        size_t digits = s[i] == 'u' ? 4 : 8;
        i++;
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; k++) {
            int h = i < len ? hex_value(s[i]) : -1;
            if (h < 0) {
                free(buf);
                return pk_fail(pk, DS_ERR_FORMAT, "UNICODE argument has a truncated \\u escape");
            }
            cp = (cp << 4) | (uint32_t)h;
            i++;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            free(buf);
            return pk_fail(pk, DS_ERR_FORMAT, "UNICODE argument escapes code point 0x%x", cp);
        }
        n += utf8_put(buf + n, cp);
    }
    return new_str(pk, buf, n, out);
}

ds_status pk_latin1_bytes(ds_pickle *pk, const ds_pk_value *str, ds_pk_value **out) {
    const uint8_t *s = (const uint8_t *)str->u.s.ptr;
    size_t len = str->u.s.len;
    uint8_t *buf;
    DS_TRY(scratch(pk, len, &buf));
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = s[i];
        if (cp < 0x80) {
            i++;
        } else if ((cp & 0xe0) == 0xc0 && i + 1 < len) {
            cp = ((cp & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
            i += 2;
        } else {
            cp = 0x100; /* three or four bytes: beyond latin-1 */
        }
        if (cp > 0xff) {
            free(buf);
            return pk_fail(pk, DS_ERR_FORMAT, "_codecs.encode: character beyond latin-1");
        }
        buf[n++] = (uint8_t)cp;
    }
    ds_status st = pk_new_blob(pk, DS_PK_BYTES, buf, n, out);
    free(buf);
    return st;
}
