/* npy.c: reading and writing float32 .npy files, checking every length. */
#include "src/io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* ds_fail */
#include "base/file_map.h"    /* ds_open_regular */

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int64_t ds_npy_numel(const ds_npy *a) {
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

void ds_npy_free(ds_npy *a) {
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* The value of 'key' in the header dict, e.g. "'<f4'" or "(1, 3, 64, 96)". */
static const char *header_value(const char *h, const char *key) {
    const char *p = strstr(h, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static ds_status parse_header(const char *path, const char *h, ds_npy *out) {
    const char *descr = header_value(h, "'descr'");
    const char *order = header_value(h, "'fortran_order'");
    const char *shape = header_value(h, "'shape'");
    if (!descr || !order || !shape || *shape != '(')
        return ds_fail(DS_ERR_FORMAT, "%s: malformed .npy header", path);
    if (strncmp(descr, "'<f4'", 5) != 0) {
        char d[16] = {0};
        sscanf(descr, "'%15[^']'", d);
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: holds %s data; expected float32 ('<f4')", path, d);
    }
    if (strncmp(order, "False", 5) != 0)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: Fortran-order array; expected C order", path);
    const char *p = shape + 1;
    out->ndim = 0;
    int64_t numel = 1; /* kept below 2^60, so that numel * 4 bytes fits an int64_t */
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || v > (1LL << 40) || out->ndim == DS_NPY_MAX_DIMS)
            return ds_fail(DS_ERR_FORMAT, "%s: bad shape in .npy header", path);
        if (v > 0 && numel > (1LL << 60) / v)
            return ds_fail(DS_ERR_FORMAT, "%s: the .npy shape holds more values than any file can", path);
        numel *= v;
        out->shape[out->ndim++] = v;
        p = end;
    }
    if (*p != ')')
        return ds_fail(DS_ERR_FORMAT, "%s: bad shape in .npy header", path);
    return DS_OK;
}

ds_status ds_npy_read(const char *path, ds_npy *out) {
    memset(out, 0, sizeof *out);
    int fd;
    struct stat st;
    DS_TRY(ds_open_regular(path, &fd, &st));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        const int err = errno;
        close(fd);
        return ds_fail(DS_ERR_IO, "%s: cannot open: %s", path, strerror(err));
    }
    unsigned char pre[12];
    ds_status s = DS_OK;
    size_t hlen = 0, got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, MAGIC, 6) != 0) {
        s = ds_fail(DS_ERR_FORMAT, "%s: not a .npy file", path);
    } else if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if ((pre[6] == 2 || pre[6] == 3) && fread(pre + 10, 1, 2, f) == 2) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        s = ds_fail(DS_ERR_UNSUPPORTED, "%s: .npy format version %d", path, pre[6]);
    }
    char *h = NULL;
    if (s == DS_OK && (hlen == 0 || hlen > (1u << 20)))
        s = ds_fail(DS_ERR_FORMAT, "%s: bad .npy header length %zu", path, hlen);
    if (s == DS_OK && !(h = calloc(hlen + 1, 1)))
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    if (s == DS_OK && fread(h, 1, hlen, f) != hlen)
        s = ds_fail(DS_ERR_FORMAT, "%s: truncated .npy header", path);
    if (s == DS_OK)
        s = parse_header(path, h, out);
    free(h);
    if (s == DS_OK) {
        int64_t n = ds_npy_numel(out);
        const long here = ftell(f), size = (long)st.st_size;
        if (size - here != n * 4)
            s = ds_fail(DS_ERR_FORMAT, "%s: %ld data bytes, the shape needs %lld", path,
                        size - here, (long long)(n * 4));
        else if (!(out->data = malloc((size_t)n * 4 + 1)))
            s = ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        else if (fread(out->data, 4, (size_t)n, f) != (size_t)n)
            s = ds_fail(DS_ERR_IO, "%s: read failed", path);
    }
    fclose(f);
    if (s != DS_OK)
        ds_npy_free(out);
    return s;
}

ds_status ds_npy_write(const char *path, const float *data, int ndim, const int64_t *shape) {
    char dims[256] = "";
    size_t used = 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%lld%s", (long long)shape[i],
                                 ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        n *= shape[i];
    }
    char header[512];
    int len = snprintf(header, sizeof header,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    int total = ((10 + len + 1 + 63) / 64) * 64; /* header padded so data is 64-aligned */
    memset(header + len, ' ', (size_t)(total - 10 - len - 1));
    header[total - 10 - 1] = '\n';
    unsigned char pre[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)((total - 10) & 0xff), (unsigned char)((total - 10) >> 8)};
    ds_atomic_file af;
    DS_TRY(ds_atomic_open(&af, path));
    int ok = fwrite(pre, 1, 10, af.f) == 10 &&
             fwrite(header, 1, (size_t)(total - 10), af.f) == (size_t)(total - 10) &&
             fwrite(data, 4, (size_t)n, af.f) == (size_t)n;
    return ds_atomic_commit(&af, ok);
}
