/*
 * gguf.h: GGUF v3 files, read through mmap and written atomically.
 *
 * Layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic
 * "GGUF", version, tensor count, key/value count, typed key/values, tensor
 * infos (name, dims, ggml type, offset), padding to general.alignment, data.
 * In the file, dims are in ggml order (fastest first); this API uses PyTorch
 * order (outermost first) everywhere.
 */
#ifndef DS_GGUF_H
#define DS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */
#include "base/dtype.h"      /* ds_dtype */

#ifdef __cplusplus
extern "C" {
#endif

#define DS_GGUF_ALIGNMENT 64 /* what we write; any power of two is read */

typedef enum ds_gguf_type {
    DS_GGUF_UINT8 = 0,
    DS_GGUF_INT8 = 1,
    DS_GGUF_UINT16 = 2,
    DS_GGUF_INT16 = 3,
    DS_GGUF_UINT32 = 4,
    DS_GGUF_INT32 = 5,
    DS_GGUF_FLOAT32 = 6,
    DS_GGUF_BOOL = 7,
    DS_GGUF_STRING = 8,
    DS_GGUF_ARRAY = 9,
    DS_GGUF_UINT64 = 10,
    DS_GGUF_INT64 = 11,
    DS_GGUF_FLOAT64 = 12,
    DS_GGUF_TYPE_COUNT
} ds_gguf_type;

typedef struct ds_gguf_tensor {
    const char *name;       /* NUL-terminated copy */
    ds_dtype dtype;
    int ndim;
    int64_t shape[4];       /* outermost first */
    const void *data;       /* points into the mapping; aligned to the file's alignment */
    size_t nbytes;
} ds_gguf_tensor;

/* "uint8", "string", "array", ...; "?" for a value outside the enum. */
const char *ds_gguf_type_name(ds_gguf_type t);

/* ---- reading ---- */
typedef struct ds_gguf ds_gguf;

/* Maps the file read-only; every length and offset is checked against the
 * file size before use. Errors name the file and what is wrong. */
ds_status ds_gguf_open(const char *path, ds_gguf **out);
/* Parses a caller-owned buffer (no copy; keep it alive while *out lives).
 * Tensor data is aligned relative to `data`, so absolutely only if `data` is. */
ds_status ds_gguf_open_memory(const uint8_t *data, size_t len, const char *label, ds_gguf **out);
void ds_gguf_close(ds_gguf *g); /* NULL-safe */

const char *ds_gguf_label(const ds_gguf *g);  /* the path or label given at open */
uint32_t ds_gguf_version(const ds_gguf *g);
size_t ds_gguf_alignment(const ds_gguf *g);
size_t ds_gguf_file_size(const ds_gguf *g);

size_t ds_gguf_n_kv(const ds_gguf *g);
const char *ds_gguf_kv_key(const ds_gguf *g, size_t i);
ds_gguf_type ds_gguf_kv_type(const ds_gguf *g, size_t i);
/* For arrays: element type and count; 0 for scalars. */
ds_gguf_type ds_gguf_kv_array_type(const ds_gguf *g, size_t i);
size_t ds_gguf_kv_array_len(const ds_gguf *g, size_t i);
/* Writes a short human-readable rendering of value i ("384", "\"minimal\"",
 * "[0.5, 0.5, 0.5]", long arrays elided) into buf. */
void ds_gguf_kv_format(const ds_gguf *g, size_t i, char *buf, size_t buflen);
long ds_gguf_find_kv(const ds_gguf *g, const char *key); /* -1 if absent */

/* Typed getters: fail with DS_ERR_MODEL naming the key if it is absent or of
 * another type. Integer getters accept any integer type whose value fits. */
ds_status ds_gguf_get_u32(const ds_gguf *g, const char *key, uint32_t *out);
ds_status ds_gguf_get_i64(const ds_gguf *g, const char *key, int64_t *out);
ds_status ds_gguf_get_f32(const ds_gguf *g, const char *key, float *out);
ds_status ds_gguf_get_bool(const ds_gguf *g, const char *key, bool *out);
ds_status ds_gguf_get_str(const ds_gguf *g, const char *key, const char **out);
/* An array of exactly n float32 (or n integers for the int variant). */
ds_status ds_gguf_get_f32_array(const ds_gguf *g, const char *key, float *out, size_t n);
ds_status ds_gguf_get_i32_array(const ds_gguf *g, const char *key, int32_t *out, size_t n);

size_t ds_gguf_n_tensors(const ds_gguf *g);
const ds_gguf_tensor *ds_gguf_tensor_at(const ds_gguf *g, size_t i);
const ds_gguf_tensor *ds_gguf_find_tensor(const ds_gguf *g, const char *name); /* NULL if absent */

/* Tells the kernel the mapped pages wholly inside [data, data + nbytes) are
 * not needed now (e.g. weights copied into a packed layout): they leave the
 * resident set and are read from the file again if touched. No-op for a
 * caller's buffer. */
void ds_gguf_release_pages(const ds_gguf *g, const void *data, size_t nbytes);

/* ---- writing ---- */
typedef struct ds_gguf_writer ds_gguf_writer;

ds_status ds_gguf_writer_create(ds_gguf_writer **out);
void ds_gguf_writer_free(ds_gguf_writer *w); /* NULL-safe */

/* Keys are copied. Setting a key twice is an error. */
ds_status ds_gguf_set_u32(ds_gguf_writer *w, const char *key, uint32_t v);
ds_status ds_gguf_set_i32(ds_gguf_writer *w, const char *key, int32_t v);
ds_status ds_gguf_set_u64(ds_gguf_writer *w, const char *key, uint64_t v);
ds_status ds_gguf_set_f32(ds_gguf_writer *w, const char *key, float v);
ds_status ds_gguf_set_bool(ds_gguf_writer *w, const char *key, bool v);
ds_status ds_gguf_set_str(ds_gguf_writer *w, const char *key, const char *v);
ds_status ds_gguf_set_f32_array(ds_gguf_writer *w, const char *key, const float *v, size_t n);
ds_status ds_gguf_set_i32_array(ds_gguf_writer *w, const char *key, const int32_t *v, size_t n);

/* Registers a tensor; `data` is NOT copied and must stay valid until the
 * file is written. Names must be unique. dtype: f32, f16, bf16, f64, i8,
 * i16, i32, i64 (the types GGUF has). */
ds_status ds_gguf_add_tensor(ds_gguf_writer *w, const char *name, ds_dtype dtype, int ndim,
                             const int64_t *shape, const void *data, size_t nbytes);

/* Fills `dst` with a tensor's `nbytes` bytes (dst is aligned for any type). */
typedef ds_status (*ds_gguf_fill_fn)(void *user, void *dst, size_t nbytes);

/* Registers a tensor whose bytes are produced while the file is written, so
 * a converter streams a model into the file instead of holding all of it:
 * `fill(user, ...)` is called once per tensor, in no set order and possibly
 * from several threads at once (the library's pool), straight into the
 * mapped file where the file system allows. An error from `fill` fails the
 * write (the target is left as it was). */
ds_status ds_gguf_add_tensor_fill(ds_gguf_writer *w, const char *name, ds_dtype dtype, int ndim,
                                  const int64_t *shape, size_t nbytes, ds_gguf_fill_fn fill,
                                  void *user);

/* Writes to a temporary file beside `path`, then renames it over `path`:
 * the file is never seen half-written. general.alignment is written. */
ds_status ds_gguf_write_file(ds_gguf_writer *w, const char *path);

#ifdef __cplusplus
}
#endif

#endif
