/*
 * base/pool.c: the worker pool behind ds_parallel_for (see pool.h).
 *
 * Each worker waits on a word of its own: the caller of a loop bumps the
 * words of the workers it takes, and only those wake, so a loop on fewer
 * threads than the pool has leaves the others asleep. A worker takes indices
 * from the loop's shared counter until none is left, then counts itself out
 * in `pending`, which the caller waits on. The words are futexes; a
 * `sleeping` flag beside each says whether a wake-up call is needed, so a
 * loop that follows another closely costs no system call.
 */
#include "base/pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Spin iterations before sleeping: ~30-100 us of PAUSE, longer than the
 * caller's work between two ops, far shorter than a scheduler time slice. */
enum { SPINS = 2048 };
enum { MAX_WORKERS = 1023 };

typedef struct worker {
    _Atomic uint32_t word;     /* bumped once per loop this worker takes part in */
    _Atomic uint32_t sleeping; /* 1 while in (or about to enter) futex wait */
    int id;                    /* its thread index in every loop: 1 .. */
} worker;

typedef struct loop {
    ds_pool_task task;
    void *ctx;
    int64_t n;
    _Atomic int64_t next;          /* the next index to hand out */
    _Atomic uint32_t pending;      /* workers of this loop not done yet */
    _Atomic uint32_t caller_sleeping;
} loop;

static struct {
    pthread_mutex_t grow;  /* starting workers */
    _Atomic int n_workers; /* started and ready */
    _Atomic int busy;      /* a loop is running */
    worker workers[MAX_WORKERS];
    loop job;
} pool = {.grow = PTHREAD_MUTEX_INITIALIZER};

static void futex_wait(_Atomic uint32_t *w, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n) {
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until *w != seen: spins, then sleeps. */
static void wait_change(_Atomic uint32_t *w, uint32_t seen, _Atomic uint32_t *sleeping) {
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(w, memory_order_acquire) != seen)
            return;
        cpu_relax();
    }
    while (atomic_load(w) == seen) {
        atomic_store(sleeping, 1);
        if (atomic_load(w) == seen) /* seq_cst: the poster sees the flag or we see its bump */
            futex_wait(w, seen);
        atomic_store(sleeping, 0);
    }
}

static void run_tasks(loop *l, int thread) {
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
        if (i >= l->n)
            return;
        l->task(l->ctx, i, thread);
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    uint32_t seen = 0; /* not its word now: the loop that started it may have bumped it already */
    for (;;) {
        wait_change(&w->word, seen, &w->sleeping);
        seen = atomic_load_explicit(&w->word, memory_order_acquire);
        run_tasks(&pool.job, w->id);
        if (atomic_fetch_sub(&pool.job.pending, 1) == 1 && /* seq_cst: pairs with caller_sleeping */
            atomic_load(&pool.job.caller_sleeping))
            futex_wake(&pool.job.pending, 1);
    }
    return NULL;
}

/* Starts workers until `want` run (or a thread cannot start: fewer then). */
static int grow_to(int want) {
    if (want > MAX_WORKERS)
        want = MAX_WORKERS;
    int have = atomic_load_explicit(&pool.n_workers, memory_order_acquire);
    if (have >= want)
        return have;
    pthread_mutex_lock(&pool.grow);
    have = atomic_load(&pool.n_workers);
    while (have < want) {
        worker *w = &pool.workers[have];
        w->id = have + 1;
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&t, &attr, worker_main, w);
        pthread_attr_destroy(&attr);
        if (failed)
            break;
        atomic_store_explicit(&pool.n_workers, ++have, memory_order_release);
    }
    pthread_mutex_unlock(&pool.grow);
    return have;
}

static void run_inline(int64_t n, ds_pool_task task, void *ctx) {
    for (int64_t i = 0; i < n; i++)
        task(ctx, i, 0);
}

void ds_parallel_for(int n_threads, int64_t n, ds_pool_task task, void *ctx) {
    if (n_threads < 2 || n < 2 || atomic_exchange(&pool.busy, 1)) {
        run_inline(n, task, ctx);
        return;
    }
    int helpers = (int)((int64_t)n_threads - 1 < n - 1 ? n_threads - 1 : n - 1);
    int started = grow_to(helpers);
    helpers = started < helpers ? started : helpers;
    loop *l = &pool.job;
    l->task = task;
    l->ctx = ctx;
    l->n = n;
    atomic_store_explicit(&l->next, 0, memory_order_relaxed);
    atomic_store(&l->caller_sleeping, 0);
    atomic_store(&l->pending, (uint32_t)helpers);
    for (int k = 0; k < helpers; k++) {
        worker *w = &pool.workers[k];
        atomic_fetch_add(&w->word, 1); /* seq_cst: publishes the loop, pairs with `sleeping` */
        if (atomic_load(&w->sleeping))
            futex_wake(&w->word, 1);
    }
    run_tasks(l, 0);
    uint32_t left = atomic_load_explicit(&l->pending, memory_order_acquire);
    for (int i = 0; i < SPINS && left; i++) {
        cpu_relax();
        left = atomic_load_explicit(&l->pending, memory_order_acquire);
    }
    while (left) {
        atomic_store(&l->caller_sleeping, 1);
        left = atomic_load(&l->pending);
        if (left)
            futex_wait(&l->pending, left);
        left = atomic_load(&l->pending);
    }
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
}

int ds_pool_workers(void) {
    return atomic_load(&pool.n_workers);
}
