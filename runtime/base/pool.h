/*
 * base/pool.h: the library's CPU threads. Every parallel loop of the library
 * (the CPU kernels, the photo resizes, the mesh and the frame renderer, the
 * GGUF writer) runs through ds_parallel_for on one process-wide pool of
 * worker threads, started on first use and grown to the largest count asked.
 *
 * Waiting: an idle worker spins for a few tens of microseconds (the gap
 * between two ops of a network) and then sleeps on a futex; the caller
 * waiting for the last tasks does the same. Nothing spins for longer, so on
 * a machine with more runnable threads than cores a waiter does not hold the
 * core that the thread it waits for needs (what libgomp's default spinning
 * did: bench/RESULTS.md, "Threads under load").
 *
 * One loop runs on the pool at a time: a ds_parallel_for made while another
 * runs (from a task of it, or from another thread of the caller's program)
 * runs its tasks on the calling thread alone, so threads are never
 * oversubscribed by nesting.
 *
 * Moving a `#pragma omp parallel for` loop here (no OpenMP in the build: a
 * pragma left behind fails it, -Wunknown-pragmas -Werror):
 *
 *     #pragma omp parallel for num_threads(nt) schedule(static)
 *     for (int64_t i = 0; i < n; i++)
 *         y[i] = f(x[i], s);
 *
 * becomes a job struct holding what the body reads, the body as a task of i,
 * and one call:
 *
 *     typedef struct f_job { const float *x; float *y; float s; } f_job;
 *     static void f_task(void *ctx, int64_t i, int thread) {
 *         (void)thread;
 *         const f_job *j = ctx;
 *         j->y[i] = f(j->x[i], j->s);
 *     }
 *     f_job j = {x, y, s};
 *     ds_parallel_for(nt, n, f_task, &j);
 *
 * - num_threads(...) is the first argument; in cpu/fast keep the kernels'
 *   rules: ds_fast_threads(op, work), or ds_fast_scratch_threads() where a
 *   task uses a per-thread workspace (cpu/fast/fast.h).
 * - omp_get_thread_num() is `thread` (0 .. nt-1): index per-thread scratch
 *   or partial results with it (a reduction: one slot per task or thread,
 *   summed by the caller after the call).
 * - Indices are handed out one at a time (like schedule(dynamic, 1)): make a
 *   task a row or a chunk of a few thousand floats, not one float.
 * - A `#pragma omp parallel` region with an inner `omp for` becomes one
 *   ds_parallel_for over the inner loop's (flattened) indices.
 * - OpenBLAS called inside a task: call ds_blas_serial() first (cpu/blas.h).
 * - `omp simd`: use `#pragma GCC ivdep` or nothing.
 */
#ifndef DS_BASE_POOL_H
#define DS_BASE_POOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One task: index i of the loop, run by thread `thread` (0 is the caller,
 * always < the loop's thread count), for per-thread workspaces. */
typedef void (*ds_pool_task)(void *ctx, int64_t i, int thread);

/* Runs task(ctx, i, thread) for every i in [0, n) on at most n_threads
 * threads (the caller and n_threads - 1 workers), handing out indices one at
 * a time in increasing order; returns when all are done. n_threads < 2, or
 * n < 2, runs them in order on the caller. */
void ds_parallel_for(int n_threads, int64_t n, ds_pool_task task, void *ctx);

/* Worker threads started so far (the tests count them). */
int ds_pool_workers(void);

#ifdef __cplusplus
}
#endif

#endif
