/* test_safetensors.c: the safetensors reader on the fixtures of
 * tests/fixtures/make_safetensors.py: values, shapes, hostile files, truncations. */
#include <stdint.h>

#include "weights_tools/readers/checkpoint.h"
#include "base/error.h"
#include "tests/test.h"

#define DIR "tests/data/safetensors/"

/* Element i of every fixture tensor: the formulas of make_safetensors.py.
 * Written in native byte order, which is little-endian on every host we build for. */
/* Element i of a tensor, read as the checkpoint's data asks (it may be unaligned). */
static float f32_at(const ds_ckpt_tensor *t, size_t i) {
    float v = 0;
    if (t && (i + 1) * sizeof v <= t->nbytes)
        memcpy(&v, (const uint8_t *)t->data + i * sizeof v, sizeof v);
    return v;
}

static uint16_t u16_at(const ds_ckpt_tensor *t, size_t i) {
    uint16_t v = 0;
    if (t && (i + 1) * sizeof v <= t->nbytes)
        memcpy(&v, (const uint8_t *)t->data + i * sizeof v, sizeof v);
    return v;
}

static void expected(ds_dtype t, size_t n, uint8_t *out) {
    for (size_t k = 0; k < n; k++) {
        int64_t i = (int64_t)k;
        switch (t) {
        case DS_F32: { float v = (float)(i * 0.5 - 3.0); memcpy(out + 4 * k, &v, 4); break; }
        case DS_F16: { uint16_t v = ds_f32_to_f16((float)((i - 4) / 8.0)); memcpy(out + 2 * k, &v, 2); break; }
        case DS_BF16: {
            float f = (float)((i - 4) * 0.25);
            uint32_t u;
            memcpy(&u, &f, 4);
            uint16_t v = (uint16_t)(u >> 16);
            memcpy(out + 2 * k, &v, 2);
            break;
        }
        case DS_F64: { double v = (double)i / 3.0; memcpy(out + 8 * k, &v, 8); break; }
        case DS_I64: { int64_t v = i * 1000000000000 - 5; memcpy(out + 8 * k, &v, 8); break; }
        case DS_I32: { int32_t v = (int32_t)(i * 100003 - 7); memcpy(out + 4 * k, &v, 4); break; }
        case DS_I16: { int16_t v = (int16_t)(i * 300 - 1000); memcpy(out + 2 * k, &v, 2); break; }
        case DS_I8: out[k] = (uint8_t)(int8_t)(i * 7 - 20); break;
        case DS_U8: out[k] = (uint8_t)((i * 11) % 256); break;
        case DS_BOOL: out[k] = i % 3 == 0; break;
        case DS_DTYPE_COUNT: break;
        }
    }
}

/* Checks one tensor's dtype, shape and values; NULL if it matches. */
static const char *tensor_is(const ds_ckpt *ck, const char *name, ds_dtype dtype, int ndim,
                             const int64_t *shape) {
    static char why[256];
    const ds_ckpt_tensor *t = ds_ckpt_find(ck, name);
    if (!t)
        return snprintf(why, sizeof why, "%s missing", name), why;
    if (t->dtype != dtype || t->ndim != ndim)
        return snprintf(why, sizeof why, "%s: %s, %d dims", name, ds_dtype_name(t->dtype), t->ndim), why;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d])
            return snprintf(why, sizeof why, "%s: dim %d is %lld", name, d, (long long)t->shape[d]), why;
    size_t n = (size_t)ds_ckpt_tensor_numel(t);
    if (t->nbytes != n * ds_dtype_size(dtype))
        return snprintf(why, sizeof why, "%s: %zu bytes", name, t->nbytes), why;
    if (n == 0)
        return t->data == NULL ? NULL : (snprintf(why, sizeof why, "%s: data for 0 bytes", name), why);
    uint8_t *want = malloc(t->nbytes);
    expected(dtype, n, want);
    int same = memcmp(want, t->data, t->nbytes) == 0;
    free(want);
    return same ? NULL : (snprintf(why, sizeof why, "%s: values differ", name), why);
}

#define CHECK_TENSOR(ck, name, dtype, ndim, ...)                                  \
    do {                                                                          \
        const char *why_ = tensor_is(ck, name, dtype, ndim, (int64_t[]){__VA_ARGS__}); \
        CHECK_MSG(!why_, "%s", why_);                                             \
    } while (0)

TEST(all_dtypes_values_and_shapes) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "all_dtypes.safetensors", &ck)); /* detected by content */
    CHECK(strcmp(ck.format, "safetensors") == 0);
    CHECK(ck.n_tensors == 15);
    static const char *order[] = {"model.f32", "model.f16", "model.bf16", "model.f64",
                                  "model.i64", "model.i32", "model.i16", "model.i8",
                                  "model.u8",  "model.bool", "scalar.f32", "scalar.i64",
                                  "empty.f32", "empty.i16", "deep.u8"};
    for (size_t i = 0; i < 15; i++)
        CHECK_MSG(strcmp(ck.tensors[i].name, order[i]) == 0, "%zu: %s", i, ck.tensors[i].name);
    CHECK_TENSOR(&ck, "model.f32", DS_F32, 3, 2, 3, 4);
    CHECK_TENSOR(&ck, "model.f16", DS_F16, 1, 5);
    CHECK_TENSOR(&ck, "model.bf16", DS_BF16, 2, 3, 1);
    CHECK_TENSOR(&ck, "model.f64", DS_F64, 2, 2, 2);
    CHECK_TENSOR(&ck, "model.i64", DS_I64, 1, 3);
    CHECK_TENSOR(&ck, "model.i32", DS_I32, 3, 1, 1, 7);
    CHECK_TENSOR(&ck, "model.i16", DS_I16, 2, 4, 2);
    CHECK_TENSOR(&ck, "model.i8", DS_I8, 1, 6);
    CHECK_TENSOR(&ck, "model.u8", DS_U8, 2, 2, 5);
    CHECK_TENSOR(&ck, "model.bool", DS_BOOL, 2, 3, 3);
    CHECK_TENSOR(&ck, "scalar.f32", DS_F32, 0, 0);
    CHECK_TENSOR(&ck, "scalar.i64", DS_I64, 0, 0);
    CHECK_TENSOR(&ck, "empty.f32", DS_F32, 1, 0);
    CHECK_TENSOR(&ck, "empty.i16", DS_I16, 3, 3, 0, 2);
    CHECK_TENSOR(&ck, "deep.u8", DS_U8, 8, 1, 2, 1, 2, 1, 2, 1, 2);
    /* spot values, independent of the formula code above */
    const ds_ckpt_tensor *f = ds_ckpt_find(&ck, "model.f32");
    CHECK(f32_at(f, 0) == -3.0f && f32_at(f, 23) == 8.5f);
    CHECK(ds_f16_to_f32(u16_at(ds_ckpt_find(&ck, "model.f16"), 4)) == 0.0f);
    CHECK(ds_bf16_to_f32(u16_at(ds_ckpt_find(&ck, "model.bf16"), 0)) == -1.0f);
    CHECK(f32_at(ds_ckpt_find(&ck, "scalar.f32"), 0) == -3.0f);
    CHECK(ds_ckpt_find(&ck, "__metadata__") == NULL);
    ds_ckpt_free(&ck);
    CHECK(ck.tensors == NULL && ck.n_tensors == 0);
}

TEST(written_by_reference_library) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "official.safetensors", &ck));
    CHECK(ck.n_tensors == 3);
    CHECK_TENSOR(&ck, "b.weight", DS_F32, 2, 2, 3);
    CHECK_TENSOR(&ck, "a.bias", DS_I16, 1, 4);
    const ds_ckpt_tensor *s = ds_ckpt_find(&ck, "c.scalar");
    double d = 0;
    if (s)
        memcpy(&d, s->data, sizeof d);
    CHECK(s && s->ndim == 0 && s->dtype == DS_F64 && d == 2.5);
    ds_ckpt_free(&ck);
}

TEST(small_valid_files) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "no_metadata_unpadded.safetensors", &ck));
    CHECK(ck.n_tensors == 1);
    CHECK_TENSOR(&ck, "x", DS_F32, 1, 3);
    ds_ckpt_free(&ck);
    CHECK_OK(ds_ckpt_load(DIR "empty_header.safetensors", &ck));
    CHECK(ck.n_tensors == 0 && strcmp(ck.format, "safetensors") == 0);
    ds_ckpt_free(&ck);
}

TEST(overlapping_ranges_are_allowed) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "overlap.safetensors", &ck));
    CHECK(ck.n_tensors == 3);
    CHECK_TENSOR(&ck, "tied.a", DS_F32, 1, 4);
    CHECK_TENSOR(&ck, "tied.b", DS_F32, 2, 2, 2);
    const ds_ckpt_tensor *h = ds_ckpt_find(&ck, "tied.half");
    CHECK(h && h->nbytes == 8);
    CHECK(f32_at(h, 0) == -2.0f && f32_at(h, 1) == -1.5f);
    const ds_ckpt_tensor *a = ds_ckpt_find(&ck, "tied.a");
    /* read where they lie in the file, not copied: tied.half is tied.a's second half */
    CHECK(a && (const uint8_t *)h->data == (const uint8_t *)a->data + 8);
    ds_ckpt_free(&ck);
}

TEST(hostile_files) {
    static const struct {
        const char *file;
        ds_status status;
        const char *needle;
    } cases[] = {
        {"not_json", DS_ERR_FORMAT, "header is not valid JSON (error near byte"},
        {"not_object", DS_ERR_FORMAT, "header is not a JSON object"},
        {"stray_after_json", DS_ERR_FORMAT, "stray bytes after the JSON"},
        {"nul_in_header", DS_ERR_FORMAT, "stray bytes after the JSON"},
        {"offsets_past_end", DS_ERR_FORMAT, "data_offsets [8, 16] run past the end of the 8-byte data buffer"},
        {"size_mismatch", DS_ERR_FORMAT, "tensor 'a': data_offsets [0, 8] hold 8 bytes, its dtype and shape need 12"},
        {"begin_after_end", DS_ERR_FORMAT, "data_offsets [8, 4] end before they begin"},
        {"unknown_dtype", DS_ERR_UNSUPPORTED, "tensor 'a' has dtype \"F8_E4M3\""},
        {"negative_dim", DS_ERR_FORMAT, "shape entry 0 is not an integer from 0 to 2^53"},
        {"fraction_dim", DS_ERR_FORMAT, "shape entry 0 is not an integer"},
        {"huge_dim", DS_ERR_FORMAT, "shape entry 0 is not an integer"},
        {"overflow_dims", DS_ERR_FORMAT, "tensor 'a': element count overflows"},
        {"nine_dims", DS_ERR_UNSUPPORTED, "tensor 'a' has 9 dimensions (at most 8)"},
        {"missing_dtype", DS_ERR_FORMAT, "\"dtype\" is missing"},
        {"missing_offsets", DS_ERR_FORMAT, "\"data_offsets\" is not two integers"},
        {"three_offsets", DS_ERR_FORMAT, "\"data_offsets\" is not two integers"},
        {"entry_not_object", DS_ERR_FORMAT, "tensor 'a': header entry is not an object"},
        {"metadata_not_strings", DS_ERR_FORMAT, "\"__metadata__\" must map strings to strings"},
        {"duplicate_name", DS_ERR_FORMAT, "duplicate header entry 'a'"},
        {"control_in_name", DS_ERR_FORMAT, "header entry 'a?b' has a control character (0x0a)"},
        {"control_in_dtype", DS_ERR_UNSUPPORTED, "tensor 'a' has dtype \"F?32\""},
        {"header_past_end", DS_ERR_FORMAT, "truncated: header length 1000 runs past the end of the file (16 bytes)"},
        {"huge_header_length", DS_ERR_FORMAT, "header length 18446744073709551615 runs past"},
        {"too_short", DS_ERR_FORMAT, "truncated: 4 bytes, too short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DIR "bad/%s.safetensors", cases[i].file);
        size_t len = 0;
        uint8_t *data = test_read_file(path, &len);
        CHECK_MSG(data, "%s: missing fixture", path);
        ds_ckpt ck = {.n_tensors = 99};
        ds_status s = ds_ckpt_load_safetensors(data, len, path, &ck);
        free(data);
        const char *msg = ds_last_error();
        CHECK_MSG(s == cases[i].status && strstr(msg, cases[i].needle),
                  "%s: got %s \"%s\", wanted %s with \"%s\"", cases[i].file, ds_status_string(s),
                  msg, ds_status_string(cases[i].status), cases[i].needle);
        CHECK_MSG(strncmp(msg, path, strlen(path)) == 0 && !strchr(msg, '\n'),
                  "%s: message does not name the file on one line: %s", cases[i].file, msg);
        CHECK(ck.n_tensors == 0 && ck.tensors == NULL);
    }
}

/* Every cut of a valid file fails with a truncation error, from an exact-size
 * copy so that a read past the end trips ASan. */
TEST(truncated_everywhere) {
    size_t len = 0;
    uint8_t *full = test_read_file(DIR "all_dtypes.safetensors", &len);
    CHECK(full && len > 100);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, full, cut);
        ds_ckpt ck;
        ds_status s = ds_ckpt_load_safetensors(copy, cut, "cut.safetensors", &ck);
        free(copy);
        const char *msg = ds_last_error();
        int ok = s == DS_ERR_FORMAT && strncmp(msg, "cut.safetensors: truncated", 26) == 0;
        if (!ok && bad++ < 5)
            printf("  cut at %zu of %zu: %s %s\n", cut, len, ds_status_string(s), msg);
        if (s == DS_OK)
            ds_ckpt_free(&ck);
    }
    free(full);
    CHECK_MSG(bad == 0, "%d cuts did not fail as truncated", bad);
}

TEST(arguments) {
    ds_ckpt ck;
    CHECK_FAILS(ds_ckpt_load_safetensors(NULL, 10, "x", &ck), DS_ERR_INVALID_ARGUMENT, "NULL buffer");
    CHECK_FAILS(ds_ckpt_load_safetensors((const uint8_t *)"", 0, NULL, &ck), DS_ERR_FORMAT,
                "<memory>: truncated");
    CHECK_FAILS(ds_ckpt_load(DIR "absent.safetensors", &ck), DS_ERR_IO, "absent.safetensors");
}

int main(void) {
    RUN(all_dtypes_values_and_shapes);
    RUN(written_by_reference_library);
    RUN(small_valid_files);
    RUN(overlapping_ranges_are_allowed);
    RUN(hostile_files);
    RUN(truncated_everywhere);
    RUN(arguments);
    return test_summary();
}
