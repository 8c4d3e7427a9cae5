/*
 * test_cuda_emu.cu: the CPU emulator proves that it finds what a GPU would
 * only show sometimes. Emulator only (g++), in `make test`:
 *
 *  - a race planted by removing a barrier gives wrong results under the
 *    random schedule, for most seeds, while the correct kernel is right for
 *    every seed; the same seed replays the same schedule;
 *  - a barrier reached by part of a block, barriers in divergent code, and
 *    warp operations misused (a lane outside its own mask, a bad width,
 *    lanes in different operations, a warp waiting on a barrier) stop the
 *    launch with a message that names the kernel, the place and the seed;
 *  - reads of lanes that do not take part in a shuffle and of uninitialized
 *    dynamic shared memory are NaN;
 *  - an out-of-bounds write to device or to shared memory dies with ASan's
 *    report (in a child process, ASan build only); a host pointer passed to
 *    a kernel, copies of the wrong kind and CUDA's capture rules are refused;
 *  - atomics let other threads in, so retry loops run;
 *  - how many threads per second the emulator runs, with and without barriers.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "kernels/common.cuh"  /* DS_LAUNCH, device built-ins */
#include "tests/cuda_test.h" /* dev_buf */
#include "gpu/emu/emu.h"       /* emu_set_seed, emu_seed, emu_threads_run, emu_launches */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;

/* ---- the planted race ---- */

/* Sum of each block's 64 values in shared memory, a tree of halving steps.
 * With `barriers` false the __syncthreads() between steps is missing: a
 * thread may read a partner's slot before the partner has added into it. */
static __global__ void tree_sum_kernel(const float *x /* (blocks, 64) */, float *sums /* (blocks) */, int barriers) {
    __shared__ float s[64];
    const unsigned t = threadIdx.x;
    s[t] = x[blockIdx.x * 64 + t];
    __syncthreads();
    for (unsigned half = 32; half > 0; half /= 2) {
        if (t < half)
            s[t] += s[t + half];
        if (barriers)
            __syncthreads();
    }
    if (t == 0)
        sums[blockIdx.x] = s[0];
}

/* Runs the tree sum with `seed`; returns how many of the block sums are wrong. */
static int tree_sum_errors(uint64_t seed, int barriers, ds_status *st) {
    const int blocks = 16;
    std::vector<float> x(blocks * 64), sums(blocks);
    for (size_t i = 0; i < x.size(); i++)
        x[i] = (float)(i % 7 + 1);
    dev_buf<float> dx, ds;
    ds_emu::emu_set_seed(seed);
    if ((*st = dev_alloc(&dx, x.size())) || (*st = dev_alloc(&ds, blocks)) || (*st = dev_upload(&dx, x.data())) ||
        (*st = DS_LAUNCH(tree_sum_kernel, blocks, 64, 0, g_stream, dx.p, ds.p, barriers)) ||
        (*st = dev_download(ds, sums.data())))
        return -1;
    int wrong = 0;
    for (int b = 0; b < blocks; b++) {
        float want = 0;
        for (int i = 0; i < 64; i++)
            want += x[b * 64 + i];
        wrong += sums[b] != want;
    }
    dev_release(&dx);
    dev_release(&ds);
    return wrong;
}

TEST(planted_race_is_caught_across_seeds) {
    std::string caught, missed;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        ds_status st;
        const int good = tree_sum_errors(seed, 1, &st);
        CHECK_OK(st);
        CHECK_MSG(good == 0, "seed %llu: the kernel with barriers got %d blocks wrong", (unsigned long long)seed, good);
        const int bad = tree_sum_errors(seed, 0, &st);
        CHECK_OK(st);
        char one[32];
        snprintf(one, sizeof one, " %llu(%d/16)", (unsigned long long)seed, bad);
        (bad ? caught : missed) += one;
    }
    printf("    missing barrier caught with seeds%s; missed with%s\n", caught.c_str(),
           missed.empty() ? " none" : missed.c_str());
    CHECK_MSG(!caught.empty(), "no seed exposed the missing barrier");
    CHECK_MSG(missed.empty(), "seeds%s ran the racy kernel right", missed.c_str());
}

/* Each thread takes a ticket: the order in which the block's threads ran. */
static __global__ void ticket_kernel(unsigned *counter, unsigned *order /* (threads) */) {
    order[blockIdx.x * blockDim.x + threadIdx.x] = atomicAdd(counter, 1u);
}

static ds_status run_order(uint64_t seed, std::vector<unsigned> *order) {
    dev_buf<unsigned> counter, out;
    const unsigned zero = 0;
    ds_emu::emu_set_seed(seed);
    DS_TRY(dev_alloc(&counter, 1));
    DS_TRY(dev_alloc(&out, 4 * 64));
    DS_TRY(dev_upload(&counter, &zero));
    DS_TRY(DS_LAUNCH(ticket_kernel, 4, 64, 0, g_stream, counter.p, out.p));
    order->resize(4 * 64);
    DS_TRY(dev_download(out, order->data()));
    dev_release(&counter);
    dev_release(&out);
    return DS_OK;
}

TEST(seed_replays_the_schedule) {
    std::vector<unsigned> a, b, c;
    CHECK_OK(run_order(42, &a));
    CHECK_OK(run_order(42, &b));
    CHECK_OK(run_order(43, &c));
    CHECK_MSG(a == b, "seed 42 ran two different schedules");
    CHECK_MSG(a != c, "seeds 42 and 43 ran the same schedule");
    bool in_order = true;
    for (unsigned i = 0; i < a.size(); i++)
        in_order &= a[i] == i;
    CHECK_MSG(!in_order, "threads ran in index order");
}

/* ---- misuse is reported ---- */

static __global__ void early_exit_kernel(float *y /* (blockDim.x) */) {
    if (threadIdx.x >= 16)
        return; /* the bug: the barrier below is then reached by half the block */
    y[threadIdx.x] = 1.0f;
    __syncthreads();
    y[threadIdx.x] += y[(threadIdx.x + 1) % 16];
}

static __global__ void divergent_barrier_kernel(float *y /* (blockDim.x) */) {
    if (threadIdx.x % 2) {
        __syncthreads();
        y[threadIdx.x] = 1.0f;
    } else {
        y[threadIdx.x] = 2.0f;
        __syncthreads();
    }
}

/* The launch fails with DS_ERR_DEVICE and a message holding every needle. */
#define CHECK_LAUNCH_FAILS(launch, ...)                                                                 \
    do {                                                                                                \
        ds_status s_ = (launch);                                                                        \
        const char *needles_[] = {__VA_ARGS__};                                                         \
        CHECK_MSG(s_ == DS_ERR_DEVICE, "%s: %s (%s)", #launch, ds_status_string(s_), ds_last_error()); \
        for (const char *n_ : needles_)                                                                 \
            CHECK_MSG(strstr(ds_last_error(), n_), "\"%s\" lacks \"%s\"", ds_last_error(), n_);       \
    } while (0)

TEST(barrier_in_divergent_code_is_reported) {
    dev_buf<float> y;
    CHECK_OK(dev_alloc(&y, 64));
    ds_emu::emu_set_seed(7);
    CHECK_LAUNCH_FAILS(DS_LAUNCH(early_exit_kernel, 2, 32, 0, g_stream, y.p), "early_exit_kernel", "block (",
                       "__syncthreads() at tests/test_cuda_emu.cu:", "reached by 16 of 32 threads",
                       "exited without reaching it", "emulator seed 7");
    printf("    %s\n", ds_last_error());
    CHECK_LAUNCH_FAILS(DS_LAUNCH(divergent_barrier_kernel, 1, 32, 0, g_stream, y.p), "divergent_barrier_kernel",
                       "__syncthreads() in divergent code");
    printf("    %s\n", ds_last_error());
    const char *first = strstr(ds_last_error(), "test_cuda_emu.cu:");
    const char *second = first ? strstr(first + 1, "test_cuda_emu.cu:") : NULL;
    CHECK_MSG(second && atoi(first + 17) != atoi(second + 17), "two barrier sites expected: %s", ds_last_error());
    /* the emulator is fine afterwards: the abandoned fibers are reused */
    CHECK_OK(DS_LAUNCH(divergent_barrier_kernel, 1, 1, 0, g_stream, y.p));
    dev_release(&y);
}

static __global__ void warp_misuse_kernel(int *out /* (64) */, int how) {
    const unsigned lane = threadIdx.x % 32;
    int v = (int)lane;
    switch (how) {
    case 0: /* lane 5 is not in the mask it passes */
        v = __shfl_sync(0xffffffdfu, v, 0);
        break;
    case 1: /* width 12 is not a power of two */
        v = __shfl_down_sync(0xffffffffu, v, 1, 12);
        break;
    case 2: /* half the warp shuffles, the other half votes */
        v = lane < 16 ? __shfl_xor_sync(0xffffffffu, v, 1) : (int)__ballot_sync(0xffffffffu, v & 1);
        break;
    case 3: /* lane 0 waits at a barrier the rest of the warp never reaches */
        if (lane == 0)
            __syncthreads();
        else
            v = __shfl_down_sync(0xffffffffu, v, 1);
        break;
    }
    out[threadIdx.x] = v;
}

TEST(warp_misuse_is_reported) {
    dev_buf<int> out;
    CHECK_OK(dev_alloc(&out, 64));
    CHECK_LAUNCH_FAILS(DS_LAUNCH(warp_misuse_kernel, 1, 32, 0, g_stream, out.p, 0), "warp_misuse_kernel",
                       "__shfl_sync at tests/test_cuda_emu.cu:", "lane 5 of warp 0 calls it but is not in its mask");
    printf("    %s\n", ds_last_error());
    CHECK_LAUNCH_FAILS(DS_LAUNCH(warp_misuse_kernel, 1, 32, 0, g_stream, out.p, 1), "width 12 is not a power of two");
    CHECK_LAUNCH_FAILS(DS_LAUNCH(warp_misuse_kernel, 1, 32, 0, g_stream, out.p, 2), "__shfl_xor_sync",
                       "__ballot_sync", "warp 0: lane");
    printf("    %s\n", ds_last_error());
    CHECK_LAUNCH_FAILS(DS_LAUNCH(warp_misuse_kernel, 1, 64, 0, g_stream, out.p, 3), "deadlock",
                       "waits at __syncthreads()");
    printf("    %s\n", ds_last_error());
    dev_release(&out);
}

/* Lanes 0..15 shuffle among themselves but read lane 16 and up. */
static __global__ void stray_read_kernel(float *out /* (32) */) {
    const unsigned lane = threadIdx.x;
    float v = (float)lane;
    if (lane < 16)
        v = __shfl_sync(0x0000ffffu, v, (int)lane + 8);
    out[lane] = v;
}

/* Reads dynamic shared memory nobody wrote. */
static __global__ void uninit_shared_kernel(float *out /* (blockDim.x) */) {
    DS_DYNAMIC_SHARED(float, buf);
    out[threadIdx.x] = buf[threadIdx.x];
}

TEST(undefined_reads_are_nan) {
    dev_buf<float> out;
    CHECK_OK(dev_alloc(&out, 32));
    float h[32];
    CHECK_OK(DS_LAUNCH(stray_read_kernel, 1, 32, 0, g_stream, out.p));
    CHECK_OK(dev_download(out, h));
    for (unsigned l = 0; l < 32; l++)
        CHECK_MSG(l < 8 ? h[l] == (float)(l + 8) : (l < 16 ? isnan(h[l]) : h[l] == (float)l), "lane %u: %g", l, h[l]);
    CHECK_OK(DS_LAUNCH(uninit_shared_kernel, 1, 32, 32 * sizeof(float), g_stream, out.p));
    CHECK_OK(dev_download(out, h));
    for (unsigned l = 0; l < 32; l++)
        CHECK_MSG(isnan(h[l]), "uninitialized shared float %u read %g", l, h[l]);
    dev_release(&out);
}

/* ---- memory misuse ---- */

static __global__ void oob_write_kernel(float *y /* (n) */, int n) {
    y[n + threadIdx.x] = 1.0f; /* the bug: one past the end and beyond */
}

/* Through a pointer, as computed indices are: UBSan already sees s[32]. */
static __global__ void shared_oob_kernel(float *y /* (32) */) {
    __shared__ float s[32];
    float *row = s + threadIdx.x;
    row[1] = 1.0f; /* the bug: thread 31 writes s[32] */
    __syncthreads();
    y[threadIdx.x] = s[threadIdx.x];
}

#if defined(__SANITIZE_ADDRESS__)
/* Runs one bad kernel (0: device memory, 1: shared memory) in a child;
 * returns its exit status, with its stderr in `report`. */
static int run_oob_child(int which, std::string *report) {
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        float *y = NULL;
        if (cuda_malloc((void **)&y, 32 * sizeof(float)) != DS_OK)
            _exit(3);
        ds_status s = which ? DS_LAUNCH(shared_oob_kernel, 1, 32, 0, (cudaStream_t)0, y)
                            : DS_LAUNCH(oob_write_kernel, 1, 4, 0, (cudaStream_t)0, y, 32);
        _exit(s == DS_OK ? 0 : 3); /* 0: not caught */
    }
    close(fds[1]);
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0)
        report->append(buf, (size_t)got);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* The sanitizer's first line and the top frame (ASan) or place (UBSan). */
static void print_report(const std::string &report) {
    const size_t asan = report.find("ERROR: AddressSanitizer"), ubsan = report.find("runtime error");
    if (asan != std::string::npos) {
        const size_t frame = report.find("#0 ");
        printf("    child died: %s\n        %s\n", report.substr(asan, report.find('\n', asan) - asan).c_str(),
               report.substr(frame, report.find('\n', frame) - frame).c_str());
    } else if (ubsan != std::string::npos) {
        const size_t line = report.rfind('\n', ubsan) == std::string::npos ? 0 : report.rfind('\n', ubsan) + 1;
        printf("    child died: %s\n", report.substr(line, report.find('\n', ubsan) - line).c_str());
    }
}

/* A write past a cudaMalloc'ed buffer is ASan's heap-buffer-overflow. Past a
 * __shared__ array (a static) it is ASan's global-buffer-overflow, unless
 * UBSan, which runs in the same build and knows the array's size, stops it
 * first: either way the child dies with the kernel's source line. */
TEST(asan_catches_out_of_bounds_device_write) {
    std::string report;
    int status = run_oob_child(0, &report);
    CHECK_MSG(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 1), "status %d", status);
    CHECK_MSG(report.find("AddressSanitizer: heap-buffer-overflow") != std::string::npos &&
                  report.find("in oob_write_kernel tests/test_cuda_emu.cu:") != std::string::npos,
              "no ASan report naming oob_write_kernel:\n%s", report.c_str());
    print_report(report);
    report.clear();
    status = run_oob_child(1, &report);
    CHECK_MSG(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 1), "status %d", status);
    CHECK_MSG(report.find("AddressSanitizer: global-buffer-overflow") != std::string::npos ||
                  report.find("runtime error: store to address") != std::string::npos,
              "no sanitizer report of the shared memory overrun:\n%s", report.c_str());
    print_report(report);
}
#else
TEST(asan_catches_out_of_bounds_device_write) {
    (void)oob_write_kernel;
    (void)shared_oob_kernel;
    printf("    (no ASan in this build: runs in build/asan)\n");
}
#endif

static __global__ void touch_kernel(float *y /* (1) */) { y[0] = 1.0f; }

TEST(host_pointer_to_kernel_is_refused) {
    float host = 0.0f;
    CHECK_LAUNCH_FAILS(DS_LAUNCH(touch_kernel, 1, 1, 0, g_stream, &host), "touch_kernel: argument 0",
                       "neither device nor page-locked memory");
    float *pinned;
    CHECK_OK(cuda_malloc_host((void **)&pinned, sizeof(float)));
    CHECK_OK(DS_LAUNCH(touch_kernel, 1, 1, 0, g_stream, pinned)); /* mapped on a GPU too */
    CHECK(*pinned == 1.0f);
    CHECK_OK(cuda_free_host(pinned));
}

TEST(copies_are_checked) {
    float host[8] = {0}, *dev;
    CHECK_OK(cuda_malloc((void **)&dev, 8 * sizeof(float)));
    CHECK_FAILS(cuda_memcpy(host, dev, sizeof host, cudaMemcpyHostToDevice), DS_ERR_DEVICE,
                "from 0x");
    CHECK_FAILS(cuda_memcpy(host, dev, 9 * sizeof(float), cudaMemcpyDeviceToHost), DS_ERR_DEVICE,
                "partly outside a device allocation");
    CHECK_FAILS(cuda_memset_async(host, 0, sizeof host, g_stream), DS_ERR_DEVICE, "(host)");
    CHECK_FAILS(cuda_free(host), DS_ERR_DEVICE, "not the start of a device allocation");
    CHECK_FAILS(cuda_free(dev + 1), DS_ERR_DEVICE, "not the start of a device allocation");
    CHECK_OK(cuda_memcpy(dev, host, sizeof host, cudaMemcpyHostToDevice));
    CHECK_OK(cuda_free(dev));
}

TEST(capture_rules_are_kept) {
    float *dev, host[4] = {0};
    CHECK_OK(cuda_malloc((void **)&dev, sizeof host));
    CHECK_OK(cuda_memcpy(dev, host, sizeof host, cudaMemcpyHostToDevice));
    CHECK_FAILS(cuda_capture_begin(NULL), DS_ERR_DEVICE, "legacy stream");
    cudaGraphExec_t g = NULL;
    CHECK_FAILS(cuda_capture_end(g_stream, &g), DS_ERR_DEVICE, "not being captured");
    CHECK_OK(cuda_capture_begin(g_stream));
    CHECK_FAILS(cuda_capture_begin(g_stream), DS_ERR_DEVICE, "already being captured");
    void *p = NULL;
    CHECK_FAILS(cuda_malloc(&p, 16), DS_ERR_DEVICE, "cudaMalloc while a stream is being captured");
    CHECK_FAILS(cuda_memcpy(dev, host, sizeof host, cudaMemcpyHostToDevice), DS_ERR_DEVICE, "cudaMemcpy while");
    CHECK_FAILS(cuda_stream_sync(g_stream), DS_ERR_DEVICE, "during a capture");
    CHECK_FAILS(DS_LAUNCH(touch_kernel, 1, 1, 0, (cudaStream_t)0, dev), DS_ERR_DEVICE, "legacy stream");
    CHECK_OK(DS_LAUNCH(touch_kernel, 1, 1, 0, g_stream, dev)); /* recorded, not run */
    CHECK_OK(cuda_capture_end(g_stream, &g));
    CHECK_OK(cuda_memcpy(host, dev, sizeof host, cudaMemcpyDeviceToHost));
    CHECK_MSG(host[0] == 0.0f, "a captured launch ran at capture time");
    CHECK_OK(cuda_graph_launch(g, g_stream));
    CHECK_OK(cuda_memcpy(host, dev, sizeof host, cudaMemcpyDeviceToHost));
    CHECK(host[0] == 1.0f);
    CHECK_OK(cuda_graph_destroy(g));
    CHECK_OK(cuda_free(dev));
}

/* ---- atomics yield ---- */

/* A float add by compare-and-swap, counting the retries. */
static __global__ void cas_add_kernel(float *sum, int *retries) {
    unsigned *p = (unsigned *)sum, seen = *p, old;
    while ((old = atomicCAS(p, seen, __float_as_uint(__uint_as_float(seen) + 1.0f))) != seen) {
        seen = old;
        atomicAdd(retries, 1);
    }
}

TEST(atomics_let_other_threads_in) {
    dev_buf<float> sum;
    dev_buf<int> retries;
    const float zero = 0.0f;
    const int none = 0;
    CHECK_OK(dev_alloc(&sum, 1));
    CHECK_OK(dev_alloc(&retries, 1));
    CHECK_OK(dev_upload(&sum, &zero));
    CHECK_OK(dev_upload(&retries, &none));
    CHECK_OK(DS_LAUNCH(cas_add_kernel, 4, 128, 0, g_stream, sum.p, retries.p));
    float s;
    int r;
    CHECK_OK(dev_download(sum, &s));
    CHECK_OK(dev_download(retries, &r));
    printf("    512 compare-and-swap adds, %d retries\n", r);
    CHECK(s == 512.0f);
    CHECK_MSG(r > 0, "no compare-and-swap ever had to retry");
    dev_release(&sum);
    dev_release(&retries);
}

/* ---- speed ---- */

static __global__ void axpy_kernel(const float *x /* (n) */, float *y /* (n) */, int n) {
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n)
        y[i] += 2.0f * x[i];
}

static __global__ void block_sum_kernel(const float *x /* (blocks, 256) */, float *y /* (blocks) */) {
    __shared__ float s[256];
    s[threadIdx.x] = x[blockIdx.x * 256 + threadIdx.x];
    __syncthreads();
    for (unsigned half = 128; half > 0; half /= 2) {
        if (threadIdx.x < half)
            s[threadIdx.x] += s[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        y[blockIdx.x] = s[0];
}

static __global__ void warp_sum_kernel(const float *x /* (n) */, float *y /* (n / 32) */) {
    float v = x[blockIdx.x * blockDim.x + threadIdx.x];
    for (int o = 16; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x % 32 == 0)
        y[(blockIdx.x * blockDim.x + threadIdx.x) / 32] = v;
}

TEST(threads_per_second) {
    const int n = 1 << 16;
    dev_buf<float> x, y;
    CHECK_OK(dev_alloc(&x, n));
    CHECK_OK(dev_alloc(&y, n));
    CHECK_OK(cuda_memset_async(x.p, 0, n * sizeof(float), g_stream));
    CHECK_OK(cuda_memset_async(y.p, 0, n * sizeof(float), g_stream));
    double rate[3];
    for (int k = 0; k < 3; k++) {
        const unsigned long long before = ds_emu::emu_threads_run();
        const double t0 = test_seconds();
        if (k == 0)
            CHECK_OK(DS_LAUNCH(axpy_kernel, n / 256, 256, 0, g_stream, x.p, y.p, n));
        else if (k == 1)
            CHECK_OK(DS_LAUNCH(block_sum_kernel, n / 256, 256, 0, g_stream, x.p, y.p));
        else
            CHECK_OK(DS_LAUNCH(warp_sum_kernel, n / 256, 256, 0, g_stream, x.p, y.p));
        rate[k] = (double)(ds_emu::emu_threads_run() - before) / (test_seconds() - t0);
    }
    printf("    threads/s: %.2e without barriers, %.2e with 9 barriers, %.2e with 5 shuffles\n", rate[0], rate[1],
           rate[2]);
    dev_release(&x);
    dev_release(&y);
}

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        const uint64_t seed = ds_emu::emu_seed();
        RUN(planted_race_is_caught_across_seeds);
        RUN(seed_replays_the_schedule);
        RUN(barrier_in_divergent_code_is_reported);
        RUN(warp_misuse_is_reported);
        RUN(undefined_reads_are_nan);
        RUN(asan_catches_out_of_bounds_device_write);
        RUN(host_pointer_to_kernel_is_refused);
        RUN(copies_are_checked);
        RUN(capture_rules_are_kept);
        ds_emu::emu_set_seed(seed);
        RUN(atomics_let_other_threads_in);
        RUN(threads_per_second);
        printf("    %llu launches, %llu CUDA threads run\n", ds_emu::emu_launches(), ds_emu::emu_threads_run());
    });
}
