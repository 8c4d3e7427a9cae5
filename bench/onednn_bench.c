/*
 * onednn_bench.c: times one convolution shape through oneDNN (Debian's
 * libdnnl-dev), beside bench/conv_bench.c's run of the same shape through our
 * kernels: the numbers behind bench/RESULTS.md's "oneDNN against our
 * kernels". Not part of the build (the library does not use oneDNN); after
 * `apt-get install libdnnl-dev`:
 *
 *   cc -O2 -std=c11 -fopenmp bench/onednn_bench.c -ldnnl -o build/onednn_bench
 *   build/onednn_bench H W C O K STRIDE PAD GROUPS THREADS REPS
 *
 * Same arguments as conv_bench (PAD -1 is TF "SAME"; GROUPS == C == O is a
 * depthwise conv). oneDNN picks its layouts (format_tag_any), its algorithm
 * (convolution_auto) and its ISA (its own JIT dispatch; ONEDNN_MAX_CPU_ISA
 * caps it); the input and weight reorders into its layouts are done once,
 * outside the timing, as an engine that packs at load would. Debian builds
 * oneDNN on OpenMP: THREADS is omp_set_num_threads. Prints the best wall time
 * and the best process CPU time per thread, with the GFLOP/s of the direct
 * convolution's multiply-adds, and the implementation oneDNN chose.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        dnnl_status_t s_ = (call);                                                     \
        if (s_ != dnnl_success) {                                                      \
            fprintf(stderr, "onednn_bench: %s failed (status %d)\n", #call, (int)s_); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static dnnl_memory_t filled(const dnnl_memory_desc_t *md, dnnl_engine_t eng, unsigned seed, float scale) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    float *p;
    CHECK(dnnl_memory_get_data_handle(m, (void **)&p));
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t i = 0; i < n; i++)
        p[i] = ((float)((i * 2654435761u + seed) % 2000u) / 1000.0f - 1.0f) * scale;
    return m;
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: onednn_bench H W C O K STRIDE PAD GROUPS THREADS REPS\n");
        return 2;
    }
    const int h = atoi(argv[1]), w = atoi(argv[2]), c = atoi(argv[3]), o = atoi(argv[4]), k = atoi(argv[5]),
              s = atoi(argv[6]), pad = atoi(argv[7]), g = atoi(argv[8]), threads = atoi(argv[9]),
              reps = atoi(argv[10]);
    if (h < 1 || w < 1 || c < 1 || o < 1 || k < 1 || s < 1 || g < 1 || c % g || o % g || threads < 1 || reps < 1) {
        fprintf(stderr, "onednn_bench: bad shape\n");
        return 2;
    }
    /* TF "SAME" splits the padding like cpu/conv's conv_bench does */
    const int oh = pad < 0 ? (h + s - 1) / s : (h + 2 * pad - k) / s + 1;
    const int ow = pad < 0 ? (w + s - 1) / s : (w + 2 * pad - k) / s + 1;
    const int ph = pad < 0 ? ((oh - 1) * s + k - h > 0 ? (oh - 1) * s + k - h : 0) : 2 * pad;
    const int pw = pad < 0 ? ((ow - 1) * s + k - w > 0 ? (ow - 1) * s + k - w : 0) : 2 * pad;
    omp_set_num_threads(threads);

    dnnl_engine_t eng;
    dnnl_stream_t st;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_dims_t src_d = {1, c, h, w}, dst_d = {1, o, oh, ow}, b_d = {o};
    dnnl_dims_t w_plain = {o, c, k, k}, w_grp = {g, o / g, c / g, k, k};
    dnnl_memory_desc_t src_any, w_any, b_md, dst_any, src_user, w_user;
    CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_d, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_d, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, b_d, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&src_user, 4, src_d, dnnl_f32, dnnl_nhwc));
    if (g == 1) {
        CHECK(dnnl_memory_desc_init_by_tag(&w_any, 4, w_plain, dnnl_f32, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&w_user, 4, w_plain, dnnl_f32, dnnl_ohwi));
    } else {
        CHECK(dnnl_memory_desc_init_by_tag(&w_any, 5, w_grp, dnnl_f32, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&w_user, 5, w_grp, dnnl_f32, dnnl_gohwi));
    }
    dnnl_dims_t strides = {s, s}, pad_l = {ph / 2, pw / 2}, pad_r = {ph - ph / 2, pw - pw / 2};
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_auto, &src_any, &w_any,
                                             &b_md, &dst_any, strides, pad_l, pad_r));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
    const char *impl = "?";
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);

    /* the user's NHWC input and OHWI weights reordered once into oneDNN's layouts */
    dnnl_memory_t xu = filled(&src_user, eng, 1, 1.0f), wu = filled(&w_user, eng, 3, 1.0f / sqrtf((float)k * k * c / g));
    dnnl_memory_t x, wt, b = filled(&b_md, eng, 4, 0.1f), y;
    CHECK(dnnl_memory_create(&x, src_md, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&wt, w_md, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&y, dst_md, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_memory_t from[2] = {xu, wu}, to[2] = {x, wt};
    const dnnl_memory_desc_t *from_md[2] = {&src_user, &w_user}, *to_md[2] = {src_md, w_md};
    for (int i = 0; i < 2; i++) {
        dnnl_primitive_desc_t rpd;
        dnnl_primitive_t r;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, from_md[i], eng, to_md[i], eng, NULL));
        CHECK(dnnl_primitive_create(&r, rpd));
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from[i]}, {DNNL_ARG_TO, to[i]}};
        CHECK(dnnl_primitive_execute(r, st, 2, a));
        CHECK(dnnl_stream_wait(st));
        dnnl_primitive_destroy(r);
        dnnl_primitive_desc_destroy(rpd);
    }
    dnnl_primitive_t conv;
    CHECK(dnnl_primitive_create(&conv, pd));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}};
    double best = INFINITY, best_cpu = INFINITY;
    for (int r = 0; r < reps + 1; r++) { /* the first run creates oneDNN's scratch: untimed */
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        CHECK(dnnl_primitive_execute(conv, st, 4, args));
        CHECK(dnnl_stream_wait(st));
        double t1 = seconds(CLOCK_MONOTONIC), c1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        if (r == 0)
            continue;
        best = t1 - t0 < best ? t1 - t0 : best;
        best_cpu = (c1 - c0) / threads < best_cpu ? (c1 - c0) / threads : best_cpu;
    }
    const double flop = 2.0 * oh * ow * o * k * k * (c / g);
    printf("%dx%d %d->%d k%d s%d g%d oneDNN %s threads %d: %.3f ms (%.1f GFLOP/s), "
           "cpu/thread %.3f ms (%.1f GFLOP/s)\n",
           h, w, c, o, k, s, g, impl, threads, best * 1e3, flop / best / 1e9, best_cpu * 1e3,
           flop / best_cpu / 1e9);
    dnnl_primitive_destroy(conv);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_t all[7] = {xu, wu, x, wt, b, y, NULL};
    for (int i = 0; all[i]; i++)
        dnnl_memory_destroy(all[i]);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}
