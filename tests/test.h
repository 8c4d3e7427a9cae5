/*
 * test.h: the minimal test harness every tests/test_*.c uses.
 *
 *   TEST(parses_header) { CHECK(x == 1); CHECK_MSG(ok, "got %d", v); }
 *   int main(void) { RUN(parses_header); return test_summary(); }
 *
 * Each test prints "PASS name" or "FAIL name: file:line: what"; tests/run.sh
 * counts those lines. A test stops at its first failed check.
 */
#ifndef DS_TEST_H
#define DS_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h" /* ds_device, ds_engine, ds_precision */

#ifdef __cplusplus
extern "C" {
#endif

extern int test_failed_now; /* set by a failed CHECK inside the running test */
extern int test_n_pass, test_n_fail;

void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_run(const char *name, void (*fn)(void));
int test_summary(void);

/* The whole file (malloc'd; NULL if it cannot be opened), and its length. */
uint8_t *test_read_file(const char *path, size_t *len);
/* This program's own scratch directory under $DS_TEST_TMP (else /tmp),
 * made on first use; test_remove_tmp_dir() deletes it and its contents. */
const char *test_tmp_dir(void);
void test_tmp_path(char *out, size_t n, const char *name); /* test_tmp_dir()/name */
void test_remove_tmp_dir(void);
/* The synthetic models of `make models`: $DS_MODELS, else build/models. */
const char *test_models_dir(void);
/* PSNR (dB) of two byte images of n bytes; INFINITY when equal. */
double test_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n);
/* Writes n bytes to path; 1 on success. */
int test_write_file(const char *path, const void *p, size_t n);
/* CLOCK_MONOTONIC in seconds, for the times tests print. */
double test_seconds(void);

/* 1 in the ASan+UBSan build (build/asan): the costly cases are left to the
 * plain build there. */
#if defined(__SANITIZE_ADDRESS__)
enum { SANITIZED = 1 };
#else
enum { SANITIZED = 0 };
#endif

/* ds_engine_create with p and the synthetic model <test_models_dir()>/<arch>.gguf. */
ds_status test_create_engine(const char *arch, const ds_engine_params *p, ds_engine **e);
/* An engine of that model on `device`, autotune off (two engines of a test
 * run the heuristics' same first plans). */
ds_status test_open_engine(const char *arch, ds_device device, int profile, ds_precision precision, ds_engine **e);
/* The device of a CUDA backend test: cuda-emu in `make test`; with
 * DS_TEST_DEVICE=cuda (`make test-gpu`) the GPU, once an engine of `arch`
 * opens on it. 0 when it does not: "SKIP <test> on a GPU: why" is printed
 * and main returns 0. */
int test_cuda_device(const char *test, const char *arch, ds_device *device);

#define TEST(name) static void name(void)
#define RUN(name) test_run(#name, name)

#define CHECK(cond)                                         \
    do {                                                    \
        if (!(cond)) {                                      \
            test_fail_at(__FILE__, __LINE__, "%s", #cond);  \
            return;                                         \
        }                                                   \
    } while (0)

#define CHECK_MSG(cond, ...)                                \
    do {                                                    \
        if (!(cond)) {                                      \
            test_fail_at(__FILE__, __LINE__, __VA_ARGS__);  \
            return;                                         \
        }                                                   \
    } while (0)

/* A ds_status call that must succeed; prints ds_last_error() otherwise. */
#define CHECK_OK(expr)                                                          \
    do {                                                                        \
        ds_status check_s_ = (expr);                                            \
        if (check_s_ != DS_OK) {                                                \
            test_fail_at(__FILE__, __LINE__, "%s -> %s: %s", #expr,             \
                         ds_status_string(check_s_), ds_last_error());          \
            return;                                                             \
        }                                                                       \
    } while (0)

/* A ds_status call that must fail with `status` and a message containing `needle`. */
#define CHECK_FAILS(expr, status, needle)                                         \
    do {                                                                          \
        ds_status check_s_ = (expr);                                              \
        if (check_s_ != (status) || !strstr(ds_last_error(), (needle))) {         \
            test_fail_at(__FILE__, __LINE__, "%s -> %s \"%s\", wanted %s with \"%s\"", \
                         #expr, ds_status_string(check_s_), ds_last_error(),      \
                         ds_status_string(status), (needle));                     \
            return;                                                               \
        }                                                                         \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
