/* test_harness.c: implementation of test.h, linked into every test binary. */
#include "tests/test.h"

#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

int test_failed_now;
int test_n_pass, test_n_fail;

void test_fail_at(const char *file, int line, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("  %s:%d: %s\n", file, line, msg);
    test_failed_now = 1;
}

void test_run(const char *name, void (*fn)(void)) {
    test_failed_now = 0;
    fn();
    if (test_failed_now) {
        test_n_fail++;
        printf("FAIL %s\n", name);
    } else {
        test_n_pass++;
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

int test_summary(void) {
    printf("%d passed, %d failed\n", test_n_pass, test_n_fail);
    return test_n_fail ? 1 : 0;
}

uint8_t *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    *len = p ? fread(p, 1, (size_t)(n > 0 ? n : 0), f) : 0;
    fclose(f);
    return p;
}

int test_write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

const char *test_models_dir(void) {
    const char *d = getenv("DS_MODELS");
    return d ? d : "build/models";
}

double test_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0.0;
    for (size_t i = 0; i < n; i++)
        se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return se == 0.0 ? INFINITY : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

const char *test_tmp_dir(void) {
    static char dir[512];
    if (!dir[0]) {
        const char *base = getenv("DS_TEST_TMP");
        snprintf(dir, sizeof dir, "%s/dstest-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(dir))
            snprintf(dir, sizeof dir, "/tmp");
    }
    return dir;
}

void test_tmp_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", test_tmp_dir(), name); }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void test_remove_tmp_dir(void) {
    if (strcmp(test_tmp_dir(), "/tmp") != 0)
        nftw(test_tmp_dir(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

double test_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

ds_status test_create_engine(const char *arch, const ds_engine_params *p, ds_engine **e) {
    char model[512];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    ds_engine_params q = *p;
    q.model_path = model;
    return ds_engine_create(&q, e);
}

ds_status test_open_engine(const char *arch, ds_device device, int profile, ds_precision precision, ds_engine **e) {
    ds_engine_params p = ds_engine_default_params();
    p.device = device;
    p.profile = profile;
    p.precision = precision;
    p.autotune = 0;
    return test_create_engine(arch, &p, e);
}

int test_cuda_device(const char *test, const char *arch, ds_device *device) {
    const char *want = getenv("DS_TEST_DEVICE");
    *device = DS_DEVICE_CUDA_EMU;
    if (!want || strcmp(want, "cuda") != 0)
        return 1;
    ds_engine *probe = NULL;
    ds_status s = test_open_engine(arch, DS_DEVICE_CUDA, 0, DS_PRECISION_FP32, &probe);
    ds_engine_free(probe);
    if (s != DS_OK) {
        printf("SKIP %s on a GPU: %s\n", test, ds_last_error());
        return 0;
    }
    *device = DS_DEVICE_CUDA;
    return 1;
}
