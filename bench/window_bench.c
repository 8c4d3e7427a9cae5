/*
 * window_bench.c: what Swin's windowed attention costs against a dense one,
 * through the fast CPU kernels: for each attention of a Swin network (stage
 * map, heads, window, shift as the model builds them), DS_OP_WINDOW_ATTENTION
 * against DS_OP_ATTENTION over every token of the map (the attention a plain
 * ViT would run there). The numbers behind bench/RESULTS.md's Swin section.
 * Not part of the build; after `make`:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime -I. \
 *      -I/usr/include/x86_64-linux-gnu/openblas-openmp bench/window_bench.c \
 *      build/libdepthsolve.a -L/usr/lib/x86_64-linux-gnu/openblas-openmp \
 *      -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lm -lstdc++ -lpthread \
 *      -o build/window_bench
 *   build/window_bench ARCH THREADS REPS
 *
 * Prints per distinct attention the best wall time over REPS runs and the
 * best process CPU time per thread (closer to an idle machine's on a shared
 * one), with the GFLOP/s of the multiply-adds each op does (q k^T and p v:
 * 4 T_keys head_dim per query and head).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/ops.h"
#include "model/arch.h"

void openblas_set_num_threads(int n);

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static ds_status no_weights(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)ctx, (void)d, (void)w, (void)b;
    return DS_OK;
}

/* Best wall and CPU seconds of `reps` runs of node n on x into y. */
static void time_op(const ds_node *n, ds_tensor *x, ds_tensor *y, const float *w, const float *b, const float *w2,
                    int threads, int reps, double *wall, double *cpu) {
    const ds_cpu_kernel *k = &ds_cpu_fast_kernels[n->op];
    size_t bytes = k->scratch_bytes(n, threads);
    float *scratch = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    ds_cpu_ctx ctx = {.n_threads = threads, .scratch = scratch, .scratch_bytes = bytes};
    ds_cpu_op op = {.node = n, .x = x, .y = y, .w = w, .b = b, .w2 = w2, .ctx = &ctx};
    *wall = *cpu = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        k->run(&op);
        double t = seconds(CLOCK_MONOTONIC) - t0, c = (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / threads;
        *wall = t < *wall ? t : *wall;
        *cpu = c < *cpu ? c : *cpu;
    }
    free(scratch);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ARCH THREADS REPS\n", argv[0]);
        return 2;
    }
    const ds_arch arch = ds_arch_from_name(argv[1]);
    const int threads = atoi(argv[2]), reps = atoi(argv[3]);
    const ds_arch_info *info = ds_arch_get(arch);
    if (!info || !info->fixed_size || threads < 1 || reps < 1) {
        fprintf(stderr, "window_bench: %s is not a Swin model, or bad THREADS/REPS\n", argv[1]);
        return 2;
    }
    openblas_set_num_threads(1); /* the kernels run their sgemms inside their own threads */
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    if (ds_arch_build(arch, info->net_size, info->net_size, &binder, &g) != DS_OK) {
        fprintf(stderr, "window_bench: %s\n", ds_last_error());
        return 1;
    }
    printf("%s, %d thread(s), best of %d: window attention against dense attention over the map\n", info->name,
           threads, reps);
    printf("| map | heads | window | shift | windowed ms (cpu) | GFLOP/s | dense ms (cpu) | GFLOP/s | dense / windowed |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    int seen[64][2], n_seen = 0; /* (map side, shift) timed already */
    for (int i = 0; i < g.n_nodes; i++) {
        const ds_node *n = &g.nodes[i];
        int again = n->op != DS_OP_WINDOW_ATTENTION;
        for (int k = 0; k < n_seen && !again; k++)
            again = seen[k][0] == (int)n->shape[1] && seen[k][1] == n->a.win.shift_h;
        if (again || n_seen == 64)
            continue;
        seen[n_seen][0] = (int)n->shape[1], seen[n_seen++][1] = n->a.win.shift_h;
        const int64_t H = n->shape[1], W = n->shape[2], C = n->shape[3], T = H * W, hd = C / n->a.win.heads;
        float *x = aligned_alloc(64, (size_t)(T * 3 * C) * sizeof(float)), *y = aligned_alloc(64, (size_t)(T * C) * sizeof(float));
        for (int64_t e = 0; e < T * 3 * C; e++)
            x[e] = (float)((e * 2654435761u) % 2000u) / 1000.0f - 1.0f;
        ds_tensor tx = {x, {1, H, W, 3 * C}}, ty = {y, {1, H, W, C}};
        double ww, wc, dw, dc;
        time_op(n, &tx, &ty, n->w[0].data, n->w[1].data, n->w[2].data, threads, reps, &ww, &wc);
        ds_node dense = *n;
        dense.op = DS_OP_ATTENTION;
        dense.a.attn.heads = n->a.win.heads;
        dense.a.attn.scale = n->a.win.scale;
        const int64_t dshape[4] = {1, 1, T, C};
        memcpy(dense.shape, dshape, sizeof dshape);
        ds_tensor dx = {x, {1, 1, T, 3 * C}}, dy = {y, {1, 1, T, C}};
        time_op(&dense, &dx, &dy, NULL, NULL, NULL, threads, reps, &dw, &dc);
        const double win_flop = 4.0 * (double)T * (double)(n->a.win.win_h * n->a.win.win_w) * (double)hd * n->a.win.heads;
        const double dense_flop = 4.0 * (double)T * (double)T * (double)hd * n->a.win.heads;
        printf("| %lldx%lldx%lld | %d | %d | %d | %.2f (%.2f) | %.1f | %.2f (%.2f) | %.1f | %.1fx |\n", (long long)H,
               (long long)W, (long long)C, n->a.win.heads, n->a.win.win_h, n->a.win.shift_h, ww * 1e3, wc * 1e3,
               win_flop / wc / 1e9, dw * 1e3, dc * 1e3, dense_flop / dc / 1e9, dc / wc);
        free(x);
        free(y);
    }
    ds_graph_free(&g);
    return 0;
}
