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
