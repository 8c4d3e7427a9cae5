/* fuzz_gguf.c: libFuzzer target: raw bytes through ds_gguf_open_memory, then
 * every key/value and tensor walked through the public API. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf/gguf.h"

static volatile size_t sink;

/* Every failure must leave a one-line message that names the input. */
static void check_error(ds_status s) {
    const char *m = ds_last_error();
    if (s != DS_OK && (strncmp(m, "fuzz.gguf: ", 11) != 0 || strchr(m, '\n')))
        __builtin_trap();
}

static void walk_kv(const ds_gguf *g, size_t i) {
    char buf[160];
    const char *key = ds_gguf_kv_key(g, i);
    /* a varying buffer size exercises the truncated renderings too */
    ds_gguf_kv_format(g, i, buf, 1 + i % sizeof buf);
    sink += strlen(buf) + strlen(key) + (size_t)ds_gguf_kv_type(g, i);
    sink += (size_t)ds_gguf_kv_array_type(g, i) + ds_gguf_kv_array_len(g, i);
    if (ds_gguf_find_kv(g, key) != (long)i)
        __builtin_trap(); /* keys are unique, so lookup must find this entry */
    size_t n = ds_gguf_kv_array_len(g, i);
    float f[8];
    int32_t ints[8];
    uint32_t u;
    int64_t v;
    bool b;
    const char *s;
    check_error(ds_gguf_get_u32(g, key, &u));
    check_error(ds_gguf_get_i64(g, key, &v));
    check_error(ds_gguf_get_f32(g, key, &f[0]));
    check_error(ds_gguf_get_bool(g, key, &b));
    ds_status st = ds_gguf_get_str(g, key, &s);
    check_error(st);
    if (st == DS_OK)
        sink += strlen(s);
    check_error(ds_gguf_get_f32_array(g, key, f, n < 8 ? n : 8));
    check_error(ds_gguf_get_i32_array(g, key, ints, n < 8 ? n : 8));
}

static void walk_tensor(const ds_gguf *g, size_t i) {
    const ds_gguf_tensor *t = ds_gguf_tensor_at(g, i);
    if (ds_gguf_find_tensor(g, t->name) != t)
        __builtin_trap();
    size_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
        numel *= (size_t)t->shape[d];
    if (t->ndim < 0 || t->ndim > 4 || numel * ds_dtype_size(t->dtype) != t->nbytes)
        __builtin_trap();
    const uint8_t *p = t->data;
    size_t sum = 0;
    for (size_t k = 0; k < t->nbytes; k++) /* ASan checks every byte is inside the input */
        sum += p[k];
    sink += sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ds_gguf *g = NULL;
    ds_status s = ds_gguf_open_memory(data, size, "fuzz.gguf", &g);
    check_error(s);
    if (s != DS_OK)
        return 0;
    sink += ds_gguf_version(g) + ds_gguf_alignment(g) + ds_gguf_file_size(g);
    for (size_t i = 0; i < ds_gguf_n_kv(g); i++)
        walk_kv(g, i);
    for (size_t i = 0; i < ds_gguf_n_tensors(g); i++)
        walk_tensor(g, i);
    ds_gguf_close(g);
    return 0;
}
