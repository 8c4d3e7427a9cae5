/* test_gguf.c: GGUF write/read round trips, every kv type, truncations (hostile
 * headers: test_gguf_hostile.c; writer failures: test_gguf_write.c). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "gguf/gguf.h"
#include "tests/gguf_bytes.h" /* bb, one_tensor, open_fails */
#include "tests/test.h"

/* ---- a file with every writer feature ---- */

enum { N_PRIME = 7 };

static float f32_data[2 * 3 * 5 * 7];
static uint16_t f16_data[N_PRIME];
static uint16_t bf16_data[13];
static double f64_data[3];
static int8_t i8_data[1 * 1 * 3 * 1];
static int16_t i16_data[5 * 2];
static int32_t i32_data[17];
static int64_t i64_data[1];

static void fill_data(void) {
    for (size_t i = 0; i < sizeof f32_data / 4; i++)
        f32_data[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < N_PRIME; i++)
        f16_data[i] = ds_f32_to_f16((float)i / 8.0f);
    for (int i = 0; i < 13; i++)
        bf16_data[i] = ds_f32_to_bf16((float)i * -1.25f);
    for (int i = 0; i < 3; i++)
        f64_data[i] = 1e300 / (i + 1);
    for (int i = 0; i < 3; i++)
        i8_data[i] = (int8_t)(-128 + 127 * i);
    for (int i = 0; i < 10; i++)
        i16_data[i] = (int16_t)(i * 3000 - 15000);
    for (int i = 0; i < 17; i++)
        i32_data[i] = (int32_t)(i * 100000007u);
    i64_data[0] = INT64_MIN;
}

typedef struct tcase {
    const char *name;
    ds_dtype dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
    size_t nbytes;
} tcase;

static const tcase tcases[] = {
    {"a.f32_4d", DS_F32, 4, {2, 3, 5, 7}, f32_data, sizeof f32_data},
    {"b.f16_prime", DS_F16, 1, {N_PRIME}, f16_data, sizeof f16_data},
    {"c.bf16", DS_BF16, 2, {13, 1}, bf16_data, sizeof bf16_data},
    {"d.f64", DS_F64, 1, {3}, f64_data, sizeof f64_data},
    {"e.i8_ones", DS_I8, 4, {1, 1, 3, 1}, i8_data, sizeof i8_data},
    {"f.i16", DS_I16, 2, {5, 2}, i16_data, sizeof i16_data},
    {"g.i32", DS_I32, 3, {1, 17, 1}, i32_data, sizeof i32_data},
    {"h.i64_scalar", DS_I64, 0, {0}, i64_data, sizeof i64_data},
};
enum { N_TCASES = sizeof tcases / sizeof tcases[0] };

static const float mean3[3] = {0.5f, 0.25f, 0.125f};
static const int32_t hooks4[4] = {2, 5, 8, -11};

static ds_status write_full(const char *path) {
    fill_data();
    ds_gguf_writer *w = NULL;
    DS_TRY(ds_gguf_writer_create(&w));
    ds_status s = DS_OK;
    if (s == DS_OK) s = ds_gguf_set_str(w, "general.architecture", "midas_v21_384");
    if (s == DS_OK) s = ds_gguf_set_u32(w, "midas.size", 384);
    if (s == DS_OK) s = ds_gguf_set_i32(w, "midas.neg", -7);
    if (s == DS_OK) s = ds_gguf_set_u64(w, "midas.big", 1ull << 40);
    if (s == DS_OK) s = ds_gguf_set_f32(w, "midas.eps", 1e-5f);
    if (s == DS_OK) s = ds_gguf_set_bool(w, "midas.flag", true);
    if (s == DS_OK) s = ds_gguf_set_bool(w, "midas.off", false);
    if (s == DS_OK) s = ds_gguf_set_str(w, "midas.empty", "");
    if (s == DS_OK) s = ds_gguf_set_f32_array(w, "midas.mean", mean3, 3);
    if (s == DS_OK) s = ds_gguf_set_i32_array(w, "midas.hooks", hooks4, 4);
    if (s == DS_OK) s = ds_gguf_set_i32_array(w, "midas.none", NULL, 0);
    for (size_t i = 0; i < N_TCASES && s == DS_OK; i++) {
        const tcase *t = &tcases[i];
        s = ds_gguf_add_tensor(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
    }
    if (s == DS_OK)
        s = ds_gguf_write_file(w, path);
    ds_gguf_writer_free(w);
    return s;
}

/* ---- round trips ---- */

TEST(round_trip_tensors) {
    char path[600];
    test_tmp_path(path, sizeof path, "full.gguf");
    CHECK_OK(write_full(path));
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open(path, &g));
    CHECK(ds_gguf_version(g) == 3);
    CHECK(ds_gguf_alignment(g) == DS_GGUF_ALIGNMENT);
    CHECK(strcmp(ds_gguf_label(g), path) == 0);
    CHECK(ds_gguf_n_tensors(g) == N_TCASES);
    for (size_t i = 0; i < N_TCASES; i++) {
        const tcase *c = &tcases[i];
        const ds_gguf_tensor *t = ds_gguf_tensor_at(g, i);
        CHECK(t && strcmp(t->name, c->name) == 0);
        CHECK(ds_gguf_find_tensor(g, c->name) == t);
        CHECK_MSG(t->dtype == c->dtype, "%s: dtype %s", c->name, ds_dtype_name(t->dtype));
        CHECK_MSG(t->ndim == c->ndim, "%s: ndim %d", c->name, t->ndim);
        for (int d = 0; d < c->ndim; d++)
            CHECK_MSG(t->shape[d] == c->shape[d], "%s: dim %d is %lld", c->name, d,
                      (long long)t->shape[d]);
        CHECK(t->nbytes == c->nbytes);
        CHECK_MSG((uintptr_t)t->data % DS_GGUF_ALIGNMENT == 0, "%s: data at %p", c->name,
                  t->data);
        CHECK_MSG(memcmp(t->data, c->data, c->nbytes) == 0, "%s: data differs", c->name);
    }
    CHECK(ds_gguf_tensor_at(g, N_TCASES) == NULL);
    CHECK(ds_gguf_find_tensor(g, "absent") == NULL);
    CHECK(ds_gguf_find_tensor(g, "a.f32") == NULL);
    ds_gguf_close(g);
}

TEST(round_trip_metadata) {
    char path[600];
    test_tmp_path(path, sizeof path, "meta.gguf");
    CHECK_OK(write_full(path));
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open(path, &g));
    CHECK(ds_gguf_n_kv(g) == 12); /* 11 set + general.alignment */
    long ia = ds_gguf_find_kv(g, "general.alignment");
    CHECK(ia >= 0 && ds_gguf_kv_type(g, (size_t)ia) == DS_GGUF_UINT32);
    const char *s;
    CHECK_OK(ds_gguf_get_str(g, "general.architecture", &s));
    CHECK(strcmp(s, "midas_v21_384") == 0);
    CHECK_OK(ds_gguf_get_str(g, "midas.empty", &s));
    CHECK(s[0] == '\0');
    uint32_t u;
    CHECK_OK(ds_gguf_get_u32(g, "midas.size", &u));
    CHECK(u == 384);
    CHECK_OK(ds_gguf_get_u32(g, "general.alignment", &u));
    CHECK(u == 64);
    int64_t i64;
    CHECK_OK(ds_gguf_get_i64(g, "midas.neg", &i64));
    CHECK(i64 == -7);
    CHECK_OK(ds_gguf_get_i64(g, "midas.big", &i64));
    CHECK(i64 == 1ll << 40);
    float f;
    CHECK_OK(ds_gguf_get_f32(g, "midas.eps", &f));
    CHECK(f == 1e-5f);
    bool b = false;
    CHECK_OK(ds_gguf_get_bool(g, "midas.flag", &b));
    CHECK(b);
    CHECK_OK(ds_gguf_get_bool(g, "midas.off", &b));
    CHECK(!b);
    float m[3];
    CHECK_OK(ds_gguf_get_f32_array(g, "midas.mean", m, 3));
    CHECK(memcmp(m, mean3, sizeof m) == 0);
    int32_t h[4];
    CHECK_OK(ds_gguf_get_i32_array(g, "midas.hooks", h, 4));
    CHECK(memcmp(h, hooks4, sizeof h) == 0);
    CHECK_OK(ds_gguf_get_i32_array(g, "midas.none", h, 0));
    long im = ds_gguf_find_kv(g, "midas.mean");
    CHECK(im >= 0);
    CHECK(ds_gguf_kv_type(g, (size_t)im) == DS_GGUF_ARRAY);
    CHECK(ds_gguf_kv_array_type(g, (size_t)im) == DS_GGUF_FLOAT32);
    CHECK(ds_gguf_kv_array_len(g, (size_t)im) == 3);
    CHECK(strcmp(ds_gguf_kv_key(g, (size_t)im), "midas.mean") == 0);
    CHECK(ds_gguf_kv_array_len(g, (size_t)ia) == 0);
    CHECK(ds_gguf_find_kv(g, "midas") == -1);
    CHECK(ds_gguf_kv_key(g, 99) == NULL);
    ds_gguf_close(g);
}

TEST(getter_errors) {
    char path[600];
    test_tmp_path(path, sizeof path, "getters.gguf");
    CHECK_OK(write_full(path));
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open(path, &g));
    uint32_t u;
    float f, m[4];
    int32_t h[3];
    const char *s;
    bool b;
    CHECK_FAILS(ds_gguf_get_u32(g, "midas.absent", &u), DS_ERR_MODEL, "'midas.absent' is missing");
    CHECK_FAILS(ds_gguf_get_u32(g, "midas.neg", &u), DS_ERR_MODEL, "does not fit in uint32");
    CHECK_FAILS(ds_gguf_get_u32(g, "midas.big", &u), DS_ERR_MODEL, "does not fit in uint32");
    CHECK_FAILS(ds_gguf_get_u32(g, "midas.eps", &u), DS_ERR_MODEL, "is float32, expected uint32");
    CHECK_FAILS(ds_gguf_get_f32(g, "midas.size", &f), DS_ERR_MODEL, "is uint32, expected float32");
    CHECK_FAILS(ds_gguf_get_str(g, "midas.flag", &s), DS_ERR_MODEL, "is bool, expected string");
    CHECK_FAILS(ds_gguf_get_bool(g, "midas.size", &b), DS_ERR_MODEL, "expected bool");
    CHECK_FAILS(ds_gguf_get_f32_array(g, "midas.mean", m, 4), DS_ERR_MODEL,
                "is an array of 3 float32, expected an array of 4 float32");
    CHECK_FAILS(ds_gguf_get_f32_array(g, "midas.hooks", m, 4), DS_ERR_MODEL, "array of 4 int32");
    CHECK_FAILS(ds_gguf_get_i32_array(g, "midas.mean", h, 3), DS_ERR_MODEL, "integers");
    CHECK_FAILS(ds_gguf_get_i32_array(g, "midas.size", h, 3), DS_ERR_MODEL, "is uint32");
    CHECK(strncmp(ds_last_error(), path, strlen(path)) == 0);
    ds_gguf_close(g);
}

TEST(format_values) {
    char path[600];
    test_tmp_path(path, sizeof path, "format.gguf");
    CHECK_OK(write_full(path));
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open(path, &g));
    static const struct {
        const char *key, *text;
    } want[] = {
        {"general.alignment", "64"},
        {"general.architecture", "\"midas_v21_384\""},
        {"midas.size", "384"},
        {"midas.neg", "-7"},
        {"midas.big", "1099511627776"},
        {"midas.eps", "1e-05"},
        {"midas.flag", "true"},
        {"midas.empty", "\"\""},
        {"midas.mean", "[0.5, 0.25, 0.125]"},
        {"midas.hooks", "[2, 5, 8, -11]"},
        {"midas.none", "[]"},
    };
    char buf[128];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long k = ds_gguf_find_kv(g, want[i].key);
        CHECK(k >= 0);
        ds_gguf_kv_format(g, (size_t)k, buf, sizeof buf);
        CHECK_MSG(strcmp(buf, want[i].text) == 0, "%s: \"%s\"", want[i].key, buf);
    }
    long k = ds_gguf_find_kv(g, "midas.mean");
    ds_gguf_kv_format(g, (size_t)k, buf, 6);
    CHECK_MSG(strcmp(buf, "[0.5,") == 0, "truncated: \"%s\"", buf);
    buf[0] = 'x';
    ds_gguf_kv_format(g, (size_t)k, buf, 1);
    CHECK(buf[0] == '\0');
    ds_gguf_kv_format(g, (size_t)k, buf, 0);
    ds_gguf_kv_format(g, 999, buf, sizeof buf);
    CHECK(buf[0] == '\0');
    ds_gguf_close(g);
}

/* Every metadata type the format has, written by hand (the writer only needs a few). */
static bb every_kv_type(uint32_t version) {
    bb b = {0};
    bb_header(&b, version, 0, 17);
    bb_key(&b, "t.u8", DS_GGUF_UINT8), bb_u8(&b, 200);
    bb_key(&b, "t.i8", DS_GGUF_INT8), bb_u8(&b, 0x80);
    bb_key(&b, "t.u16", DS_GGUF_UINT16), bb_u16(&b, 65535);
    bb_key(&b, "t.i16", DS_GGUF_INT16), bb_u16(&b, 0xfffe);
    bb_key(&b, "t.u32", DS_GGUF_UINT32), bb_u32(&b, 4000000000u);
    bb_key(&b, "t.i32", DS_GGUF_INT32), bb_u32(&b, 0x80000000u);
    bb_key(&b, "t.f32", DS_GGUF_FLOAT32), bb_u32(&b, 0x3fc00000u); /* 1.5 */
    bb_key(&b, "t.bool", DS_GGUF_BOOL), bb_u8(&b, 1);
    bb_key(&b, "t.str", DS_GGUF_STRING), bb_str(&b, "a\"b\n");
    bb_key(&b, "t.u64", DS_GGUF_UINT64), bb_u64(&b, UINT64_MAX);
    bb_key(&b, "t.i64", DS_GGUF_INT64), bb_u64(&b, (uint64_t)-5);
    bb_key(&b, "t.f64", DS_GGUF_FLOAT64), bb_u64(&b, 0xc004000000000000ull); /* -2.5 */
    bb_key(&b, "t.strs", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_STRING), bb_u64(&b, 3);
    bb_str(&b, "x"), bb_str(&b, ""), bb_str(&b, "yz");
    bb_key(&b, "t.u8s", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_UINT8), bb_u64(&b, 10);
    for (int i = 0; i < 10; i++)
        bb_u8(&b, (uint8_t)i);
    bb_key(&b, "t.i16s", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_INT16), bb_u64(&b, 2);
    bb_u16(&b, 0xffff), bb_u16(&b, 7);
    bb_key(&b, "t.bools", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_BOOL), bb_u64(&b, 2);
    bb_u8(&b, 0), bb_u8(&b, 1);
    bb_key(&b, "t.i64s", DS_GGUF_ARRAY), bb_u32(&b, DS_GGUF_INT64), bb_u64(&b, 2);
    bb_u64(&b, 1ull << 40), bb_u64(&b, 3);
    return b;
}

TEST(read_every_kv_type) {
    for (uint32_t version = 2; version <= 3; version++) {
        bb b = every_kv_type(version);
        ds_gguf *g = NULL;
        CHECK_OK(ds_gguf_open_memory(b.p, b.len, "kv.gguf", &g));
        CHECK(ds_gguf_version(g) == version);
        CHECK(ds_gguf_alignment(g) == 32); /* the default without general.alignment */
        CHECK(ds_gguf_file_size(g) == b.len);
        static const struct {
            const char *key, *text;
            ds_gguf_type type;
        } want[] = {
            {"t.u8", "200", DS_GGUF_UINT8},
            {"t.i8", "-128", DS_GGUF_INT8},
            {"t.u16", "65535", DS_GGUF_UINT16},
            {"t.i16", "-2", DS_GGUF_INT16},
            {"t.u32", "4000000000", DS_GGUF_UINT32},
            {"t.i32", "-2147483648", DS_GGUF_INT32},
            {"t.f32", "1.5", DS_GGUF_FLOAT32},
            {"t.bool", "true", DS_GGUF_BOOL},
            {"t.str", "\"a\\\"b\\x0a\"", DS_GGUF_STRING},
            {"t.u64", "18446744073709551615", DS_GGUF_UINT64},
            {"t.i64", "-5", DS_GGUF_INT64},
            {"t.f64", "-2.5", DS_GGUF_FLOAT64},
            {"t.strs", "[\"x\", \"\", \"yz\"]", DS_GGUF_ARRAY},
            {"t.u8s", "[0, 1, 2, 3, 4, 5, 6, 7, ... (10 items)]", DS_GGUF_ARRAY},
            {"t.i16s", "[-1, 7]", DS_GGUF_ARRAY},
            {"t.bools", "[false, true]", DS_GGUF_ARRAY},
            {"t.i64s", "[1099511627776, 3]", DS_GGUF_ARRAY},
        };
        CHECK(ds_gguf_n_kv(g) == sizeof want / sizeof want[0]);
        char buf[128];
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            CHECK(strcmp(ds_gguf_kv_key(g, i), want[i].key) == 0);
            CHECK(ds_gguf_kv_type(g, i) == want[i].type);
            ds_gguf_kv_format(g, i, buf, sizeof buf);
            CHECK_MSG(strcmp(buf, want[i].text) == 0, "%s: \"%s\"", want[i].key, buf);
        }
        CHECK(ds_gguf_kv_array_type(g, 12) == DS_GGUF_STRING && ds_gguf_kv_array_len(g, 12) == 3);
        uint32_t u;
        int64_t v;
        CHECK_OK(ds_gguf_get_u32(g, "t.u8", &u));
        CHECK(u == 200);
        CHECK_OK(ds_gguf_get_u32(g, "t.u16", &u));
        CHECK(u == 65535);
        CHECK_FAILS(ds_gguf_get_u32(g, "t.i8", &u), DS_ERR_MODEL, "-128, which does not fit");
        CHECK_OK(ds_gguf_get_i64(g, "t.i32", &v));
        CHECK(v == INT32_MIN);
        CHECK_OK(ds_gguf_get_i64(g, "t.u32", &v));
        CHECK(v == 4000000000ll);
        CHECK_FAILS(ds_gguf_get_i64(g, "t.u64", &v), DS_ERR_MODEL, "does not fit in int64");
        CHECK_FAILS(ds_gguf_get_i64(g, "t.f64", &v), DS_ERR_MODEL, "is float64");
        int32_t a[2];
        CHECK_OK(ds_gguf_get_i32_array(g, "t.i16s", a, 2));
        CHECK(a[0] == -1 && a[1] == 7);
        CHECK_FAILS(ds_gguf_get_i32_array(g, "t.i64s", a, 2), DS_ERR_MODEL,
                    "element 0 does not fit in int32");
        CHECK_FAILS(ds_gguf_get_i32_array(g, "t.bools", a, 2), DS_ERR_MODEL, "array of 2 bool");
        CHECK_FAILS(ds_gguf_get_str(g, "t.strs", &(const char *){0}), DS_ERR_MODEL,
                    "array of 3 string");
        ds_gguf_close(g);
        free(b.p);
    }
}

TEST(string_with_nul_refused_by_getter) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_key(&b, "s", DS_GGUF_STRING);
    bb_u64(&b, 3), bb_raw(&b, "a\0b", 3);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(b.p, b.len, "nul.gguf", &g));
    const char *s;
    CHECK_FAILS(ds_gguf_get_str(g, "s", &s), DS_ERR_MODEL, "NUL byte");
    char buf[64];
    ds_gguf_kv_format(g, 0, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "\"a\\x00b\"") == 0, "%s", buf);
    ds_gguf_close(g);
    free(b.p);
}

TEST(other_alignment_and_offsets) {
    /* general.alignment 16, two tensors, the second at offset 16 */
    bb b = {0};
    bb_header(&b, 3, 2, 1);
    bb_key(&b, "general.alignment", DS_GGUF_UINT32), bb_u32(&b, 16);
    bb_info(&b, "x", 2, (uint64_t[]){3, 1}, 0, 0);      /* f32 [1, 3] */
    bb_info(&b, "y", 1, (uint64_t[]){2}, 26, 16);        /* i32 [2] */
    bb_pad(&b, 16);
    size_t data = b.len;
    bb_u32(&b, 0x3f800000u), bb_u32(&b, 0x40000000u), bb_u32(&b, 0x40400000u), bb_u32(&b, 0);
    bb_u32(&b, 7), bb_u32(&b, (uint32_t)-8);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(b.p, b.len, "align.gguf", &g));
    CHECK(ds_gguf_alignment(g) == 16);
    const ds_gguf_tensor *x = ds_gguf_find_tensor(g, "x"), *y = ds_gguf_find_tensor(g, "y");
    CHECK(x && y);
    CHECK(x->ndim == 2 && x->shape[0] == 1 && x->shape[1] == 3 && x->dtype == DS_F32);
    CHECK((const uint8_t *)x->data == b.p + data);
    CHECK((const uint8_t *)y->data == b.p + data + 16);
    CHECK(y->dtype == DS_I32 && y->nbytes == 8);
    int32_t yv[2];
    memcpy(yv, y->data, 8);
    CHECK(yv[0] == 7 && yv[1] == -8);
    ds_gguf_close(g);
    free(b.p);
}

TEST(no_tensors_no_padding) {
    bb b = {0};
    bb_header(&b, 3, 0, 0);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(b.p, b.len, "empty.gguf", &g));
    CHECK(ds_gguf_n_tensors(g) == 0 && ds_gguf_n_kv(g) == 0);
    CHECK(ds_gguf_tensor_at(g, 0) == NULL && ds_gguf_find_tensor(g, "x") == NULL);
    CHECK(ds_gguf_find_kv(g, "x") == -1);
    ds_gguf_close(g);
    free(b.p);
}

/* Cutting a valid file anywhere before the end of its last tensor's data must
 * fail cleanly; cuts in the final padding leave a complete file. */
TEST(truncated_everywhere) {
    char path[600];
    test_tmp_path(path, sizeof path, "cut.gguf");
    CHECK_OK(write_full(path));
    size_t len = 0;
    uint8_t *full = test_read_file(path, &len);
    CHECK(full && len > 0);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open_memory(full, len, "cut.gguf", &g));
    size_t data_end = 0;
    for (size_t i = 0; i < ds_gguf_n_tensors(g); i++) {
        const ds_gguf_tensor *t = ds_gguf_tensor_at(g, i);
        size_t end = (size_t)((const uint8_t *)t->data - full) + t->nbytes;
        data_end = end > data_end ? end : data_end;
    }
    ds_gguf_close(g);
    CHECK(data_end > 0 && data_end <= len);
    int failures = 0;
    for (size_t cut = 0; cut < len; cut++) {
        const char *why = open_fails(full, cut, DS_ERR_FORMAT, cut < 4 ? "not a GGUF" : "truncated");
        if (cut >= data_end) {
            CHECK_MSG(why && strstr(why, "opened"), "cut at %zu of %zu: %s", cut, len,
                      why ? why : "failed");
            continue;
        }
        if (why && failures++ < 5)
            printf("  cut at %zu of %zu: %s\n", cut, len, why);
    }
    CHECK_MSG(failures == 0, "%d of %zu cuts did not fail cleanly", failures, data_end);
    free(full);
}

/* ---- files on disk ---- */

TEST(open_errors_name_the_file) {
    char path[600];
    ds_gguf *g = (ds_gguf *)1;
    test_tmp_path(path, sizeof path, "does-not-exist.gguf");
    CHECK_FAILS(ds_gguf_open(path, &g), DS_ERR_IO, "does-not-exist.gguf: cannot open");
    CHECK(g == NULL);
    CHECK_FAILS(ds_gguf_open(test_tmp_dir(), &g), DS_ERR_IO, "is a directory");
    test_tmp_path(path, sizeof path, "empty.gguf");
    CHECK(test_write_file(path, "", 0));
    CHECK_FAILS(ds_gguf_open(path, &g), DS_ERR_FORMAT, "empty.gguf: empty file");
    test_tmp_path(path, sizeof path, "short.gguf");
    CHECK(test_write_file(path, "GGUF\3\0\0\0\1", 9));
    CHECK_FAILS(ds_gguf_open(path, &g), DS_ERR_FORMAT, "short.gguf: truncated");
    CHECK(strncmp(ds_last_error(), path, strlen(path)) == 0);
}

int main(void) {
    RUN(round_trip_tensors);
    RUN(round_trip_metadata);
    RUN(getter_errors);
    RUN(format_values);
    RUN(read_every_kv_type);
    RUN(string_with_nul_refused_by_getter);
    RUN(other_alignment_and_offsets);
    RUN(no_tensors_no_padding);
    RUN(truncated_everywhere);
    RUN(open_errors_name_the_file);
    test_remove_tmp_dir();
    return test_summary();
}
