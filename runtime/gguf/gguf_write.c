/*
 * gguf_write.c: collecting key/values and tensors, and writing them as a
 * GGUF v3 file through a temporary file that is renamed over the target, so
 * readers never see a half-written model. Like torch.save and ggml's writer
 * it does not fsync: a conversion is repeatable, and flushing 400 MB to disk
 * would double its time (bench/RESULTS.md). Tensors produced while writing
 * (a converter's) go straight into the mapped file, on every core.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpus.h" /* ds_cpus */
#include "base/error.h"
#include "base/pool.h" /* ds_parallel_for */
#include "gguf/gguf.h"
#include "base/atomic_file.h" /* ds_atomic_open_fd, ds_atomic_commit, ds_atomic_abort */
#include "gguf/gguf_private.h"

enum { GGUF_VERSION = 3, GGUF_WRITE_MAX_DIMS = 4 };

typedef struct wkv {
    char *key;
    ds_gguf_type type;
    ds_gguf_type arr_type; /* arrays only */
    uint64_t arr_len;      /* arrays only */
    uint8_t *bytes;        /* the value as stored (little-endian); strings without length */
    size_t nbytes;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t ggml_type;
    int ndim;
    int64_t shape[GGUF_WRITE_MAX_DIMS]; /* outermost first */
    const void *data;     /* or, when NULL, produced by fill() while writing */
    ds_gguf_fill_fn fill;
    void *fill_user;
    size_t nbytes;
    uint64_t offset; /* within the data section; set when writing */
} wtensor;

struct ds_gguf_writer {
    wkv *kv;
    size_t n_kv;
    wtensor *tensors;
    size_t n_tensors;
    bool streamed_only; /* never through a mapping (tests of that path) */
};

void ds_gguf_writer_stream_only(ds_gguf_writer *w) {
    w->streamed_only = true;
}

ds_status ds_gguf_writer_create(ds_gguf_writer **out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "ds_gguf_writer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating a GGUF writer");
}

void ds_gguf_writer_free(ds_gguf_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].bytes);
    }
    for (size_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->kv);
    free(w->tensors);
    free(w);
}

/* ---- key/values ---- */

static void put_le(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The reader refuses control bytes in names (they would break one-line messages). */
static ds_status check_name(const char *what, const char *name) {
    if (!name || !name[0])
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: empty %s", what);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return ds_fail(DS_ERR_INVALID_ARGUMENT,
                           "gguf writer: a %s contains a control byte (0x%02x)", what, *p);
    if (strlen(name) > DS_GGUF_MAX_KEY)
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "gguf writer: %s '%.60s...' is longer than %d bytes", what, name,
                       DS_GGUF_MAX_KEY);
    return DS_OK;
}

/* Adds a key whose stored value is `nbytes` bytes, returned zeroed in *bytes. */
static ds_status add_kv(ds_gguf_writer *w, const char *key, ds_gguf_type type,
                        ds_gguf_type arr_type, uint64_t arr_len, size_t nbytes, uint8_t **bytes) {
    if (!w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: NULL writer");
    DS_TRY(check_name("key", key));
    if (strcmp(key, "general.alignment") == 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "gguf writer: general.alignment is written by the writer itself");
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: key '%s' set twice", key);
    wkv *grown = realloc(w->kv, (w->n_kv + 1) * sizeof *grown);
    if (!grown)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "gguf writer: out of memory adding key '%s'", key);
    w->kv = grown;
    wkv kv = {.key = strdup(key), .type = type, .arr_type = arr_type, .arr_len = arr_len,
              .bytes = calloc(nbytes ? nbytes : 1, 1), .nbytes = nbytes};
    if (!kv.key || !kv.bytes) {
        free(kv.key);
        free(kv.bytes);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "gguf writer: out of memory adding key '%s'", key);
    }
    w->kv[w->n_kv++] = kv;
    *bytes = kv.bytes;
    return DS_OK;
}

static ds_status set_scalar(ds_gguf_writer *w, const char *key, ds_gguf_type type, uint64_t bits) {
    size_t n = ds_gguf_scalar_size(type);
    uint8_t *p;
    DS_TRY(add_kv(w, key, type, (ds_gguf_type)0, 0, n, &p));
    put_le(p, bits, n);
    return DS_OK;
}

static uint32_t f32_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

ds_status ds_gguf_set_u32(ds_gguf_writer *w, const char *key, uint32_t v) {
    return set_scalar(w, key, DS_GGUF_UINT32, v);
}

ds_status ds_gguf_set_i32(ds_gguf_writer *w, const char *key, int32_t v) {
    return set_scalar(w, key, DS_GGUF_INT32, (uint32_t)v);
}

ds_status ds_gguf_set_u64(ds_gguf_writer *w, const char *key, uint64_t v) {
    return set_scalar(w, key, DS_GGUF_UINT64, v);
}

ds_status ds_gguf_set_f32(ds_gguf_writer *w, const char *key, float v) {
    return set_scalar(w, key, DS_GGUF_FLOAT32, f32_bits(v));
}

ds_status ds_gguf_set_bool(ds_gguf_writer *w, const char *key, bool v) {
    return set_scalar(w, key, DS_GGUF_BOOL, v ? 1 : 0);
}

ds_status ds_gguf_set_str(ds_gguf_writer *w, const char *key, const char *v) {
    if (!v)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: key '%s': NULL string",
                       key ? key : "(null)");
    size_t n = strlen(v);
    uint8_t *p;
    DS_TRY(add_kv(w, key, DS_GGUF_STRING, (ds_gguf_type)0, 0, n, &p));
    memcpy(p, v, n);
    return DS_OK;
}

static ds_status set_array32(ds_gguf_writer *w, const char *key, ds_gguf_type elem,
                             const void *v, size_t n) {
    if (!v && n > 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: key '%s': NULL array",
                       key ? key : "(null)");
    if (n > SIZE_MAX / 4)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: key '%s': array too long",
                       key ? key : "(null)");
    uint8_t *p;
    DS_TRY(add_kv(w, key, DS_GGUF_ARRAY, elem, n, 4 * n, &p));
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, (const uint8_t *)v + 4 * i, 4);
        put_le(p + 4 * i, u, 4);
    }
    return DS_OK;
}

ds_status ds_gguf_set_f32_array(ds_gguf_writer *w, const char *key, const float *v, size_t n) {
    return set_array32(w, key, DS_GGUF_FLOAT32, v, n);
}

ds_status ds_gguf_set_i32_array(ds_gguf_writer *w, const char *key, const int32_t *v, size_t n) {
    return set_array32(w, key, DS_GGUF_INT32, v, n);
}

/* ---- tensors ---- */

static int dtype_to_ggml(ds_dtype t, uint32_t *out) {
    switch (t) {
    case DS_F32: *out = 0; return 1;
    case DS_F16: *out = 1; return 1;
    case DS_I8: *out = 24; return 1;
    case DS_I16: *out = 25; return 1;
    case DS_I32: *out = 26; return 1;
    case DS_I64: *out = 27; return 1;
    case DS_F64: *out = 28; return 1;
    case DS_BF16: *out = 30; return 1;
    default: return 0;
    }
}

static ds_status add_tensor(ds_gguf_writer *w, const char *name, ds_dtype dtype, int ndim,
                            const int64_t *shape, size_t nbytes, wtensor t) {
    if (!w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: NULL writer");
    DS_TRY(check_name("tensor name", name));
    t.ndim = ndim;
    t.nbytes = nbytes;
    if (!dtype_to_ggml(dtype, &t.ggml_type))
        return ds_fail(DS_ERR_UNSUPPORTED, "gguf writer: tensor '%s': dtype %s has no GGUF type",
                       name, ds_dtype_name(dtype));
    if (ndim < 0 || ndim > GGUF_WRITE_MAX_DIMS || (ndim > 0 && !shape))
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "gguf writer: tensor '%s': %d dimensions (GGUF holds 0 to %d)", name, ndim,
                       GGUF_WRITE_MAX_DIMS);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return ds_fail(DS_ERR_INVALID_ARGUMENT,
                           "gguf writer: tensor '%s': dimension %d is %lld (must be positive)",
                           name, i, (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX / numel)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s': size overflows",
                           name);
        numel *= (size_t)shape[i];
        t.shape[i] = shape[i];
    }
    size_t es = ds_dtype_size(dtype);
    if (numel > SIZE_MAX / es || numel * es != nbytes)
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "gguf writer: tensor '%s': %zu bytes given, its shape and dtype need %zu",
                       name, nbytes, numel <= SIZE_MAX / es ? numel * es : SIZE_MAX);
    if (!t.data && !t.fill)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s': NULL data", name);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "gguf writer: tensor '%s' added twice", name);
    wtensor *grown = realloc(w->tensors, (w->n_tensors + 1) * sizeof *grown);
    if (!grown)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "gguf writer: out of memory adding '%s'", name);
    w->tensors = grown;
    t.name = strdup(name);
    if (!t.name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "gguf writer: out of memory adding '%s'", name);
    w->tensors[w->n_tensors++] = t;
    return DS_OK;
}

ds_status ds_gguf_add_tensor(ds_gguf_writer *w, const char *name, ds_dtype dtype, int ndim,
                             const int64_t *shape, const void *data, size_t nbytes) {
    return add_tensor(w, name, dtype, ndim, shape, nbytes, (wtensor){.data = data});
}

ds_status ds_gguf_add_tensor_fill(ds_gguf_writer *w, const char *name, ds_dtype dtype, int ndim,
                                  const int64_t *shape, size_t nbytes, ds_gguf_fill_fn fill,
                                  void *user) {
    return add_tensor(w, name, dtype, ndim, shape, nbytes,
                      (wtensor){.fill = fill, .fill_user = user});
}

/* ---- serializing the header (everything before the tensor data) ---- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} buf;

static void put_bytes(buf *b, const void *src, size_t n) {
    if (b->oom || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *p = cap - b->len >= n ? realloc(b->p, cap) : NULL;
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(buf *b, uint32_t v) {
    uint8_t le[4];
    put_le(le, v, 4);
    put_bytes(b, le, 4);
}

static void put_u64(buf *b, uint64_t v) {
    uint8_t le[8];
    put_le(le, v, 8);
    put_bytes(b, le, 8);
}

static void put_str(buf *b, const char *s, size_t n) {
    put_u64(b, n);
    put_bytes(b, s, n);
}

static size_t align_up(size_t n) {
    return n + (DS_GGUF_ALIGNMENT - n % DS_GGUF_ALIGNMENT) % DS_GGUF_ALIGNMENT;
}

/* Lays out the data section: each tensor starts at a multiple of the alignment. */
static ds_status place_data(ds_gguf_writer *w, const char *path) {
    size_t off = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        if (t->nbytes > SIZE_MAX - DS_GGUF_ALIGNMENT - off)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: tensor data too large for one file",
                           path);
        t->offset = off;
        off = align_up(off + t->nbytes);
    }
    return DS_OK;
}

static ds_status build_header(ds_gguf_writer *w, const char *path, buf *b) {
    put_bytes(b, "GGUF", 4);
    put_u32(b, GGUF_VERSION);
    put_u64(b, w->n_tensors);
    put_u64(b, w->n_kv + 1); /* + general.alignment */
    static const char align_key[] = "general.alignment";
    put_str(b, align_key, sizeof align_key - 1);
    put_u32(b, DS_GGUF_UINT32);
    put_u32(b, DS_GGUF_ALIGNMENT);
    for (size_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kv[i];
        put_str(b, kv->key, strlen(kv->key));
        put_u32(b, kv->type);
        if (kv->type == DS_GGUF_ARRAY) {
            put_u32(b, kv->arr_type);
            put_u64(b, kv->arr_len);
        } else if (kv->type == DS_GGUF_STRING) {
            put_u64(b, kv->nbytes);
        }
        put_bytes(b, kv->bytes, kv->nbytes);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(b, t->name, strlen(t->name));
        put_u32(b, (uint32_t)t->ndim);
        for (int d = t->ndim - 1; d >= 0; d--) /* ggml order: fastest first */
            put_u64(b, (uint64_t)t->shape[d]);
        put_u32(b, t->ggml_type);
        put_u64(b, t->offset);
    }
    static const uint8_t zeros[DS_GGUF_ALIGNMENT];
    put_bytes(b, zeros, align_up(b->len) - b->len);
    return b->oom ? ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory building the GGUF header",
                            path)
                  : DS_OK;
}

/* ---- the file ---- */

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t k = write(fd, q, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        q += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The largest padded tensor fill() produces; 0 if none. */
static size_t fill_buffer_size(const ds_gguf_writer *w) {
    size_t most = 0;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].fill && align_up(w->tensors[i].nbytes) > most)
            most = align_up(w->tensors[i].nbytes);
    return most;
}

/* Header, then each tensor padded to the alignment (the last too, as ggml's
 * own writer does), one write() at a time: the way for plain tensors, and
 * for filled ones where the file cannot be mapped. Returns an errno, or -1
 * when a fill() failed (*failed). */
static int write_streamed(int fd, const ds_gguf_writer *w, const buf *header, ds_status *failed) {
    static const uint8_t zeros[DS_GGUF_ALIGNMENT];
    size_t fill_size = fill_buffer_size(w);
    uint8_t *fill_buf = fill_size ? aligned_alloc(DS_GGUF_ALIGNMENT, fill_size) : NULL;
    if (fill_size && !fill_buf)
        return ENOMEM;
    int err = write_all(fd, header->p, header->len);
    for (size_t i = 0; i < w->n_tensors && !err; i++) {
        const wtensor *t = &w->tensors[i];
        size_t pad = align_up(t->nbytes) - t->nbytes;
        if (t->fill) {
            *failed = t->fill(t->fill_user, fill_buf, t->nbytes);
            if (*failed != DS_OK) {
                err = -1;
                break;
            }
            memset(fill_buf + t->nbytes, 0, pad);
            err = write_all(fd, fill_buf, t->nbytes + pad);
            continue;
        }
        err = write_all(fd, t->data, t->nbytes);
        if (!err)
            err = write_all(fd, zeros, pad);
    }
    free(fill_buf);
    return err;
}

typedef struct fill_job {
    const ds_gguf_writer *w;
    uint8_t *data_section;
    _Atomic int failed;
    pthread_mutex_t lock; /* first and message */
    ds_status first;
    char message[1024];
} fill_job;

static void fill_one(void *ctx, int64_t i, int thread) {
    (void)thread;
    fill_job *j = ctx;
    const wtensor *t = &j->w->tensors[i];
    if (atomic_load(&j->failed))
        return;
    if (!t->fill) {
        memcpy(j->data_section + t->offset, t->data, t->nbytes);
        return;
    }
    ds_status s = t->fill(t->fill_user, j->data_section + t->offset, t->nbytes);
    if (s == DS_OK)
        return;
    pthread_mutex_lock(&j->lock);
    if (!atomic_load(&j->failed)) {
        j->first = s;
        snprintf(j->message, sizeof j->message, "%s", ds_last_error());
        atomic_store(&j->failed, 1);
    }
    pthread_mutex_unlock(&j->lock);
}

/* Every filled tensor produced straight into the mapped file, in parallel:
 * no copy through write(), and the page faults spread over the cores. */
static ds_status fill_in_place(const ds_gguf_writer *w, uint8_t *data_section) {
    fill_job j = {.w = w, .data_section = data_section, .lock = PTHREAD_MUTEX_INITIALIZER};
    ds_parallel_for(ds_cpus(), (int64_t)w->n_tensors, fill_one, &j);
    pthread_mutex_destroy(&j.lock);
    /* the message was recorded on a worker thread: record it on this one */
    return atomic_load(&j.failed) ? ds_fail(j.first, "%s", j.message) : DS_OK;
}

/* The whole file through a shared mapping. The blocks are allocated first
 * (fallocate), so that a full disk is an error here and not a SIGBUS while
 * writing into the mapping. Returns an errno, -1 when a fill() failed
 * (*failed), or EOPNOTSUPP when the file system cannot allocate ahead (the
 * caller then writes it with write()). */
static int write_mapped(int fd, const ds_gguf_writer *w, const buf *header, ds_status *failed) {
    const wtensor *last = &w->tensors[w->n_tensors - 1];
    size_t data_len = align_up(last->offset + last->nbytes);
    if (data_len > SIZE_MAX - header->len)
        return EFBIG;
    size_t total = header->len + data_len;
    if (fallocate(fd, 0, 0, (off_t)total) != 0)
        return errno == ENOSYS || errno == EINVAL ? EOPNOTSUPP : errno;
    uint8_t *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return ftruncate(fd, 0) == 0 ? EOPNOTSUPP : errno;
    memcpy(map, header->p, header->len); /* the padding stays as allocated: zeros */
    *failed = fill_in_place(w, map + header->len);
    int err = munmap(map, total) != 0 ? errno : 0;
    return *failed != DS_OK ? -1 : err;
}

static int write_contents(int fd, const ds_gguf_writer *w, const buf *header, ds_status *failed) {
    int err = EOPNOTSUPP;
    if (w->n_tensors > 0 && fill_buffer_size(w) > 0 && !w->streamed_only)
        err = write_mapped(fd, w, header, failed);
    return err == EOPNOTSUPP ? write_streamed(fd, w, header, failed) : err;
}

static ds_status write_temp_and_rename(const ds_gguf_writer *w, const char *path,
                                       const buf *header) {
    ds_atomic_file af;
    DS_TRY(ds_atomic_open_fd(&af, path));
    ds_status failed = DS_OK;
    const int err = write_contents(af.fd, w, header, &failed);
    if (err < 0) { /* a producer failed: its status says why */
        ds_atomic_abort(&af);
        return failed;
    }
    if (err) {
        ds_atomic_abort(&af);
        return ds_fail(DS_ERR_IO, "%s: cannot write: %s (the file was left as it was)", path, strerror(err));
    }
    return ds_atomic_commit(&af, 1);
}

ds_status ds_gguf_write_file(ds_gguf_writer *w, const char *path) {
    if (!w || !path || !path[0])
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "ds_gguf_write_file: NULL writer or empty path");
    if (path[strlen(path) - 1] == '/')
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: a directory, not a file name", path);
    DS_TRY(place_data(w, path));
    buf header = {0};
    ds_status s = build_header(w, path, &header);
    if (s == DS_OK)
        s = write_temp_and_rename(w, path, &header);
    free(header.p);
    return s;
}
