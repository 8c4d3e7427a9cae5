/*
 * mesh_bench.c: the time of ds_mesh_build (the CPU path, mesh/mesh_cpu.c),
 * alone on a synthetic depth map or after the depth solve it follows
 * (ds_engine_solve_rgb8) on a synthetic photo; the numbers behind
 * bench/RESULTS.md's mesh section. Built by `make build/mesh_bench`, run by
 * bench/mesh_bench.sh.
 *
 *   build/mesh_bench MODEL.gguf|- WIDTH HEIGHT GRID REPS [camera] [TEAR]
 *
 * MODEL "-": no network, a depth map of smooth ramps and steps. GRID 0 is
 * one vertex per pixel. Prints the best and median of REPS runs of each,
 * and the mesh's size.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "depthsolve.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds of every thread of the process: on a shared machine, the work
 * done whatever the waiting. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A gradient with a bright disc: some structure for the network. */
static void synthetic_photo(uint8_t *rgb, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                const float dx = (float)x - 0.4f * w, dy = (float)y - 0.5f * h;
                const int disc = dx * dx + dy * dy < 0.04f * w * w;
                rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(disc ? 230 - 40 * c : (x * 200 / w + y * 50 / h + 30 * c) % 256);
            }
}

/* Inverse depth with ramps and a near disc (steps for the tearing). */
static void synthetic_depth(float *d, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float dx = (float)x - 0.4f * w, dy = (float)y - 0.5f * h;
            d[(size_t)y * w + x] = 0.2f + 0.3f * (float)y / (float)h + (dx * dx + dy * dy < 0.04f * w * w ? 1.0f : 0.0f);
        }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL.gguf|- WIDTH HEIGHT GRID REPS [camera] [TEAR]\n", argv[0]);
        return 2;
    }
    const int w = atoi(argv[2]), h = atoi(argv[3]), reps = atoi(argv[5]);
    const int solve = strcmp(argv[1], "-") != 0;
    ds_mesh_params mp = ds_mesh_default_params();
    mp.grid = atoi(argv[4]);
    mp.projection = argc > 6 && !strcmp(argv[6], "camera") ? DS_MESH_CAMERA : DS_MESH_PLANE;
    mp.tear = argc > 7 ? (float)atof(argv[7]) : 0.0f;
    ds_engine_params ep = ds_engine_default_params();
    ep.model_path = argv[1];
    ds_engine *e = NULL;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    float *depth = malloc((size_t)w * h * sizeof(float));
    double *t_solve = calloc((size_t)reps + 1, sizeof(double)), *t_mesh = calloc((size_t)reps + 1, sizeof(double));
    double *c_mesh = calloc((size_t)reps + 1, sizeof(double));
    if (!rgb || !depth || !t_solve || !t_mesh || !c_mesh || reps < 1 || (solve && ds_engine_create(&ep, &e) != DS_OK)) {
        fprintf(stderr, "setup failed: %s\n", ds_last_error());
        return 1;
    }
    synthetic_photo(rgb, w, h);
    synthetic_depth(depth, w, h);
    ds_solve_params sp = ds_solve_default_params();
    ds_mesh m = {0};
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (solve && ds_engine_solve_rgb8(e, rgb, w, h, (size_t)w * 3, &sp, depth) != DS_OK) {
            fprintf(stderr, "solve failed: %s\n", ds_last_error());
            return 1;
        }
        ds_mesh_free(&m);
        double t1 = now(), c1 = cpu_now();
        if (ds_mesh_build(depth, w, h, &mp, &m) != DS_OK) {
            fprintf(stderr, "mesh failed: %s\n", ds_last_error());
            return 1;
        }
        double t2 = now();
        c_mesh[r] = cpu_now() - c1;
        t_solve[r] = t1 - t0;
        t_mesh[r] = t2 - t1;
    }
    qsort(t_solve, reps, sizeof(double), cmp);
    qsort(t_mesh, reps, sizeof(double), cmp);
    qsort(c_mesh, reps, sizeof(double), cmp);
    printf("%dx%d grid %d %s tear %g: %lld vertices, %lld triangles\n", w, h, mp.grid,
           mp.projection == DS_MESH_CAMERA ? "camera" : "plane", (double)mp.tear, (long long)m.n_vertices,
           (long long)m.n_triangles);
    if (solve)
        printf("depth solve  best %8.1f ms  median %8.1f ms\n", 1e3 * t_solve[0], 1e3 * t_solve[reps / 2]);
    printf("mesh build   best %8.1f ms  median %8.1f ms  (CPU time, all threads: median %8.1f ms)\n", 1e3 * t_mesh[0],
           1e3 * t_mesh[reps / 2], 1e3 * c_mesh[reps / 2]);
    ds_mesh_free(&m);
    ds_engine_free(e);
    free(rgb);
    free(depth);
    free(t_solve);
    free(t_mesh);
    free(c_mesh);
    return 0;
}
