/*
 * safetensors.c: reads a safetensors file: a little-endian u64 header length
 * N, N bytes of JSON mapping each tensor name to its dtype, shape and byte
 * range [begin, end) in the buffer that follows (plus an optional
 * "__metadata__" object of strings), then that buffer. Every range is
 * checked against the buffer; tensors point into it (nothing is copied).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "weights_tools/readers/checkpoint.h"
#include "base/error.h"

/* The reference implementation refuses larger headers; so do we. */
#define ST_MAX_HEADER 100000000ull
/* cJSON holds numbers as doubles: integers above 2^53 would be silently rounded. */
#define ST_MAX_EXACT 9007199254740992.0

static int parse_dtype(const char *s, ds_dtype *out) {
    static const struct {
        const char *name;
        ds_dtype dtype;
    } names[] = {
        {"F32", DS_F32}, {"F16", DS_F16}, {"BF16", DS_BF16}, {"F64", DS_F64}, {"I64", DS_I64},
        {"I32", DS_I32}, {"I16", DS_I16}, {"I8", DS_I8},     {"U8", DS_U8},   {"BOOL", DS_BOOL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].dtype;
            return 1;
        }
    return 0;
}

static int is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* A copy of untrusted text fit for a one-line message. */
static void printable(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = is_control((unsigned char)src[i]) ? '?' : src[i];
    dst[i] = '\0';
}

/* A JSON number that is a non-negative integer, exactly. */
static int as_count(const cJSON *n, uint64_t *out) {
    if (!cJSON_IsNumber(n))
        return 0;
    double d = n->valuedouble;
    if (!(d >= 0.0 && d <= ST_MAX_EXACT)) /* also false for NaN */
        return 0;
    uint64_t u = (uint64_t)d;
    if ((double)u != d)
        return 0;
    *out = u;
    return 1;
}

static ds_status read_shape(const cJSON *shape, const char *label, const char *name, int *ndim,
                            int64_t *dims, uint64_t *numel) {
    if (!cJSON_IsArray(shape))
        return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s': \"shape\" is missing or not an array",
                       label, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > DS_MAX_DIMS)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", label,
                       name, nd, DS_MAX_DIMS);
    uint64_t n = 1;
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        uint64_t v;
        if (!as_count(d, &v))
            return ds_fail(DS_ERR_FORMAT,
                           "%s: tensor '%s': shape entry %d is not an integer from 0 to 2^53",
                           label, name, i);
        if (v != 0 && n > UINT64_MAX / v)
            return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s': element count overflows", label, name);
        n *= v;
        dims[i++] = (int64_t)v;
    }
    *ndim = nd;
    *numel = n;
    return DS_OK;
}

static ds_status read_range(const cJSON *offsets, const char *label, const char *name,
                            size_t buf_len, uint64_t nbytes, uint64_t *begin) {
    uint64_t b = 0, e = 0;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !as_count(cJSON_GetArrayItem(offsets, 0), &b) ||
        !as_count(cJSON_GetArrayItem(offsets, 1), &e))
        return ds_fail(DS_ERR_FORMAT,
                       "%s: tensor '%s': \"data_offsets\" is not two integers from 0 to 2^53",
                       label, name);
    if (b > e)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", label,
                       name, (unsigned long long)b, (unsigned long long)e);
    if (e > buf_len)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated: tensor '%s': data_offsets [%llu, %llu] run past the end of "
                       "the %zu-byte data buffer",
                       label, name, (unsigned long long)b, (unsigned long long)e, buf_len);
    if (e - b != nbytes)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, its dtype and "
                       "shape need %llu",
                       label, name, (unsigned long long)b, (unsigned long long)e,
                       (unsigned long long)(e - b), (unsigned long long)nbytes);
    *begin = b;
    return DS_OK;
}

static ds_status read_tensor(const cJSON *entry, const uint8_t *buf, size_t buf_len,
                             const char *label, ds_ckpt *out) {
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", label,
                       name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dt) || !dt->valuestring)
        return ds_fail(DS_ERR_FORMAT, "%s: tensor '%s': \"dtype\" is missing or not a string",
                       label, name);
    ds_dtype dtype;
    if (!parse_dtype(dt->valuestring, &dtype)) {
        char shown[41];
        printable(shown, sizeof shown, dt->valuestring);
        return ds_fail(DS_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has dtype \"%s\"; supported are F32, F16, BF16, F64, "
                       "I64, I32, I16, I8, U8 and BOOL",
                       label, name, shown);
    }
    int ndim = 0;
    int64_t shape[DS_MAX_DIMS];
    uint64_t numel = 0;
    DS_TRY(read_shape(cJSON_GetObjectItemCaseSensitive(entry, "shape"), label, name, &ndim, shape,
                      &numel));
    size_t es = ds_dtype_size(dtype);
    if (numel > buf_len / es)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated or corrupt: tensor '%s': %llu elements cannot fit in the "
                       "%zu-byte data buffer",
                       label, name, (unsigned long long)numel, buf_len);
    size_t nbytes = (size_t)numel * es;
    uint64_t begin = 0;
    DS_TRY(read_range(cJSON_GetObjectItemCaseSensitive(entry, "data_offsets"), label, name,
                      buf_len, nbytes, &begin));
    char *name_copy = strdup(name);
    if (!name_copy)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory reading tensor '%s'", label, name);
    ds_status s = ds_ckpt_push(out, name_copy, dtype, ndim, shape, NULL, nbytes);
    if (s == DS_OK && nbytes)
        out->tensors[out->n_tensors - 1].data = buf + begin; /* used where it lies */
    return s == DS_OK ? s : ds_fail_context(s, "%s: tensor '%s'", label, name);
}

static ds_status check_metadata(const cJSON *meta, const char *label) {
    const cJSON *v;
    int ok = cJSON_IsObject(meta);
    if (ok)
        cJSON_ArrayForEach(v, meta) ok = ok && cJSON_IsString(v);
    return ok ? DS_OK
              : ds_fail(DS_ERR_FORMAT, "%s: \"__metadata__\" must map strings to strings", label);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names appear in one-line messages, so control characters are refused; and
 * cJSON keeps repeated keys, but a repeated tensor name is an error, not a choice. */
static ds_status check_names(const cJSON *root, const char *label) {
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        for (const char *p = e->string; *p; p++)
            if (is_control((unsigned char)*p)) {
                char shown[81];
                printable(shown, sizeof shown, e->string);
                return ds_fail(DS_ERR_FORMAT,
                               "%s: header entry '%s' has a control character (0x%02x) in its name",
                               label, shown, (unsigned char)*p);
            }
    }
    size_t n = (size_t)cJSON_GetArraySize(root);
    if (n < 2)
        return DS_OK;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", label);
    size_t k = 0;
    cJSON_ArrayForEach(e, root) names[k++] = e->string;
    qsort(names, k, sizeof *names, cmp_str);
    ds_status s = DS_OK;
    for (size_t i = 1; i < k && s == DS_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            s = ds_fail(DS_ERR_FORMAT, "%s: duplicate header entry '%s'", label, names[i]);
    free(names);
    return s;
}

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Parses the header from a NUL-terminated copy: cJSON then never reads past it. */
static ds_status parse_header(const uint8_t *data, size_t hlen, const char *label, cJSON **root) {
    char *text = malloc(hlen + 1);
    if (!text)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory reading the header", label);
    memcpy(text, data, hlen);
    text[hlen] = '\0';
    const char *end = NULL;
    *root = cJSON_ParseWithOpts(text, &end, 0);
    size_t at = end ? (size_t)(end - text) : 0;
    while (*root && at < hlen && is_json_space(text[at]))
        at++;
    free(text);
    if (!*root)
        return ds_fail(DS_ERR_FORMAT, "%s: header is not valid JSON (error near byte %zu of %zu)",
                       label, at, hlen);
    if (at < hlen)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: header has stray bytes after the JSON (at byte %zu of %zu)", label, at,
                       hlen);
    if (!cJSON_IsObject(*root))
        return ds_fail(DS_ERR_FORMAT, "%s: header is not a JSON object", label);
    return DS_OK;
}

static ds_status load(const uint8_t *data, size_t len, const char *label, ds_ckpt *out) {
    if (len < 8)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated: %zu bytes, too short for a safetensors header", label, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | data[i];
    if (hlen > len - 8)
        return ds_fail(DS_ERR_FORMAT,
                       "%s: truncated: header length %llu runs past the end of the file (%zu "
                       "bytes)",
                       label, (unsigned long long)hlen, len);
    if (hlen > ST_MAX_HEADER)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: header length %llu is over the %llu-byte limit",
                       label, (unsigned long long)hlen, ST_MAX_HEADER);
    cJSON *root = NULL;
    ds_status s = parse_header(data + 8, (size_t)hlen, label, &root);
    if (s == DS_OK)
        s = check_names(root, label);
    const uint8_t *buf = data + 8 + hlen;
    size_t buf_len = len - 8 - (size_t)hlen;
    const cJSON *e;
    if (s == DS_OK)
        cJSON_ArrayForEach(e, root) {
            if (strcmp(e->string, "__metadata__") == 0)
                s = check_metadata(e, label);
            else
                s = read_tensor(e, buf, buf_len, label, out);
            if (s != DS_OK)
                break;
        }
    cJSON_Delete(root);
    return s;
}

ds_status ds_ckpt_load_safetensors(const uint8_t *data, size_t len, const char *label,
                                   ds_ckpt *out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "ds_ckpt_load_safetensors: out is NULL");
    memset(out, 0, sizeof *out);
    if (!label)
        label = "<memory>";
    if (!data && len > 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: NULL buffer of %zu bytes", label, len);
    out->format = "safetensors";
    ds_status s = load(data, len, label, out);
    if (s != DS_OK)
        ds_ckpt_free(out);
    return s;
}
