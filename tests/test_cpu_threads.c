/*
 * test_cpu_threads.c: the library's threads (base/pool.h), their default
 * count (base/cpus.h), and the CPU kernels' instruction set (cpu/isa.h).
 *
 * - the threads a run starts, counted in /proc/self/task: threads=N starts
 *   N - 1 workers and nothing else (no OpenMP or OpenBLAS team), on a
 *   convolutional network and a transformer (linear, attention, transposed
 *   convolutions through OpenBLAS);
 * - a run with threads=N keeps at most N threads busy (their CPU time in
 *   /proc/self/task/T/schedstat), and more than one;
 * - ds_parallel_for runs every index once, on threads below the count
 *   asked, and a nested loop on the calling thread;
 * - the cgroup quota parser fed cpu.max and v1 files; the default count
 *   follows the affinity mask;
 * - every ISA path this CPU has against the reference ops on a whole
 *   network (DS_CPU_ISA), unknown paths refused (precision bf16:
 *   test_sgemm_bf16.c);
 * - ds_large_alloc (base/large_alloc.h): 64-byte aligned, writable to the
 *   last byte, and from 4 MiB its pages advised huge (the "hg" flag of its
 *   mapping in /proc/self/smaps) where the kernel has transparent huge pages;
 *   ds_prefault maps a range's pages in (mincore), contents unchanged;
 * - ds_engine_prepare_size: the size it prepares is planned (its log line) and
 *   not planned again by the run, whose depth is bit for bit a fresh
 *   engine's; bad sizes and a NULL engine refused, the engine still usable.
 * The engine tests come first: they count the pool's workers from zero.
 */
#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/cpus.h" /* ds_default_threads, ds_cgroup_quota, ds_cpu_max_parse */
#include "base/large_alloc.h" /* ds_large_alloc, ds_prefault */
#include "base/pool.h" /* ds_parallel_for, ds_pool_workers */
#include "cpu/isa.h"   /* ds_cpu_isa_* */
#include "depthsolve.h"
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_input */

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static ds_status open_engine(const char *arch, int threads, int reference, ds_engine **e) {
    ds_engine_params p = ds_engine_default_params();
    p.device = DS_DEVICE_CPU;
    p.n_threads = threads;
    p.reference = reference;
    return test_create_engine(arch, &p, e);
}

enum { H = 64, W = 96 };

/* depth (H, W) of the network on the synthetic input */
static ds_status run_once(ds_engine *e, float *depth) {
    static float x[3 * H * W];
    ds_synth_input(H, W, x);
    return ds_engine_run(e, x, H, W, depth);
}

TEST(threads_started_are_the_count_asked) {
    CHECK_MSG(ds_pool_workers() == 0, "the pool started before any engine ran");
    const int before = count_tasks();
    static const char *const archs[] = {"midas_v21_small_256", "dpt_hybrid_384"};
    static float depth[H * W];
    for (int a = 0; a < 2; a++) {
        ds_engine *e;
        CHECK_OK(open_engine(archs[a], 3, 0, &e));
        ds_status s = run_once(e, depth);
        ds_engine_free(e);
        CHECK_OK(s);
        CHECK_MSG(count_tasks() == before + 2, "%s, threads=3: %d threads, %d before", archs[a],
                  count_tasks(), before);
        CHECK(ds_pool_workers() == 2);
    }
}

enum { MAX_TASKS = 256 };

/* CPU nanoseconds of each thread of this process, by task id. */
static int thread_times(int *tid, unsigned long long *ns) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAX_TASKS) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long t = 0;
        if (f && fscanf(f, "%llu", &t) == 1) {
            tid[n] = atoi(e->d_name);
            ns[n++] = t;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

TEST(threads_n_keeps_at_most_n_busy) {
    int tid0[MAX_TASKS], tid1[MAX_TASKS];
    unsigned long long ns0[MAX_TASKS], ns1[MAX_TASKS];
    static float depth[H * W];
    ds_engine *e;
    CHECK_OK(open_engine("dpt_hybrid_384", 2, 0, &e));
    ds_status s = run_once(e, depth);
    const int n0 = thread_times(tid0, ns0);
    const double t0 = test_seconds();
    while (s == DS_OK && test_seconds() - t0 < 0.5)
        s = run_once(e, depth);
    const double wall = test_seconds() - t0;
    const int n1 = thread_times(tid1, ns1);
    ds_engine_free(e);
    CHECK_OK(s);
    CHECK_MSG(n0 > 0 && n1 > 0, "no /proc/self/task/*/schedstat");
    int busy = 0;
    for (int i = 0; i < n1; i++) {
        unsigned long long before = 0;
        for (int j = 0; j < n0; j++)
            if (tid0[j] == tid1[i])
                before = ns0[j];
        /* busy: on a CPU for over 5% of the time (a worker that only woke
         * to find no task left stays far below) */
        busy += (double)(ns1[i] - before) * 1e-9 > 0.05 * wall;
    }
    CHECK_MSG(busy <= 2, "threads=2: %d busy threads", busy);
    CHECK_MSG(busy == 2, "threads=2: %d busy thread: the work did not spread", busy);
}

typedef struct hits {
    _Atomic int *count;
    _Atomic int bad_thread;
    int n_threads;
    _Atomic int nested_ok;
} hits;

static void count_hit(void *ctx, int64_t i, int thread) {
    hits *h = ctx;
    atomic_fetch_add(&h->count[i], 1);
    if (thread < 0 || thread >= h->n_threads)
        atomic_store(&h->bad_thread, 1);
}

static void inner(void *ctx, int64_t i, int thread) {
    (void)i;
    if (thread == 0)
        atomic_fetch_add((_Atomic int *)ctx, 1);
}

static void outer(void *ctx, int64_t i, int thread) {
    hits *h = ctx;
    count_hit(ctx, i, thread);
    _Atomic int on_caller = 0;
    ds_parallel_for(4, 8, inner, &on_caller); /* the pool is busy: runs here */
    if (atomic_load(&on_caller) == 8)
        atomic_fetch_add(&h->nested_ok, 1);
}

TEST(parallel_for_runs_each_index_once) {
    static const int64_t sizes[] = {0, 1, 2, 7, 1000, 4099};
    static const int threads[] = {1, 2, 3, 5};
    static _Atomic int count[4099];
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            for (int64_t i = 0; i < sizes[s]; i++)
                atomic_store(&count[i], 0);
            hits h = {count, 0, threads[t], 0};
            ds_parallel_for(threads[t], sizes[s], count_hit, &h);
            for (int64_t i = 0; i < sizes[s]; i++)
                CHECK_MSG(atomic_load(&count[i]) == 1, "n %lld, %d threads: index %lld ran %d times",
                          (long long)sizes[s], threads[t], (long long)i, atomic_load(&count[i]));
            CHECK(!atomic_load(&h.bad_thread));
        }
    for (int i = 0; i < 64; i++)
        atomic_store(&count[i], 0);
    hits h = {count, 0, 3, 0};
    ds_parallel_for(3, 64, outer, &h);
    CHECK(atomic_load(&h.nested_ok) == 64);
    for (int i = 0; i < 64; i++)
        CHECK(atomic_load(&count[i]) == 1);
}

TEST(cpu_max_parser) {
    CHECK(ds_cpu_max_parse("max 100000\n") == 0);
    CHECK(ds_cpu_max_parse("150000 100000\n") == 1.5);
    CHECK(ds_cpu_max_parse("50000 100000") == 0.5);
    CHECK(ds_cpu_max_parse("200000") == 2.0);
    CHECK(ds_cpu_max_parse("") == 0);
    CHECK(ds_cpu_max_parse("x 100000") == 0);
    CHECK(ds_cpu_max_parse("0 100000") == 0);
    CHECK(ds_cpu_max_parse(NULL) == 0);
}

TEST(cgroup_quota_files) {
    char dir[1024], path[1100];
    test_tmp_path(dir, sizeof dir, "cg2");
    CHECK(mkdir(dir, 0700) == 0 || access(dir, F_OK) == 0);
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    CHECK(test_write_file(path, "150000 100000\n", 14));
    CHECK_MSG(ds_cgroup_quota(dir) == 1.5, "cpu.max 1.5 CPUs: %g", ds_cgroup_quota(dir));
    CHECK(test_write_file(path, "max 100000\n", 11));
    CHECK(ds_cgroup_quota(dir) == 0);
    test_tmp_path(dir, sizeof dir, "cg1");
    CHECK(mkdir(dir, 0700) == 0 || access(dir, F_OK) == 0);
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    CHECK(test_write_file(path, "250000\n", 7));
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    CHECK(test_write_file(path, "100000\n", 7));
    CHECK(ds_cgroup_quota(dir) == 2.5);
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    CHECK(test_write_file(path, "-1\n", 3));
    CHECK(ds_cgroup_quota(dir) == 0);
    test_tmp_path(dir, sizeof dir, "none");
    CHECK(ds_cgroup_quota(dir) == 0);
}

TEST(default_threads_follow_affinity) {
    cpu_set_t all, one;
    CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
    char why[160];
    const int n = ds_default_threads(why, sizeof why);
    CHECK_MSG(n >= 1 && n <= CPU_COUNT(&all), "%d threads for %d CPUs (%s)", n, CPU_COUNT(&all), why);
    CHECK(strstr(why, "affinity"));
    int first = 0;
    while (!CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    const int pinned = ds_default_threads(why, sizeof why);
    sched_setaffinity(0, sizeof all, &all);
    CHECK_MSG(pinned == 1, "pinned to one CPU: %d threads (%s)", pinned, why);
    CHECK(strstr(why, "affinity 1 CPU"));
}

static double rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

TEST(every_isa_path_against_the_reference) {
    static float ref[H * W], got[H * W];
    ds_engine *e;
    CHECK_OK(open_engine("midas_v21_small_256", 2, 1, &e));
    ds_status s = run_once(e, ref);
    ds_engine_free(e);
    CHECK_OK(s);
    for (int isa = 0; isa < DS_ISA_COUNT; isa++) {
        if (!ds_cpu_isa_supported((ds_cpu_isa)isa)) {
            printf("SKIP every_isa_path_against_the_reference/%s: this CPU lacks it\n",
                   ds_cpu_isa_name((ds_cpu_isa)isa));
            continue;
        }
        setenv("DS_CPU_ISA", ds_cpu_isa_name((ds_cpu_isa)isa), 1);
        s = open_engine("midas_v21_small_256", 3, 0, &e);
        if (s == DS_OK) {
            s = run_once(e, got);
            ds_engine_free(e);
        }
        unsetenv("DS_CPU_ISA");
        CHECK_OK(s);
        CHECK(ds_cpu_isa_active() == (ds_cpu_isa)isa);
        const double err = rel_l2(got, ref, H * W);
        CHECK_MSG(err <= 1e-4, "%s: rel L2 %.3g against the reference ops",
                  ds_cpu_isa_name((ds_cpu_isa)isa), err);
        printf("  %s: rel L2 %.3g against the reference ops\n", ds_cpu_isa_name((ds_cpu_isa)isa), err);
    }
    setenv("DS_CPU_ISA", "amx", 1);
    s = open_engine("midas_v21_small_256", 2, 0, &e);
    unsetenv("DS_CPU_ISA");
    if (s == DS_OK)
        ds_engine_free(e);
    CHECK_MSG(s == DS_ERR_INVALID_ARGUMENT && strstr(ds_last_error(), "DS_CPU_ISA=amx: unknown"),
              "DS_CPU_ISA=amx: %s", ds_last_error());
    char why[64];
    CHECK_OK(ds_cpu_isa_select(why, sizeof why)); /* back to the default */
}

TEST(cpu_info_says_threads_and_kernels) {
    ds_cpu_info c;
    CHECK(ds_cpu_get_info(NULL) == DS_ERR_INVALID_ARGUMENT);
    CHECK_OK(ds_cpu_get_info(&c));
    char why[160];
    CHECK(c.default_threads == ds_default_threads(why, sizeof why));
    CHECK_MSG(!strcmp(c.threads_why, why), "%s / %s", c.threads_why, why);
    CHECK_MSG(strstr(c.features, "avx2") && strstr(c.features, "avx512f"), "%s", c.features);
    ds_cpu_isa best = DS_ISA_PORTABLE;
    for (int i = 0; i < DS_ISA_COUNT; i++)
        if (ds_cpu_isa_supported((ds_cpu_isa)i))
            best = (ds_cpu_isa)i;
    CHECK_MSG(!strcmp(c.isa, ds_cpu_isa_name(best)), "%s, best %s", c.isa, ds_cpu_isa_name(best));
    CHECK(strstr(c.isa_why, "the best this CPU runs"));
    ds_cpu_info forced;
    setenv("DS_CPU_ISA", "portable", 1);
    ds_status s = ds_cpu_get_info(&forced);
    setenv("DS_CPU_ISA", "sse9", 1);
    ds_status bad = ds_cpu_get_info(&c);
    unsetenv("DS_CPU_ISA");
    CHECK_OK(s);
    CHECK_MSG(!strcmp(forced.isa, "portable") && strstr(forced.isa_why, "DS_CPU_ISA=portable"),
              "%s (%s)", forced.isa, forced.isa_why);
    CHECK_MSG(bad == DS_ERR_INVALID_ARGUMENT && strstr(ds_last_error(), "DS_CPU_ISA=sse9: unknown"),
              "%s", ds_last_error());
    CHECK_OK(ds_cpu_get_info(&c)); /* back to the default */
    CHECK(!strcmp(c.isa, ds_cpu_isa_name(best)));
}

/* Whether the mapping holding p carries VmFlags "hg" (MADV_HUGEPAGE), in /proc/self/smaps. */
static int advised_huge(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int inside = 0, huge = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's header line */
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (inside && !strncmp(line, "VmFlags:", 8))
            huge = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return huge;
}

/* transparent huge pages offered at all: /sys/.../enabled is not "[never]" */
static int thp_offered(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char text[128] = "";
    if (!f)
        return 0;
    int ok = fgets(text, sizeof text, f) != NULL && !strstr(text, "[never]");
    fclose(f);
    return ok;
}

TEST(large_alloc_aligned_and_advised_huge) {
    static const size_t sizes[] = {1, 63, 4096, (4u << 20) - 1, (4u << 20) + 3, 9u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = ds_large_alloc(sizes[i]);
        CHECK_MSG(p && (uintptr_t)p % 64 == 0, "%zu bytes at %p", sizes[i], (void *)p);
        if (!p)
            continue;
        memset(p, 0xa5, sizes[i]); /* ASan: every byte is ours */
        if (sizes[i] >= 4u << 20 && thp_offered()) {
            /* the page past the first 2 MiB boundary lies in the advised range */
            const unsigned char *inner = p + (2u << 20);
            CHECK_MSG(advised_huge(inner) == 1, "%zu bytes: not advised huge", sizes[i]);
        }
        free(p);
    }
}

/* Pages of [p, p + bytes) in memory now (p page-aligned), by mincore. */
static size_t resident_pages(void *p, size_t bytes, size_t page) {
    unsigned char vec[64];
    const size_t n = bytes / page;
    if (n > sizeof vec || mincore(p, bytes, vec))
        return (size_t)-1;
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    return in;
}

/* Whether this kernel populates pages on request (MADV_POPULATE_WRITE, 23: Linux 5.14). */
static int kernel_populates(size_t page) {
    void *m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const int ok = m != MAP_FAILED && madvise(m, page, 23) == 0;
    if (m != MAP_FAILED)
        munmap(m, page);
    return ok;
}

TEST(prefault_maps_pages_in) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = 48 * page;
    if (!kernel_populates(page)) {
        printf("  skipped: this kernel has no MADV_POPULATE_WRITE (Linux 5.14)\n");
        return;
    }
    unsigned char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED)
        return;
    madvise(m, bytes, MADV_NOHUGEPAGE); /* one page a fault, so that the count below means what it says */
    m[5 * page + 7] = 42;               /* one page written before */
    CHECK(resident_pages(m, bytes, page) == 1);
    ds_prefault(m + page + 100, 40 * page - 200); /* unaligned ends: the pages they touch, 1 to 40 */
    const size_t in = resident_pages(m, bytes, page);
    CHECK_MSG(in == 40, "%zu pages resident, expected 40", in);
    CHECK(m[5 * page + 7] == 42 && m[page + 100] == 0 && m[41 * page - 101] == 0);
    ds_prefault(NULL, 100); /* nothing, no crash */
    ds_prefault(m, 0);
    munmap(m, bytes);
}

/* Counts the engine's "HxW: N nodes, arena ..." lines: one per size planned. */
static void count_plans(ds_log_level level, const char *message, void *user) {
    (void)level;
    if (strstr(message, " nodes, arena "))
        ++*(int *)user;
}

TEST(prepare_readies_the_size) {
    static float fresh[H * W], prepared[H * W];
    ds_engine *e;
    CHECK_OK(open_engine("midas_v21_small_256", 2, 0, &e));
    if (!e)
        return;
    CHECK_OK(run_once(e, fresh));
    ds_engine_free(e);
    int plans = 0;
    ds_engine_params p = ds_engine_default_params();
    p.device = DS_DEVICE_CPU;
    p.n_threads = 2;
    p.log = count_plans;
    p.log_user = &plans;
    CHECK_OK(test_create_engine("midas_v21_small_256", &p, &e));
    if (!e)
        return;
    CHECK(ds_engine_prepare_size(NULL, H, W) == DS_ERR_INVALID_ARGUMENT);
    CHECK(ds_engine_prepare_size(e, 0, W) != DS_OK);
    CHECK(ds_engine_prepare_size(e, H + 1, W) != DS_OK); /* not a multiple of 32 */
    CHECK(plans == 0);
    CHECK_OK(ds_engine_prepare_size(e, H, W));
    CHECK_MSG(plans == 1, "%d sizes planned by ds_engine_prepare_size", plans);
    CHECK_OK(run_once(e, prepared));
    CHECK_MSG(plans == 1, "the run planned its size again (%d plans)", plans);
    CHECK(memcmp(fresh, prepared, sizeof fresh) == 0);
    CHECK_OK(ds_engine_prepare_size(e, H, W)); /* again: nothing to do */
    CHECK(plans == 1);
    ds_engine_free(e);
}

int main(void) {
    RUN(threads_started_are_the_count_asked);
    RUN(threads_n_keeps_at_most_n_busy);
    RUN(parallel_for_runs_each_index_once);
    RUN(cpu_max_parser);
    RUN(cgroup_quota_files);
    RUN(default_threads_follow_affinity);
    RUN(every_isa_path_against_the_reference);
    RUN(cpu_info_says_threads_and_kernels);
    RUN(large_alloc_aligned_and_advised_huge);
    RUN(prefault_maps_pages_in);
    RUN(prepare_readies_the_size);
    test_remove_tmp_dir();
    return test_summary();
}
