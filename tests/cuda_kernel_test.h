/*
 * cuda_kernel_test.h: the harness of the kernel tests (tests/test_cuda_nn_*.cu,
 * tests/test_cuda_photo.cu), ggml test-backend-ops style: random inputs, the
 * CPU reference kernel, the CUDA kernel at a given block size into guarded
 * device memory, NMSE = sum((a-b)^2)/sum(b^2) against a per-op threshold,
 * and the in-place form the memory planner may choose.
 *
 * g++ runs the binaries on the CPU emulator in `make test`; nvcc runs them on
 * a GPU in `make test-gpu`. Thresholds: under emulation the elementwise,
 * resize and token ops reproduce their reference bit for bit (same float
 * arithmetic, same libm); the normalizations, the depthwise and transposed
 * convolutions and attention accumulate in float where the reference uses
 * double and measure below 1e-13 (attention: 1.7e-13 at 131 tokens, the
 * largest tested; 7.6e-13 measured once at 1009). A GPU contracts a*b+c
 * into FMAs and its erff and expf differ by up to 2 ulp, a relative error
 * around 1e-7, an NMSE around 1e-14 (the emulated kernels built with
 * -ffp-contract=fast -mfma measured the same largest NMSE per op, within
 * 1e-13): the thresholds allow 1e-12 for those ops and stay exact where no
 * rounding can differ (ReLU, max-pool, min/max, the 8/16-bit quantization,
 * the token copies). The largest NMSE of each op is printed.
 *
 * A test binary lists its kernel files, KERNEL_TEST(add) for
 * kernels/<folder>/add.cu tested by the function add, and hands the list to
 * kernel_tests_main. Its last test, every_kernel_file_has_a_test, lists the
 * .cu files under kernels/ and fails when one is named by no KERNEL_TEST in
 * any tests/test_cuda_*.cu (nor is one of OWN_TEST_FILES), or when a kernel
 * of this binary's files never ran.
 *
 * Header only: each binary includes it once (g++ for the emulator, nvcc for
 * the GPU).
 */
#ifndef DS_CUDA_KERNEL_TEST_H
#define DS_CUDA_KERNEL_TEST_H

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/cuda_test.h"  /* dev_buf, cuda_test_main, kernel_launches */
#include "kernels/kernels.h"  /* op_*, kern_ctx, gpu_op */
#include "tests/op_check.h"   /* op_node, op_random, op_nmse */
#include "graph/planner.h"    /* ds_plan_inplace_input */

namespace DS_CUDA_NS {
static cudaStream_t g_stream;

typedef ds_status (*graph_op_fn)(const kern_ctx *, const gpu_op *);

struct case_result {
    double nmse = INFINITY;
    double nmse_inplace = -1; /* -1: the op has no in-place form */
    bool guards_ok = false;
};

/* Largest NMSE seen per op, printed at the end of its test. */
static double g_worst;

static inline void note(double nmse) {
    if (nmse > g_worst)
        g_worst = nmse;
}

static inline void print_worst(const char *op) { printf("    %-16s largest NMSE %.2e\n", op, g_worst); }

static inline size_t numel(const int64_t s[4]) { return (size_t)(s[0] * s[1] * s[2] * s[3]); }

static inline std::string shape_str(const int64_t s[4]) {
    char buf[96];
    ds_format_shape(buf, sizeof buf, 4, s);
    return buf;
}

/* Weights a test sets itself, w_len and b_len long (NULL: random), and
 * weight slot 2 (w2_len values; none when NULL). */
struct given_weights {
    const float *w = NULL, *b = NULL, *w2 = NULL;
    size_t w2_len = 0;
};

/* Random inputs (x scaled by x_scale), the reference into y_ref, the kernel
 * at `block` threads into guarded device memory, then in place if allowed.
 * The node's weight slots 0..3 (lens: floats of each; 0: none) are random,
 * except what `given` sets. */
static inline ds_status run_graph_op_slots(graph_op_fn fn, const ds_node *node, const int64_t xs[4], const int64_t *rs,
                                           const size_t lens[4], float x_scale, int block, uint64_t seed,
                                           case_result *res, const given_weights &given = given_weights()) {
    const size_t w_len = lens[0], b_len = lens[1], w2_len = lens[2], w3_len = lens[3];
    const size_t nx = numel(xs), nr = rs ? numel(rs) : 0, ny = numel(node->shape);
    std::vector<float> x(nx), r(nr), w(w_len), b(b_len), w2(w2_len), w3(w3_len), y_ref(ny), y(ny);
    op_random(x.data(), nx, seed, x_scale);
    op_random(r.data(), nr, seed + 1, 1.0f);
    op_random(w.data(), w_len, seed + 2, 1.0f);
    op_random(b.data(), b_len, seed + 3, 0.5f);
    op_random(w2.data(), w2_len, seed + 4, 1.0f);
    op_random(w3.data(), w3_len, seed + 5, 0.5f);
    if (given.w && w_len) /* a slot the case leaves empty has no storage */
        memcpy(w.data(), given.w, w_len * sizeof(float));
    if (given.b && b_len)
        memcpy(b.data(), given.b, b_len * sizeof(float));
    if (given.w2 && w2_len)
        memcpy(w2.data(), given.w2, w2_len * sizeof(float));
    ds_tensor hx = {x.data(), {xs[0], xs[1], xs[2], xs[3]}}, hr = {r.data(), {0, 0, 0, 0}};
    ds_tensor hy = {y_ref.data(), {0, 0, 0, 0}};
    if (rs)
        memcpy(hr.shape, rs, sizeof hr.shape);
    memcpy(hy.shape, node->shape, sizeof hy.shape);
    const ds_cpu_kernel *rk = &ds_cpu_ref_kernels[node->op];
    const size_t scratch_bytes = rk->scratch_bytes ? rk->scratch_bytes(node, 1) : 0;
    std::vector<double> scratch(scratch_bytes / sizeof(double) + 1); /* attention: T doubles */
    ds_cpu_ctx ctx = {1, (float *)scratch.data(), scratch_bytes};
    ds_cpu_op ref = {node, &hx, rs ? &hr : NULL, &hy, w_len ? w.data() : NULL, b_len ? b.data() : NULL, NULL, &ctx,
                     w2_len ? w2.data() : NULL, w3_len ? w3.data() : NULL};
    rk->run(&ref);

    dev_buf<float> dx, dr, dw, db, dw2, dw3, dy;
    ds_status s = DS_OK;
    if ((s = dev_alloc(&dx, nx)) || (s = dev_alloc(&dr, nr)) || (s = dev_alloc(&dw, w_len)) ||
        (s = dev_alloc(&db, b_len)) || (s = dev_alloc(&dw2, w2_len)) || (s = dev_alloc(&dw3, w3_len)) ||
        (s = dev_alloc(&dy, ny)) || (s = dev_upload(&dx, x.data())) || (s = dev_upload(&dr, r.data())) ||
        (s = dev_upload(&dw, w.data())) || (s = dev_upload(&db, b.data())) || (s = dev_upload(&dw2, w2.data())) ||
        (s = dev_upload(&dw3, w3.data())))
        goto done;
    {
        ds_tensor tx = {dx.p, {xs[0], xs[1], xs[2], xs[3]}}, tr = {dr.p, {0, 0, 0, 0}}, ty = {dy.p, {0, 0, 0, 0}};
        if (rs)
            memcpy(tr.shape, rs, sizeof tr.shape);
        memcpy(ty.shape, node->shape, sizeof ty.shape);
        gpu_op op = {node, &tx, rs ? &tr : NULL, &ty, w_len ? dw.p : NULL, b_len ? db.p : NULL, w2_len ? dw2.p : NULL,
                     w3_len ? dw3.p : NULL};
        kern_ctx k = {g_stream, block};
        if ((s = fn(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(dy, y.data())))
            goto done;
        res->nmse = op_nmse(y.data(), y_ref.data(), ny);
        res->guards_ok = dev_guards_ok(dy) && dev_guards_ok(dx) && dev_guards_ok(dr);
        /* in place: the output over the input the planner may hand over */
        const int in = ds_plan_inplace_input(node);
        dev_buf<float> *src = in == 0 ? &dx : (in == 1 && rs ? &dr : NULL);
        if (src && src->n == ny) {
            ds_tensor yi = {src->p, {0, 0, 0, 0}};
            memcpy(yi.shape, node->shape, sizeof yi.shape);
            op.y = &yi;
            if ((s = fn(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(*src, y.data())))
                goto done;
            res->nmse_inplace = op_nmse(y.data(), y_ref.data(), ny);
            res->guards_ok = res->guards_ok && dev_guards_ok(*src);
        }
    }
done:
    dev_release(&dx);
    dev_release(&dr);
    dev_release(&dw);
    dev_release(&db);
    dev_release(&dw2);
    dev_release(&dw3);
    dev_release(&dy);
    return s;
}

/* Slots 0 and 1 (weight and bias), and slot 2 only as `given` sets it. */
static inline ds_status run_graph_op(graph_op_fn fn, const ds_node *node, const int64_t xs[4], const int64_t *rs,
                                     size_t w_len, size_t b_len, float x_scale, int block, uint64_t seed,
                                     case_result *res, const given_weights &given = given_weights()) {
    const size_t lens[4] = {w_len, b_len, given.w2 ? given.w2_len : 0, 0};
    return run_graph_op_slots(fn, node, xs, rs, lens, x_scale, block, seed, res, given);
}

/* op_check.h's op_node, the output's shape as one array. */
static inline ds_node make_node(ds_op op, const int64_t shape[4]) {
    return op_node(op, shape[0], shape[1], shape[2], shape[3]);
}

/* Shapes (N, H, W, C): size-1 dimensions, primes, tall and wide. */
static const int64_t SHAPES[][4] = {{1, 1, 1, 1}, {1, 7, 13, 3}, {2, 5, 3, 17}, {1, 3, 11, 1}, {1, 1, 29, 8}};
static const int BLOCKS[] = {0, 1, 32, 97};
static const ds_act ACTS[] = {DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6, DS_ACT_GELU, DS_ACT_HARDSWISH,
                              DS_ACT_SIGMOID, DS_ACT_EXP, DS_ACT_EXP1};

/* erff and expf of the GPU differ from the host's in the last bits */
static inline double act_threshold(ds_act a) {
    return a == DS_ACT_GELU || a == DS_ACT_SIGMOID || a == DS_ACT_EXP || a == DS_ACT_EXP1 ? 1e-12 : 0.0;
}

#define CHECK_CASE(res, thr, ...)                                                              \
    do {                                                                                       \
        char what_[256];                                                                       \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                            \
        note((res).nmse);                                                                      \
        CHECK_MSG((res).nmse <= (thr), "%s: NMSE %.3g > %.0e", what_, (res).nmse, (thr));      \
        CHECK_MSG((res).nmse_inplace <= (thr), "%s in place: NMSE %.3g > %.0e", what_,         \
                  (res).nmse_inplace, (thr));                                                  \
        CHECK_MSG((res).guards_ok, "%s: a write outside the output (guard zone)", what_);      \
    } while (0)

/* A kernel file and its test: KERNEL_TEST(add) is kernels/<folder>/add.cu's,
 * tested by the function add. every_kernel_file_has_a_test finds the files
 * of the other binaries by these words in their sources. */
struct kernel_test {
    const char *file;
    void (*test)(void);
};
#define KERNEL_TEST(file) kernel_test{#file, file}

/* kernels/<folder>/<word>[_*].cu tested by a binary of its own,
 * tests/test_cuda_<word>.cu, which checks that its kernels ran. */
static const char *const OWN_TEST_FILES[] = {"mesh", "render", "half"};

static const kernel_test *g_kernel_tests; /* this binary's, for every_kernel_file_has_a_test */
static size_t g_n_kernel_tests;

/* The whole file, empty if it cannot be read. */
static inline std::string file_text(const std::string &path) {
    std::string text;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return text;
    char buf[4096];
    for (size_t got; (got = fread(buf, 1, sizeof buf, f)) > 0;)
        text.append(buf, got);
    fclose(f);
    return text;
}

/* The names after "__global__ void" in a source file. */
static inline std::vector<std::string> kernel_names(const std::string &path) {
    std::vector<std::string> names;
    const std::string src = file_text(path);
    for (size_t at = src.find("__global__"); at != std::string::npos; at = src.find("__global__", at + 1)) {
        size_t p = src.find("void", at);
        if (p == std::string::npos)
            break;
        p += 4;
        while (p < src.size() && (src[p] == ' ' || src[p] == '\n'))
            p++;
        size_t e = p;
        while (e < src.size() && (isalnum((unsigned char)src[e]) || src[e] == '_'))
            e++;
        names.push_back(src.substr(p, e - p));
    }
    return names;
}

/* The .cu files under `dir`, at any depth. */
static inline void list_cu_files(const std::string &dir, std::vector<std::string> *out) {
    DIR *d = opendir(dir.c_str());
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const std::string name = e->d_name, path = dir + "/" + name;
        if (name == "." || name == "..")
            continue;
        struct stat st;
        if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            list_cu_files(path, out);
        else if (name.size() > 3 && name.compare(name.size() - 3, 3, ".cu") == 0)
            out->push_back(path);
    }
    closedir(d);
}

/* The sources of every kernel test binary, tests/test_cuda_*.cu, one string. */
static inline std::string kernel_test_sources(void) {
    std::string all;
    DIR *d = opendir("tests");
    if (!d)
        return all;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const std::string name = e->d_name;
        if (name.compare(0, 10, "test_cuda_") == 0 && name.size() > 3 && name.compare(name.size() - 3, 3, ".cu") == 0)
            all += file_text("tests/" + name);
    }
    closedir(d);
    return all;
}

/* Whether tests/test_cuda_<word>.cu, a binary of its own, takes the file `stem`. */
static inline bool own_test_file(const std::string &stem) {
    for (const char *word : OWN_TEST_FILES) {
        const std::string w = word;
        if ((stem == w || stem.compare(0, w.size() + 1, w + "_") == 0) &&
            access(("tests/test_cuda_" + w + ".cu").c_str(), R_OK) == 0)
            return true;
    }
    return false;
}

TEST(every_kernel_file_has_a_test) {
    if (!cuda_is_emulated()) {
        printf("    (emulator only: a GPU does not count launches)\n");
        return;
    }
    std::vector<std::string> paths;
    list_cu_files("kernels", &paths);
    const std::string sources = kernel_test_sources();
    CHECK_MSG(!paths.empty() && !sources.empty(), "cannot list kernels/ or tests/ (run from the repository root)");
    int files = 0, kernels = 0;
    std::string missing;
    for (size_t i = 0; i < g_n_kernel_tests; i++) {
        bool found = false;
        for (const std::string &path : paths)
            found |= path.substr(path.rfind('/') + 1) == std::string(g_kernel_tests[i].file) + ".cu";
        if (!found)
            missing += std::string(" ") + g_kernel_tests[i].file + " (tested here, no kernels/**/" +
                       g_kernel_tests[i].file + ".cu)";
    }
    for (const std::string &path : paths) {
        const std::string name = path.substr(path.rfind('/') + 1), stem = name.substr(0, name.size() - 3);
        bool mine = false;
        for (size_t i = 0; i < g_n_kernel_tests; i++)
            mine |= stem == g_kernel_tests[i].file;
        if (!mine) {
            if (sources.find("KERNEL_TEST(" + stem + ")") == std::string::npos && !own_test_file(stem))
                missing += " " + path + " (no KERNEL_TEST(" + stem + ") in tests/test_cuda_*.cu)";
            continue; /* its binary checks that its kernels ran */
        }
        files++;
        for (const std::string &k : kernel_names(path)) {
            kernels++;
            if (kernel_launches(k.c_str()) <= 0)
                missing += " " + k + " of " + path + " (never launched)";
        }
    }
    CHECK_MSG(files > 0 && missing.empty(), "untested:%s", missing.c_str());
    printf("    %d kernel files, %d kernels: every one ran under emulation; every file of kernels/ has a test\n",
           files, kernels);
}

/* A kernel test binary's main: its kernel files' tests in order, then
 * `more` (the tests that are not a file's; may be NULL), then
 * every_kernel_file_has_a_test. */
template <size_t N>
static inline int kernel_tests_main(const char *argv0, const kernel_test (&tests)[N], void (*more)(void)) {
    g_kernel_tests = tests;
    g_n_kernel_tests = N;
    return cuda_test_main(argv0, &g_stream, [more] {
        for (size_t i = 0; i < g_n_kernel_tests; i++)
            test_run(g_kernel_tests[i].file, g_kernel_tests[i].test);
        if (more)
            more();
        RUN(every_kernel_file_has_a_test);
    });
}

} // namespace DS_CUDA_NS

#endif
