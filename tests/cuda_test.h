/*
 * cuda_test.h: helpers of the CUDA tests (tests/test_cuda_*.cu). g++
 * compiles them against the emulator for `make test`; nvcc compiles the
 * device-capable ones for `make test-gpu`.
 *
 *  - dev_buf<T>: a device buffer of n values between two guard zones of a
 *    known pattern, so a write just outside the output is caught on the GPU
 *    as under emulation (where ASan also catches writes beyond the zones);
 *  - cuda_test_begin(): skips a run without a device, else names the device
 *    and the emulator's seed; cuda_test_main(): a test binary's main around
 *    it;
 *  - kernel_launches(): how often the emulator ran a kernel (-1 on a GPU).
 */
#ifndef DS_CUDA_TEST_H
#define DS_CUDA_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "base/error.h"  /* DS_TRY */
#include "gpu/gpu_rt.h" /* cuda_malloc, cuda_memcpy, ... */
#include "tests/test.h"   /* TEST, CHECK, test_seconds */

#if defined(__CUDACC__)
static inline long long kernel_launches(const char *name) {
    (void)name; /* a GPU does not count */
    return -1;
}
static inline void print_schedule_seed(void) {}
#else
#include "gpu/emu/emu.h" /* emu_launch_count, emu_seed */
static inline long long kernel_launches(const char *name) { return (long long)ds_emu::emu_launch_count(name); }
/* Printed first, so that a failing run's output names the schedule it ran. */
static inline void print_schedule_seed(void) {
    printf("emulator seed %llu (DS_CUDA_EMU_SEED=N to change)\n", (unsigned long long)ds_emu::emu_seed());
}
#endif

namespace DS_CUDA_NS {

enum { GUARD = 64 };

template <class T> static inline T guard_value(void) {
    T v;
    memset((void *)&v, 0xA5, sizeof v);
    return v;
}

template <> inline float guard_value<float>(void) {
    const uint32_t bits = 0x7fc0dead; /* a NaN no kernel produces (as op_check.c) */
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

template <class T> struct dev_buf {
    T *base = NULL; /* GUARD + n + GUARD values */
    T *p = NULL;    /* the n values */
    size_t n = 0;
};

/* Allocates and fills guards and body with the guard pattern. */
template <class T> static ds_status dev_alloc(dev_buf<T> *b, size_t n) {
    std::vector<T> fill(n + 2 * GUARD, guard_value<T>());
    DS_TRY(cuda_malloc((void **)&b->base, fill.size() * sizeof(T)));
    b->p = b->base + GUARD;
    b->n = n;
    return cuda_memcpy(b->base, fill.data(), fill.size() * sizeof(T), cudaMemcpyHostToDevice);
}

template <class T> static ds_status dev_upload(dev_buf<T> *b, const T *host) {
    return b->n ? cuda_memcpy(b->p, host, b->n * sizeof(T), cudaMemcpyHostToDevice) : DS_OK;
}

template <class T> static ds_status dev_download(const dev_buf<T> &b, T *host) {
    return b.n ? cuda_memcpy(host, b.p, b.n * sizeof(T), cudaMemcpyDeviceToHost) : DS_OK;
}

/* Whether both guard zones still hold the pattern (false if they cannot be read). */
template <class T> static bool dev_guards_ok(const dev_buf<T> &b) {
    std::vector<T> all(b.n + 2 * GUARD);
    if (cuda_memcpy(all.data(), b.base, all.size() * sizeof(T), cudaMemcpyDeviceToHost) != DS_OK)
        return false;
    const T g = guard_value<T>();
    for (size_t i = 0; i < GUARD; i++)
        if (memcmp(&all[i], &g, sizeof g) != 0 || memcmp(&all[GUARD + b.n + i], &g, sizeof g) != 0)
            return false;
    return true;
}

template <class T> static void dev_release(dev_buf<T> *b) {
    cuda_free(b->base);
    *b = dev_buf<T>();
}

/* Prints the device and returns 1, or prints why the run is skipped and returns 0. */
static inline int cuda_test_begin(const char *argv0) {
    int n = 0;
    char why[256] = "", name[256] = "";
    cuda_device_count(&n, why, sizeof why);
    if (n < 1) {
        printf("SKIP %s: no CUDA device (%s)\n", argv0, why[0] ? why : "cudaGetDeviceCount returned 0");
        return 0;
    }
    if (cuda_device_name(0, name, sizeof name) == DS_OK)
        printf("device: %s\n", name);
    print_schedule_seed();
    return 1;
}

/* cuda_test_begin, then the test's stream: -1 to go on, else main's exit
 * status (0: skipped without a device, 1: no stream). */
static inline int cuda_test_setup(const char *argv0, cudaStream_t *stream) {
    if (!cuda_test_begin(argv0))
        return 0;
    if (cuda_stream_create(stream) != DS_OK) {
        printf("FAIL stream: %s\n", ds_last_error());
        return 1;
    }
    return -1;
}

/* A CUDA test's main: skipped without a device (said so), else the stream
 * the tests use made, `tests` run (it calls RUN), their time printed, the
 * stream destroyed; returns the summary's exit status. */
template <class F> static inline int cuda_test_main(const char *argv0, cudaStream_t *stream, F tests) {
    const int setup = cuda_test_setup(argv0, stream);
    if (setup >= 0)
        return setup;
    const double t0 = test_seconds();
    tests();
    printf("    %.2f s\n", test_seconds() - t0);
    cuda_stream_destroy(*stream);
    return test_summary();
}

} // namespace DS_CUDA_NS

#endif
