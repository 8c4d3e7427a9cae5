/*
 * linear_split_bench.c: how cpu/fast/linear.c should split a linear layer
 * between two threads: each thread runs single-threaded OpenBLAS sgemm on
 * blocks of output columns (all of x, part of W) or of rows (part of x, all
 * of W), two blocks a thread as the kernel does. W rotates among L copies,
 * so that it comes from memory as in a network (each layer's W is read
 * once). The numbers behind bench/RESULTS.md's "Linear split". Not part of
 * the build:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -I/usr/include/x86_64-linux-gnu/openblas-openmp \
 *      bench/linear_split_bench.c -L/usr/lib/x86_64-linux-gnu/openblas-openmp \
 *      -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lpthread \
 *      -o build/linear_split_bench
 *   build/linear_split_bench ROWS CIN COUT [L]
 *
 * Prints the mean wall time of each split and its GFLOP/s.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int n);

enum { THREADS = 2, BLOCKS = 2 * THREADS };

static int M, K, N, L, cur, by_rows;
static float *x, **w, *y;
static pthread_barrier_t bar;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* thread `tid`'s blocks: every THREADS-th one, rounded to 16 as the kernel does */
static void run(int tid) {
    const int span = by_rows ? M : N, block = ((span + BLOCKS - 1) / BLOCKS + 15) / 16 * 16;
    for (int b = tid, at = tid * block; at < span; b += THREADS, at = b * block) {
        const int n = span - at < block ? span - at : block;
        if (by_rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, N, K, 1.0f, x + (long)at * K, K, w[cur],
                        K, 0.0f, y + (long)at * N, N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n, K, 1.0f, x, K, w[cur] + (long)at * K,
                        K, 0.0f, y + at, N);
    }
}

static void *worker(void *arg) {
    (void)arg;
    openblas_set_num_threads(1);
    for (;;) {
        pthread_barrier_wait(&bar);
        if (cur < 0)
            return NULL;
        run(1);
        pthread_barrier_wait(&bar);
    }
}

static double timed(int reps) {
    double total = 0;
    for (int r = 0; r < reps; r++) {
        cur = r % L;
        const double t0 = now();
        pthread_barrier_wait(&bar);
        run(0);
        pthread_barrier_wait(&bar);
        total += now() - t0;
    }
    return total / reps;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ROWS CIN COUT [L]\n", argv[0]);
        return 2;
    }
    M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]), L = argc > 4 ? atoi(argv[4]) : 4;
    if (M < 1 || K < 1 || N < 1 || L < 1) {
        fprintf(stderr, "%s: sizes must be positive\n", argv[0]);
        return 2;
    }
    openblas_set_num_threads(1);
    x = malloc(sizeof(float) * (size_t)M * K), y = malloc(sizeof(float) * (size_t)M * N);
    w = malloc(sizeof(float *) * (size_t)L);
    if (!x || !y || !w)
        return 1;
    for (long i = 0; i < (long)M * K; i++)
        x[i] = (float)(i % 7) * 0.1f;
    for (int l = 0; l < L; l++) {
        if (!(w[l] = malloc(sizeof(float) * (size_t)N * K)))
            return 1;
        for (long i = 0; i < (long)N * K; i++)
            w[l][i] = (float)(i % 5) * 0.1f;
    }
    pthread_barrier_init(&bar, NULL, THREADS);
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    const int reps = 3 * L < 20 ? 20 : 3 * L;
    for (by_rows = 0; by_rows < 2; by_rows++) {
        timed(2); /* warm-up */
        const double t = timed(reps);
        printf("%d x %d -> %d, %s: %.2f ms, %.1f GFLOP/s\n", M, K, N, by_rows ? "rows   " : "columns", t * 1e3,
               2.0 * M * K * N / t * 1e-9);
    }
    cur = -1;
    pthread_barrier_wait(&bar);
    pthread_join(th, NULL);
    return 0;
}
