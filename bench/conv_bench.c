/*
 * conv_bench.c: times one convolution shape through the fast CPU kernels,
 * the numbers behind bench/RESULTS.md's convolution section. Not part of the
 * build; after `make`:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime -I. \
 *      -I/usr/include/x86_64-linux-gnu/openblas-openmp bench/conv_bench.c \
 *      build/libdepthsolve.a -L/usr/lib/x86_64-linux-gnu/openblas-openmp \
 *      -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lm \
 *      -lpthread -o build/conv_bench
 *   build/conv_bench H W C O K STRIDE PAD GROUPS ALGO SIMD THREADS REPS
 *
 * PAD -1 is TF "SAME"; ALGO -1 lets ds_conv_choose pick (0 GEMM, 1 Winograd,
 * 2 depthwise, 3 grouped); SIMD 0 forces the portable code. Prints the best
 * wall time over REPS runs and the best process CPU time per thread (which,
 * on a machine shared with other jobs, is closer to what an idle one gives),
 * each with the GFLOP/s of the direct convolution's multiply-adds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/conv/conv.h"

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *filled(size_t n, unsigned seed, float scale) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; p && i < n; i++)
        p[i] = ((float)((i * 2654435761u + seed) % 2000u) / 1000.0f - 1.0f) * scale;
    return p;
}

int main(int argc, char **argv) {
    if (argc != 13) {
        fprintf(stderr, "usage: %s H W C O K STRIDE PAD GROUPS ALGO SIMD THREADS REPS\n", argv[0]);
        return 2;
    }
    int v[12];
    for (int i = 0; i < 12; i++)
        v[i] = atoi(argv[i + 1]);
    const int h = v[0], w = v[1], c = v[2], o = v[3], k = v[4], s = v[5], pad = v[6], g = v[7];
    const int algo = v[8], simd = v[9], threads = v[10], reps = v[11];
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_CONV2D;
    n.in[1] = -1;
    ds_conv_attr *a = &n.a.conv;
    a->kh = a->kw = k;
    a->stride_h = a->stride_w = s;
    a->dil_h = a->dil_w = 1;
    a->groups = g;
    a->act = DS_ACT_RELU;
    a->pad_t = a->pad_b = a->pad_l = a->pad_r = pad;
    if (pad < 0) { /* TF SAME */
        int total = (h + s - 1) / s * s - s + k - h;
        total = total > 0 ? total : 0;
        a->pad_t = a->pad_l = total / 2;
        a->pad_b = a->pad_r = total - total / 2;
    }
    const int oh = (h + a->pad_t + a->pad_b - k) / s + 1,
              ow = (w + a->pad_l + a->pad_r - k) / s + 1;
    n.shape[0] = 1;
    n.shape[1] = oh;
    n.shape[2] = ow;
    n.shape[3] = o;
    n.w[0].ndim = 4;
    n.w[0].shape[0] = o;
    n.w[0].shape[1] = n.w[0].shape[2] = k;
    n.w[0].shape[3] = c / g;
    const size_t nx = (size_t)h * w * c, ny = (size_t)oh * ow * o;
    const size_t nw = (size_t)o * k * k * (c / g);
    float *x = filled(nx, 1, 1.0f), *y = filled(ny, 2, 0.0f);
    float *wt = filled(nw, 3, 1.0f / sqrtf((float)(k * k * (c / g)))),
          *b = filled((size_t)o, 4, 0.1f);
    ds_conv_algo al = algo < 0 ? ds_conv_choose(&n, threads) : (ds_conv_algo)algo;
    size_t sb = ds_conv2d_scratch_algo(&n, threads, al);
    float *scratch = aligned_alloc(64, (sb + 63) / 64 * 64 + 64);
    void *packed = ds_fast_conv2d_pack_all(&n, wt, threads);
    if (!x || !y || !wt || !b || !scratch || !packed) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    ds_cpu_ctx ctx = {threads, scratch, sb};
    ds_tensor xt = {x, {1, h, w, c}}, yt = {y, {1, oh, ow, o}};
    ds_cpu_op op = {&n, &xt, NULL, &yt, wt, b, packed, &ctx, NULL, NULL};
    double best = INFINITY, best_cpu = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        ds_conv2d_run_algo(&op, al, simd);
        double t1 = seconds(CLOCK_MONOTONIC), c1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        best = t1 - t0 < best ? t1 - t0 : best;
        best_cpu = (c1 - c0) / threads < best_cpu ? (c1 - c0) / threads : best_cpu;
    }
    const double flop = 2.0 * oh * ow * o * k * k * (c / g);
    printf("%dx%d %d->%d k%d s%d g%d algo %d simd %d threads %d: %.3f ms (%.1f GFLOP/s), "
           "cpu/thread %.3f ms (%.1f GFLOP/s)\n",
           h, w, c, o, k, s, g, (int)al, simd, threads, best * 1e3, flop / best / 1e9,
           best_cpu * 1e3, flop / best_cpu / 1e9);
    free(packed);
    free(scratch);
    free(x);
    free(y);
    free(wt);
    free(b);
    return 0;
}
