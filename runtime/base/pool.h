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
