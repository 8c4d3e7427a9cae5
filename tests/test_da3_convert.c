/*
 * test_da3_convert.c: Depth Anything 3's published checkpoints convert.
 * Each case writes a real model.safetensors (safetensors format: 8-byte
 * header length, JSON header, little-endian F32 data) of the full key set of
 * tests/data/reference/<model>/keys.tsv, `model.` + module names, filled with
 * the synthetic formula, into a folder named as the Hugging Face repo, and
 * converts it with --arch auto (ds_convert_file):
 *  - da3_small with DualDPT's tied LayerNorm stored once (as safetensors'
 *    save_model keeps it) converts to exactly the tensors `synth` writes;
 *  - da3_small with all four tied names and salted weights (SALT + key)
 *    converts to the same names with other values (read from the file);
 *  - the large models' tensors (one set): named DA3MONO-LARGE/ they are
 *    da3mono_large, DA3METRIC-LARGE/ da3metric_large, and what is read equals
 *    the formula (from memory: 1.3 GB written to disk twice took 20 s;
 *    plain build only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "depthsolve.h"
#include "gguf/gguf.h"           /* ds_gguf_open, ds_gguf_tensor_at */
#include "tests/test.h"
#include "weights_tools/convert.h" /* ds_detect_arch */
#include "weights_tools/readers/checkpoint.h" /* ds_ckpt_load_memory */
#include "weights_tools/synth.h" /* ds_synth_seed, ds_synth_fill_seeded */

typedef struct key_row {
    char name[192], kind[16];
    int ndim;
    int64_t shape[4];
} key_row;

static int read_keys(const char *model, key_row **out) {
    char path[256], line[512];
    snprintf(path, sizeof path, "tests/data/reference/%s/keys.tsv", model);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    int n = 0, cap = 0;
    key_row *rows = NULL;
    while (fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 512;
            rows = realloc(rows, (size_t)cap * sizeof *rows);
        }
        key_row *r = &rows[n];
        char dtype[16], shape[64];
        if (sscanf(line, "%191s %15s %63s %15s", r->name, dtype, shape, r->kind) != 4)
            continue;
        r->ndim = 0;
        for (char *p = shape; *p && r->ndim < 4; r->ndim++) {
            r->shape[r->ndim] = strtoll(p, &p, 10);
            p += *p == 'x';
        }
        n++;
    }
    fclose(f);
    *out = rows;
    return n;
}

/* The tied LayerNorm's copies carry the value of output_conv2_aux.0.2. */
static void value_key(const key_row *r, char *src, size_t n) {
    snprintf(src, n, "%s", r->name);
    if (strcmp(r->kind, "tied"))
        return;
    char *p = strstr(src, "output_conv2_aux.");
    if (p)
        p[strlen("output_conv2_aux.")] = '0';
}

/* The safetensors bytes (*len of them, malloc'd; NULL on failure);
 * tied_once leaves the tied copies out. */
static uint8_t *safetensors_bytes(const key_row *rows, int n, const char *salt, int tied_once, size_t *len) {
    size_t cap = 1 << 20, hl = 8, off = 0;
    char *h = malloc(cap);
    if (!h)
        return NULL;
    hl += (size_t)snprintf(h + 8, cap - 8, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        if (tied_once && !strcmp(rows[i].kind, "tied"))
            continue;
        size_t numel = 1;
        char dims[96] = "";
        for (int d = 0; d < rows[i].ndim; d++) {
            numel *= (size_t)rows[i].shape[d];
            snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", d ? "," : "",
                     (long long)rows[i].shape[d]);
        }
        hl += (size_t)snprintf(h + hl, cap - hl, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                               rows[i].name, dims, off, off + 4 * numel);
        off += 4 * numel;
    }
    hl += (size_t)snprintf(h + hl, cap - hl, "}");
    while (hl % 8)
        h[hl++] = ' ';
    uint8_t *out = realloc(h, hl + off);
    if (!out) {
        free(h);
        return NULL;
    }
    const uint64_t header = hl - 8;
    memcpy(out, &header, 8); /* little-endian host */
    float *v = (float *)(out + hl);
    for (int i = 0; i < n; i++) {
        if (tied_once && !strcmp(rows[i].kind, "tied"))
            continue;
        char src[192], salted[256];
        value_key(&rows[i], src, sizeof src);
        snprintf(salted, sizeof salted, "%s%s", salt, src);
        ds_synth_fill_seeded(src, rows[i].ndim, rows[i].shape, ds_synth_seed(salted), v);
        size_t numel = 1;
        for (int d = 0; d < rows[i].ndim; d++)
            numel *= (size_t)rows[i].shape[d];
        v += numel;
    }
    *len = hl + off;
    return out;
}

static int write_safetensors(const char *path, const key_row *rows, int n, const char *salt, int tied_once) {
    size_t len;
    uint8_t *bytes = safetensors_bytes(rows, n, salt, tied_once, &len);
    FILE *f = bytes ? fopen(path, "wb") : NULL;
    int ok = f && fwrite(bytes, 1, len, f) == len;
    if (f)
        ok &= fclose(f) == 0;
    free(bytes);
    return ok;
}

/* Tensors of a and b: the same names, dtypes and shapes; `same` their bytes
 * equal for every tensor, else different for every tensor. */
static int compare(const char *a_path, const char *b_path, int same, char *why, size_t n) {
    ds_gguf *a = NULL, *b = NULL;
    int ok = ds_gguf_open(a_path, &a) == DS_OK && ds_gguf_open(b_path, &b) == DS_OK &&
             ds_gguf_n_tensors(a) == ds_gguf_n_tensors(b) && ds_gguf_n_tensors(a) > 100;
    snprintf(why, n, "%s", ok ? "" : "tensor counts differ");
    for (size_t i = 0; ok && i < ds_gguf_n_tensors(a); i++) {
        const ds_gguf_tensor *x = ds_gguf_tensor_at(a, i), *y = ds_gguf_find_tensor(b, x->name);
        ok = y && x->dtype == y->dtype && x->nbytes == y->nbytes && x->ndim == y->ndim &&
             !memcmp(x->shape, y->shape, sizeof x->shape) && (memcmp(x->data, y->data, x->nbytes) == 0) == same;
        if (!ok)
            snprintf(why, n, "%s: %s", x->name, y ? (same ? "differs" : "equal") : "missing");
    }
    ds_gguf_close(a);
    ds_gguf_close(b);
    return ok;
}

typedef struct log_capture {
    char text[2048];
} log_capture;

static void capture(ds_log_level level, const char *message, void *user) {
    (void)level;
    log_capture *c = user;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text), "%s\n", message);
}

/* Converts `file` (--arch auto); its architecture must be `want`, its
 * tensors those of the GGUF `synth` (or all different). */
static void check_file(const char *file, const char *want, const char *synth, int same_as_synth) {
    char out[512], why[256];
    test_tmp_path(out, sizeof out, "converted.gguf");
    log_capture log = {{0}};
    ds_convert_params p = ds_convert_default_params();
    p.log = capture;
    p.log_user = &log;
    CHECK_OK(ds_convert_file(file, out, &p));
    ds_gguf *g;
    CHECK_OK(ds_gguf_open(out, &g));
    const char *arch = NULL;
    ds_status s = ds_gguf_get_str(g, "general.architecture", &arch);
    const int right = s == DS_OK && arch && !strcmp(arch, want);
    ds_gguf_close(g);
    CHECK_MSG(right, "%s: converted as %s, wanted %s", file, arch ? arch : "?", want);
    CHECK_MSG(compare(out, synth, same_as_synth, why, sizeof why), "%s: %s", file, why);
    remove(out);
}

/* ds_synth_file of `model` into the scratch folder. */
static const char *synth_of(const char *model) {
    static char path[512];
    test_tmp_path(path, sizeof path, "synth.gguf");
    return ds_synth_file(ds_arch_from_name(model), path, NULL) == DS_OK ? path : NULL;
}

static void folder(const char *name, char *path, size_t n) {
    test_tmp_path(path, n, name);
    mkdir(path, 0755);
    snprintf(path + strlen(path), n - strlen(path), "/model.safetensors");
}

/* da3_small's file in folder `dir` (salt, tied copies stored once or not)
 * converts to synth's tensors (same) or to others of the same names. */
static void small_case(const char *dir, const char *salt, int tied_once, int same) {
    key_row *rows;
    int n = read_keys("da3_small", &rows);
    CHECK(n == 443);
    char path[512];
    folder(dir, path, sizeof path);
    const int written = write_safetensors(path, rows, n, salt, tied_once);
    free(rows);
    CHECK(written);
    const char *synth = synth_of("da3_small");
    CHECK(synth);
    check_file(path, "da3_small", synth, same);
    remove(path);
    remove(synth);
}

TEST(small_tied_once_equals_synth) { small_case("DA3-SMALL", "", 1, 1); }
TEST(small_tied_all_salted_converts) { small_case("salted", "salt:", 0, 0); }

/* The large models' tensor set, read from memory (the reader ds_ckpt_load
 * uses on the mapped file): the folder name picks Mono or Metric, and every
 * tensor is the formula's, so it converts as `synth` does (the small cases
 * above run that whole path on files). */
TEST(large_by_folder_name) {
    if (SANITIZED) { /* 334M formula values: half a minute under the sanitizers */
        printf("  (plain build only)\n");
        return;
    }
    key_row *rows;
    int n = read_keys("da3mono_large", &rows);
    CHECK(n == 406);
    size_t len;
    uint8_t *bytes = safetensors_bytes(rows, n, "", 1, &len);
    free(rows);
    CHECK(bytes);
    static const char *const labels[2][2] = {{"/hf/DA3MONO-LARGE/model.safetensors", "da3mono_large"},
                                             {"/hf/DA3METRIC-LARGE/model.safetensors", "da3metric_large"}};
    for (int k = 0; k < 2; k++) {
        ds_ckpt ck;
        CHECK_OK(ds_ckpt_load_memory(bytes, len, labels[k][0], &ck));
        ds_arch got;
        ds_status s = ds_detect_arch(&ck, labels[k][0], &got);
        int equal = ck.n_tensors == 406;
        for (size_t i = 0; equal && k == 0 && i < ck.n_tensors; i++) {
            const ds_ckpt_tensor *t = &ck.tensors[i];
            float *want = malloc(t->nbytes);
            equal = want && t->dtype == DS_F32;
            if (equal) {
                ds_synth_fill(t->name, t->ndim, t->shape, want);
                equal = !memcmp(want, t->data, t->nbytes);
            }
            free(want);
        }
        ds_ckpt_free(&ck);
        CHECK_OK(s);
        CHECK_MSG(got == ds_arch_from_name(labels[k][1]), "%s: %s", labels[k][0], ds_arch_name(got));
        CHECK_MSG(equal, "the tensors read are not the formula's");
    }
    free(bytes);
}

int main(void) {
    RUN(small_tied_once_equals_synth);
    RUN(small_tied_all_salted_converts);
    RUN(large_by_folder_name);
    test_remove_tmp_dir();
    return test_summary();
}
