/*
 * test_torch_checkpoint.c: PyTorch checkpoints written by the real torch.save
 * (tests/fixtures/make_torch_checkpoints.py) read back value by value, and
 * hostile or broken files (make_hostile_checkpoints.py, plus cuts and byte
 * changes of the good files made here) refused with a clear error.
 */
#include "tests/test.h"

#include "weights_tools/readers/checkpoint.h"
#include "base/error.h"

#define DIR "tests/data/checkpoints/"
#define HOSTILE DIR "hostile/"

static int read_file(const char *path, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(*data, 1, (size_t)n, f);
    fclose(f);
    return *len == (size_t)n;
}

/* ---- expected.tsv ------------------------------------------------------------ */

static int value_matches(const ds_ckpt_tensor *t, size_t i, const char *tok) {
    const uint8_t *p = t->data;
    double want = strtod(tok, NULL);
    long long iwant = strtoll(tok, NULL, 10);
    float f;
    uint16_t h;
    switch (t->dtype) {
    case DS_F32: memcpy(&f, p + 4 * i, 4); return (double)f == want;
    case DS_F16: memcpy(&h, p + 2 * i, 2); return (double)ds_f16_to_f32(h) == want;
    case DS_BF16: memcpy(&h, p + 2 * i, 2); return (double)ds_bf16_to_f32(h) == want;
    case DS_F64: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        return d == want;
    }
    case DS_I64: {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        return v == iwant;
    }
    case DS_I32: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v == iwant;
    }
    case DS_I16: {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v == iwant;
    }
    case DS_I8: return (int8_t)p[i] == iwant;
    case DS_U8:
    case DS_BOOL: return p[i] == iwant;
    default: return 0;
    }
}

/* Compares one expected.tsv line (file name already matched) with tensor t. */
static void check_line(char *line, const ds_ckpt_tensor *t) {
    char *save = NULL;
    strtok_r(line, "\t", &save);
    char *name = strtok_r(NULL, "\t", &save);
    char *dtype = strtok_r(NULL, "\t", &save);
    char *rest = save;
    char *tab = strchr(rest, '\t');
    CHECK(name && dtype && tab);
    *tab = '\0';
    char *shape = rest, *values = tab + 1;
    CHECK_MSG(strcmp(t->name, name) == 0, "tensor %s where %s was expected", t->name, name);
    CHECK_MSG(strcmp(ds_dtype_name(t->dtype), dtype) == 0, "%s: dtype %s, expected %s", name,
              ds_dtype_name(t->dtype), dtype);
    int ndim = 0;
    for (char *s = shape, *tok; (tok = strtok_r(s, ",", &save)) != NULL; s = NULL, ndim++) {
        CHECK(ndim < DS_MAX_DIMS);
        CHECK_MSG(t->shape[ndim] == strtoll(tok, NULL, 10), "%s: dimension %d", name, ndim);
    }
    CHECK_MSG(t->ndim == ndim, "%s: %d dimensions, expected %d", name, t->ndim, ndim);
    size_t n = 0;
    for (char *s = values, *tok; (tok = strtok_r(s, " \n", &save)) != NULL; s = NULL, n++) {
        CHECK_MSG((int64_t)n < ds_ckpt_tensor_numel(t), "%s: too few values", name);
        CHECK_MSG(value_matches(t, n, tok), "%s: value %zu is not %s", name, n, tok);
    }
    CHECK_MSG((int64_t)n == ds_ckpt_tensor_numel(t), "%s: %zu values for %lld elements", name,
              n, (long long)ds_ckpt_tensor_numel(t));
    CHECK(t->nbytes == n * ds_dtype_size(t->dtype));
}

static void check_fixture(const char *file) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s", file);
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(path, &ck));
    const char *want_format = strstr(file, "_zip") ? "pytorch-zip" : "pytorch-legacy";
    CHECK_MSG(strcmp(ck.format, want_format) == 0, "format %s", ck.format);

    FILE *f = fopen(DIR "expected.tsv", "r");
    CHECK(f);
    static char line[1 << 16];
    size_t seen = 0;
    size_t flen = strlen(file);
    while (fgets(line, sizeof line, f) && !test_failed_now) {
        if (strncmp(line, file, flen) != 0 || line[flen] != '\t')
            continue;
        if (seen >= ck.n_tensors) {
            test_fail_at(__FILE__, __LINE__, "%s: only %zu tensors", file, ck.n_tensors);
            break;
        }
        check_line(line, &ck.tensors[seen++]);
    }
    fclose(f);
    if (!test_failed_now && seen != ck.n_tensors)
        test_fail_at(__FILE__, __LINE__, "%s: %zu tensors, expected %zu", file, ck.n_tensors,
                     seen);
    if (!test_failed_now && seen == 0)
        test_fail_at(__FILE__, __LINE__, "%s: not in expected.tsv", file);
    ds_ckpt_free(&ck);
}

#define FIXTURE(fn, file) \
    TEST(fn) { check_fixture(file); }

FIXTURE(basic_zip, "basic_zip.pt")
FIXTURE(basic_legacy, "basic_legacy.pt")
FIXTURE(basic_protocol4_zip, "basic_p4_zip.pt")
FIXTURE(basic_deflated_zip, "basic_deflated_zip.pt")
FIXTURE(views_zip, "views_zip.pt")
FIXTURE(views_legacy, "views_legacy.pt")
FIXTURE(views_protocol5_legacy, "views_p5_legacy.pt")
FIXTURE(model_optimizer_wrapper_zip, "wrapped_zip.pt")
FIXTURE(model_optimizer_wrapper_legacy, "wrapped_legacy.pt")
FIXTURE(module_state_dict_zip, "module_zip.pt")
FIXTURE(module_state_dict_legacy, "module_legacy.pt")
FIXTURE(optimizer_state_dict_zip, "optimizer_zip.pt")
FIXTURE(optimizer_state_dict_legacy, "optimizer_legacy.pt")
FIXTURE(parameters_nested_zip, "params_zip.pt")
FIXTURE(parameters_nested_legacy, "params_legacy.pt")
FIXTURE(parameters_protocol1_legacy, "params_p1_legacy.pt")

static int in_file(const ds_ckpt *ck, const ds_ckpt_tensor *t) {
    const uint8_t *p = t->data, *map = ck->map;
    return p && map && p >= map && t->nbytes <= ck->map_len &&
           (size_t)(p - map) <= ck->map_len - t->nbytes;
}

/* A tensor that is its whole stored record is read where the file holds it;
 * a compressed record, or a view of part of one, is a copy. */
TEST(whole_records_are_read_in_place) {
    static const char *const files[] = {"basic_zip.pt", "basic_legacy.pt"};
    for (size_t f = 0; f < 2; f++) {
        ds_ckpt ck;
        CHECK_OK(ds_ckpt_load(f == 0 ? DIR "basic_zip.pt" : DIR "basic_legacy.pt", &ck));
        const ds_ckpt_tensor *t = ds_ckpt_find(&ck, "f32");
        CHECK_MSG(t && in_file(&ck, t) && !t->owned, "%s: f32 was copied", files[f]);
        ds_ckpt_free(&ck);
    }
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "basic_deflated_zip.pt", &ck));
    const ds_ckpt_tensor *t = ds_ckpt_find(&ck, "f32");
    CHECK(t && !in_file(&ck, t) && t->owned == t->data);
    ds_ckpt_free(&ck);
    CHECK_OK(ds_ckpt_load(DIR "views_zip.pt", &ck));
    t = ds_ckpt_find(&ck, "row1");
    CHECK(t && !in_file(&ck, t) && t->owned == t->data);
    ds_ckpt_free(&ck);
}

TEST(views_share_data_but_not_buffers) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "views_zip.pt", &ck));
    const ds_ckpt_tensor *base = ds_ckpt_find(&ck, "base"), *row = ds_ckpt_find(&ck, "row1");
    CHECK(base && row && base->data != row->data);
    CHECK(memcmp((const uint8_t *)base->data + 6 * sizeof(float), row->data,
                 6 * sizeof(float)) == 0);
    const ds_ckpt_tensor *t = ds_ckpt_find(&ck, "transposed");
    CHECK(t && t->shape[0] == 6 && t->shape[1] == 4);
    float v = 0;
    if (t)
        memcpy(&v, (const uint8_t *)t->data + sizeof v, sizeof v);
    CHECK(v == 3.0f); /* base[1][0] = 6 * 0.5 */
    ds_ckpt_free(&ck);
    CHECK_OK(ds_ckpt_load(DIR "basic_zip.pt", &ck));
    const ds_ckpt_tensor *e = ds_ckpt_find(&ck, "empty");
    CHECK(e && e->nbytes == 0 && e->data == NULL && e->shape[0] == 0 && e->shape[1] == 3);
    ds_ckpt_free(&ck);
}

TEST(optimizer_is_not_read_when_model_is_there) {
    ds_ckpt ck;
    CHECK_OK(ds_ckpt_load(DIR "wrapped_legacy.pt", &ck));
    for (size_t i = 0; i < ck.n_tensors; i++)
        CHECK_MSG(strncmp(ck.tensors[i].name, "state.", 6) != 0, "%s", ck.tensors[i].name);
    CHECK(ck.n_tensors == 9);
    ds_ckpt_free(&ck);
}

/* ---- hostile and broken files ----------------------------------------------------- */

typedef struct hostile {
    const char *file;
    ds_status status;
    const char *needle;
} hostile;

static const hostile HOSTILE_FILES[] = {
    {"os_system_zip.pt", DS_ERR_UNSAFE,
     "refusing pickle global 'os.system' (only tensor and state_dict types are allowed)"},
    {"eval_legacy.pt", DS_ERR_UNSAFE, "refusing pickle global 'builtins.eval'"},
    {"popen_zip.pt", DS_ERR_UNSAFE, "refusing pickle global 'subprocess.Popen'"},
    {"getattr_legacy.pt", DS_ERR_UNSAFE, "refusing pickle global 'builtins.getattr'"},
    {"torch_load_zip.pt", DS_ERR_UNSAFE, "refusing pickle global 'torch.load'"},
    {"posix_system_legacy.pt", DS_ERR_UNSAFE, "refusing pickle global 'posix.system'"},
    {"odd_type_zip.pt", DS_ERR_UNSAFE, "with type 'collections.OrderedDict'"},
    {"module_pid_legacy.pt", DS_ERR_FORMAT, "persistent id of type 'module'"},
    {"string_pid_zip.pt", DS_ERR_FORMAT, "persistent id is a str"},
    {"short_storage_zip.pt", DS_ERR_FORMAT, "w_zip/data/0 holds 20 bytes, the pickle declares 40"},
    {"missing_storage_zip.pt", DS_ERR_FORMAT, "storage record w_zip/data/0 is missing"},
    {"view_past_storage_zip.pt", DS_ERR_FORMAT,
     "tensor 'w' needs element 9 of storage '0', which has 4"},
    {"offset_past_storage_legacy.pt", DS_ERR_FORMAT, "tensor 'w' needs element 4 of storage '7'"},
    {"negative_stride_zip.pt", DS_ERR_FORMAT, "tensor 'w' has a negative size or stride"},
    {"huge_tensor_zip.pt", DS_ERR_FORMAT, "tensors would take more than"},
    {"huge_count_legacy.pt", DS_ERR_FORMAT, "storage '1' needs 8589934588 bytes, 64 are left"},
    {"wrong_count_legacy.pt", DS_ERR_FORMAT, "storage '1' holds 3 elements, the pickle declares 4"},
    {"huge_string_legacy.pt", DS_ERR_FORMAT, "truncated: argument needs 4294967280 bytes"},
    {"bad_magic_legacy.pt", DS_ERR_FORMAT, "not a PyTorch checkpoint"},
    {"bad_version_legacy.pt", DS_ERR_UNSUPPORTED, "legacy format version 1000"},
    {"big_endian_legacy.pt", DS_ERR_UNSUPPORTED, "big-endian"},
    {"big_endian_zip.pt", DS_ERR_UNSUPPORTED, "big-endian"},
    {"several_pkl_zip.pt", DS_ERR_FORMAT, "several data.pkl"},
    {"torchscript_zip.pt", DS_ERR_UNSUPPORTED, "TorchScript"},
    {"no_pkl_zip.pt", DS_ERR_FORMAT, "without a data.pkl"},
    {"cd_offset_zip.pt", DS_ERR_FORMAT, "zip"},
    {"cd_corrupt_zip.pt", DS_ERR_FORMAT, "not a readable zip archive"},
    {"entry_past_end_zip.pt", DS_ERR_FORMAT, "zip"},
    {"eocd_offset_zip.pt", DS_ERR_FORMAT, "not a readable zip archive"},
    {"crc_zip.pt", DS_ERR_FORMAT, "CRC"},
    {"deep_dicts_zip.pt", DS_ERR_FORMAT, "nested deeper than 64 levels"},
    {"deep_marks_legacy.pt", DS_ERR_FORMAT, "nested deeper than 1000 MARKs"},
    {"dup_names_zip.pt", DS_ERR_FORMAT, "two tensors are named 'a.b'"},
    {"bare_tensor_zip.pt", DS_ERR_FORMAT, "holds a tensor, not a state_dict"},
    {"no_tensors_legacy.pt", DS_ERR_FORMAT, "no tensors"},
    {"sparse_zip.pt", DS_ERR_UNSUPPORTED, "sparse tensors"},
    {"quantized_zip.pt", DS_ERR_UNSUPPORTED, "quantized tensors"},
    {"complex_zip.pt", DS_ERR_UNSUPPORTED, "'torch.ComplexFloatStorage' is not supported"},
};

TEST(hostile_files_are_refused) {
    for (size_t i = 0; i < sizeof HOSTILE_FILES / sizeof *HOSTILE_FILES; i++) {
        const hostile *h = &HOSTILE_FILES[i];
        char path[256];
        snprintf(path, sizeof path, HOSTILE "%s", h->file);
        ds_ckpt ck = {0};
        ds_status s = ds_ckpt_load(path, &ck);
        CHECK_MSG(s == h->status && strstr(ds_last_error(), h->needle) &&
                      strstr(ds_last_error(), path) && !strchr(ds_last_error(), '\n'),
                  "%s -> %s \"%s\", wanted %s with \"%s\"", h->file, ds_status_string(s),
                  ds_last_error(), ds_status_string(h->status), h->needle);
        CHECK(ck.n_tensors == 0 && ck.tensors == NULL);
    }
}

TEST(missing_and_empty_files) {
    ds_ckpt ck;
    CHECK_FAILS(ds_ckpt_load(DIR "no_such_file.pt", &ck), DS_ERR_IO, "no_such_file.pt");
    CHECK_FAILS(ds_ckpt_load_memory((const uint8_t *)"", 0, "m.pt", &ck), DS_ERR_FORMAT,
                "m.pt: empty file");
    CHECK_FAILS(ds_ckpt_load_memory((const uint8_t *)"\x80\x02K\x01.", 5, "m.pt", &ck),
                DS_ERR_FORMAT, "not a PyTorch checkpoint");
    CHECK_FAILS(ds_ckpt_load_memory((const uint8_t *)"PK\x03\x04", 4, "m.pt", &ck),
                DS_ERR_FORMAT, "m.pt: not a readable zip archive");
    /* the start of a real checkpoint, its end cut off: said to be truncated */
    uint8_t *data;
    size_t len;
    CHECK(read_file(DIR "basic_zip.pt", &data, &len) && len > 100);
    CHECK_FAILS(ds_ckpt_load_memory(data, len - 30, "m.pt", &ck), DS_ERR_FORMAT,
                "m.pt: not a readable zip archive: it starts as one but its end record is missing");
    free(data);
}

/* Every prefix of a good file must fail cleanly: no crash, one line naming the file. */
static void check_cuts(const char *file, size_t step) {
    uint8_t *data;
    size_t len;
    char path[256];
    snprintf(path, sizeof path, DIR "%s", file);
    CHECK(read_file(path, &data, &len));
    for (size_t cut = 0; cut < len; cut += step) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(copy, data, cut);
        ds_ckpt ck;
        ds_status s = ds_ckpt_load_memory(copy, cut, file, &ck);
        free(copy);
        if (s == DS_OK)
            ds_ckpt_free(&ck);
        if (s == DS_OK || !strstr(ds_last_error(), file) || strchr(ds_last_error(), '\n')) {
            test_fail_at(__FILE__, __LINE__, "%s cut at %zu -> %s \"%s\"", file, cut,
                         ds_status_string(s), ds_last_error());
            break;
        }
    }
    free(data);
}

TEST(every_cut_of_legacy_files_fails_cleanly) {
    check_cuts("basic_legacy.pt", 1);
    check_cuts("views_p5_legacy.pt", 1);
    check_cuts("params_p1_legacy.pt", 1);
    check_cuts("wrapped_legacy.pt", 3);
}

TEST(every_cut_of_zip_files_fails_cleanly) {
    check_cuts("basic_zip.pt", 1);
    check_cuts("basic_p4_zip.pt", 7);
    check_cuts("wrapped_zip.pt", 13);
}

/* Changed bytes may be accepted or refused, but never crash or leak. */
static void check_mutations(const char *file, size_t step) {
    uint8_t *data;
    size_t len;
    char path[256];
    snprintf(path, sizeof path, DIR "%s", file);
    CHECK(read_file(path, &data, &len));
    static const uint8_t values[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
    for (size_t at = 0; at < len; at += step) {
        uint8_t keep = data[at];
        data[at] = values[at % sizeof values] == keep ? (uint8_t)~keep : values[at % sizeof values];
        ds_ckpt ck;
        ds_status s = ds_ckpt_load_memory(data, len, file, &ck);
        data[at] = keep;
        if (s == DS_OK) {
            ds_ckpt_free(&ck);
        } else if (!strstr(ds_last_error(), file) || strchr(ds_last_error(), '\n')) {
            test_fail_at(__FILE__, __LINE__, "%s changed at %zu -> \"%s\"", file, at,
                         ds_last_error());
            break;
        }
    }
    free(data);
}

TEST(changed_bytes_never_crash) {
    check_mutations("basic_legacy.pt", 1);
    check_mutations("views_legacy.pt", 1);
    check_mutations("params_zip.pt", 1);
    check_mutations("optimizer_legacy.pt", 2);
}

int main(void) {
    RUN(basic_zip);
    RUN(basic_legacy);
    RUN(basic_protocol4_zip);
    RUN(basic_deflated_zip);
    RUN(views_zip);
    RUN(views_legacy);
    RUN(views_protocol5_legacy);
    RUN(model_optimizer_wrapper_zip);
    RUN(model_optimizer_wrapper_legacy);
    RUN(module_state_dict_zip);
    RUN(module_state_dict_legacy);
    RUN(optimizer_state_dict_zip);
    RUN(optimizer_state_dict_legacy);
    RUN(parameters_nested_zip);
    RUN(parameters_nested_legacy);
    RUN(parameters_protocol1_legacy);
    RUN(whole_records_are_read_in_place);
    RUN(views_share_data_but_not_buffers);
    RUN(optimizer_is_not_read_when_model_is_there);
    RUN(hostile_files_are_refused);
    RUN(missing_and_empty_files);
    RUN(every_cut_of_legacy_files_fails_cleanly);
    RUN(every_cut_of_zip_files_fails_cleanly);
    RUN(changed_bytes_never_crash);
    return test_summary();
}
