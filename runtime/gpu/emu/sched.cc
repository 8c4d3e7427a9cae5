/*
 * sched.cc: runs a launch. Blocks run one after another in a random order;
 * inside a block every CUDA thread runs on its own fiber, in a random order
 * that is drawn again after each scheduling point. A thread runs until it
 * finishes, waits at __syncthreads(), joins a warp operation or yields at an
 * atomic. When no thread can run, the warp operations whose lanes have all
 * arrived complete; when none can, the barrier is released if every thread
 * waits at the same __syncthreads(), and otherwise the launch fails: a thread
 * exited, or waits at another barrier, or a warp waits on a barrier.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <string>

#include <vector_functions.h> /* make_uint3 */

#include "gpu/emu/emu.h"          /* emu_set_seed, ... defined here */
#include "gpu/emu/emu_internal.h" /* run_launch, resolve_warps */
#include "base/error.h"        /* ds_fail */
#include "gpu/emu/fiber.h"        /* fiber_start, fiber_resume, fiber_yield */

namespace ds_emu {

thread_state *g_thread;
block_state g_block;

enum { FIBER_STACK_BYTES = 256 * 1024, MAX_BLOCK_THREADS = 1024, MAX_DYNAMIC_SMEM = 48 * 1024 };

struct launch_run {
    const launch_cfg *cfg;
    kernel_body *body;
    uint64_t rng;
    unsigned long long number;
    bool failed;
    char msg[768];
};

static launch_run *g_run;
static std::vector<thread_state> g_threads;
/* Reused by every launch and kept to the end: the pool outlives static
 * destructors, so LeakSanitizer (which runs after them) still sees it. */
static std::vector<fiber *> &g_fibers = *new std::vector<fiber *>();
static std::vector<unsigned> g_ready;
static uint64_t g_seed;
static bool g_seed_known;
static unsigned long long g_launches, g_threads_run;
static unsigned long long g_since_seed; /* launches since the seed was set: the schedule's index */
static std::map<std::string, unsigned long long> g_counts;

std::mutex &emu_lock(void) {
    static std::mutex m;
    return m;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n) { return (unsigned)(((splitmix64(&g_run->rng) >> 32) * n) >> 32); }

static uint64_t seed_now(void) {
    if (!g_seed_known) {
        const char *env = getenv("DS_CUDA_EMU_SEED");
        g_seed = env && *env ? strtoull(env, NULL, 0) : 1;
        g_seed_known = true;
    }
    return g_seed;
}

void emu_set_seed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(emu_lock());
    g_seed = seed;
    g_seed_known = true;
    g_since_seed = 0;
}

uint64_t emu_seed(void) {
    std::lock_guard<std::mutex> lock(emu_lock());
    return seed_now();
}

unsigned long long emu_launch_count(const char *name) {
    std::lock_guard<std::mutex> lock(emu_lock());
    auto it = g_counts.find(name);
    return it == g_counts.end() ? 0 : it->second;
}

unsigned long long emu_launches(void) {
    std::lock_guard<std::mutex> lock(emu_lock());
    return g_launches;
}

unsigned long long emu_threads_run(void) {
    std::lock_guard<std::mutex> lock(emu_lock());
    return g_threads_run;
}

static void vrecord(const char *fmt, va_list ap) {
    if (g_run->failed)
        return;
    g_run->failed = true;
    vsnprintf(g_run->msg, sizeof g_run->msg, fmt, ap);
}

void launch_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(fmt, ap);
    va_end(ap);
}

void device_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(fmt, ap);
    va_end(ap);
    if (!g_thread)
        __builtin_trap(); /* device code called on the host */
    fiber_yield();        /* the scheduler abandons this fiber */
    __builtin_unreachable();
}

void syncthreads(const char *file, int line) {
    thread_state *t = g_thread;
    t->run = T_BARRIER;
    t->bar_file = file;
    t->bar_line = line;
    fiber_yield();
}

void atomic_point(void) {
    if (g_thread && (splitmix64(&g_run->rng) & 3) == 0)
        fiber_yield(); /* still runnable: another thread may go first */
}

void *dynamic_shared(void) { return g_block.dyn_smem; }

ds_status check_launch_cfg(const launch_cfg &c) {
    const dim3 &b = c.block, &g = c.grid;
    unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
    if (threads < 1 || threads > MAX_BLOCK_THREADS || b.z > 64)
        return ds_fail(DS_ERR_DEVICE, "%s: invalid launch: block (%u,%u,%u) (1 to 1024 threads, z <= 64)",
                       c.name, b.x, b.y, b.z);
    if (g.x < 1 || g.x > 0x7fffffffu || g.y < 1 || g.y > 65535 || g.z < 1 || g.z > 65535)
        return ds_fail(DS_ERR_DEVICE, "%s: invalid launch: grid (%u,%u,%u)", c.name, g.x, g.y, g.z);
    if (c.smem_bytes > MAX_DYNAMIC_SMEM)
        return ds_fail(DS_ERR_DEVICE, "%s: invalid launch: %zu bytes of dynamic shared memory (at most %d)",
                       c.name, c.smem_bytes, (int)MAX_DYNAMIC_SMEM);
    return DS_OK;
}

static ds_status ensure_fibers(unsigned n) {
    while (g_fibers.size() < n) {
        fiber *f = fiber_new(FIBER_STACK_BYTES);
        if (!f)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "CUDA emulator: cannot map a %d KiB fiber stack",
                           FIBER_STACK_BYTES / 1024);
        g_fibers.push_back(f);
    }
    if (g_threads.size() < n)
        g_threads.resize(n);
    return DS_OK;
}

static void thread_main(void *arg) {
    thread_state *t = (thread_state *)arg;
    g_run->body->run();
    t->run = T_DONE;
}

static void shuffle(std::vector<unsigned> &v) {
    for (size_t i = v.size(); i > 1; i--) {
        unsigned j = below((unsigned)i);
        unsigned tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

static void abandon_block(unsigned n) {
    for (unsigned i = 0; i < n; i++)
        if (g_threads[i].started && g_threads[i].run != T_DONE)
            fiber_abandon(g_fibers[i]);
}

static const char *site(const thread_state &t, char *buf, size_t len) {
    snprintf(buf, len, "%s:%d", t.bar_file, t.bar_line);
    return buf;
}

/* Nothing can run and no warp operation can complete. Returns whether the
 * block goes on (a barrier released); fails the launch when it is stuck. */
static bool barrier_step(unsigned n) {
    int wait = -1, other = -1, exited = -1, warp = -1;
    unsigned waiting = 0;
    for (unsigned i = 0; i < n; i++) {
        const thread_state &t = g_threads[i];
        if (t.run == T_DONE && exited < 0)
            exited = (int)i;
        if (t.run == T_WARP && warp < 0)
            warp = (int)i;
        if (t.run != T_BARRIER)
            continue;
        waiting++;
        if (wait < 0)
            wait = (int)i;
        else if (other < 0 && (t.bar_line != g_threads[wait].bar_line ||
                               strcmp(t.bar_file, g_threads[wait].bar_file) != 0))
            other = (int)i;
    }
    if (wait < 0 && warp < 0)
        return false; /* every thread finished */
    char a[512], b[512];
    if (warp >= 0) {
        const thread_state &w = g_threads[warp];
        const thread_state *blocker = NULL;
        for (unsigned j = w.warp * 32; j < n && j < w.warp * 32 + 32; j++)
            if ((w.req.mask >> (j % 32) & 1) && g_threads[j].run == T_BARRIER)
                blocker = &g_threads[j];
        if (blocker)
            launch_fail("deadlock: lane %u of warp %u waits in %s at %s:%d for lane %u, which waits at "
                        "__syncthreads() at %s", w.lane, w.warp, warp_kind_name(w.req.kind), w.req.file,
                        w.req.line, blocker->lane, site(*blocker, a, sizeof a));
        else
            launch_fail("lane %u of warp %u waits in %s at %s:%d for lanes that never arrive", w.lane,
                        w.warp, warp_kind_name(w.req.kind), w.req.file, w.req.line);
        return false;
    }
    const thread_state &t = g_threads[wait];
    if (exited >= 0) {
        const thread_state &e = g_threads[exited];
        launch_fail("__syncthreads() at %s reached by %u of %u threads: thread (%u,%u,%u) exited "
                    "without reaching it (a barrier in divergent code)", site(t, a, sizeof a), waiting, n,
                    e.tid.x, e.tid.y, e.tid.z);
        return false;
    }
    if (other >= 0) {
        const thread_state &o = g_threads[other];
        launch_fail("__syncthreads() in divergent code: thread (%u,%u,%u) waits at %s, thread (%u,%u,%u) "
                    "at %s", t.tid.x, t.tid.y, t.tid.z, site(t, a, sizeof a), o.tid.x, o.tid.y, o.tid.z,
                    site(o, b, sizeof b));
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        g_threads[i].run = T_RUNNABLE;
        g_ready.push_back(i);
    }
    return true;
}

static void run_block(uint3 idx) {
    const dim3 bd = g_run->cfg->block;
    const unsigned n = bd.x * bd.y * bd.z;
    g_block.idx = idx;
    if (g_block.dyn_smem_bytes) /* uninitialized shared memory reads NaN */
        memset(g_block.dyn_smem, 0xff, g_block.dyn_smem_bytes);
    g_ready.clear();
    for (unsigned i = 0; i < n; i++) {
        thread_state &t = g_threads[i];
        t.tid = make_uint3(i % bd.x, i / bd.x % bd.y, i / (bd.x * bd.y));
        t.linear = i;
        t.lane = i % 32;
        t.warp = i / 32;
        t.run = T_RUNNABLE;
        t.started = false;
        g_ready.push_back(i);
    }
    g_threads_run += n;
    for (;;) {
        shuffle(g_ready);
        for (unsigned i : g_ready) {
            thread_state &t = g_threads[i];
            g_thread = &t;
            if (t.started) {
                fiber_resume(g_fibers[i]);
            } else {
                t.started = true;
                fiber_start(g_fibers[i], thread_main, &t);
            }
            g_thread = NULL;
            if (g_run->failed) {
                abandon_block(n);
                return;
            }
        }
        g_ready.clear();
        for (unsigned i = 0; i < n; i++)
            if (g_threads[i].run == T_RUNNABLE) /* yielded at an atomic */
                g_ready.push_back(i);
        if (g_ready.empty())
            resolve_warps(g_threads.data(), n, g_ready);
        bool goes_on = !g_ready.empty() || (!g_run->failed && barrier_step(n));
        if (g_run->failed) {
            abandon_block(n);
            return;
        }
        if (!goes_on)
            return; /* every thread finished */
    }
}

static uint64_t gcd(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static std::string base_name(const char *name) {
    const char *lt = strchr(name, '<');
    return lt ? std::string(name, (size_t)(lt - name)) : std::string(name);
}

ds_status run_launch(const launch_cfg &cfg, kernel_body *body) {
    launch_run run = {};
    run.cfg = &cfg;
    run.body = body;
    ++g_launches;
    run.number = ++g_since_seed;
    uint64_t s = seed_now() ^ (run.number * 0xD1B54A32D192ED03ull);
    run.rng = splitmix64(&s);
    g_counts[base_name(cfg.name)]++;
    const unsigned n = cfg.block.x * cfg.block.y * cfg.block.z;
    DS_TRY(ensure_fibers(n));
    void *smem = malloc(cfg.smem_bytes);
    if (!smem && cfg.smem_bytes)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: no memory for %zu bytes of shared memory", cfg.name,
                       cfg.smem_bytes);
    g_block.dim = cfg.block;
    g_block.grid = cfg.grid;
    g_block.dyn_smem = smem;
    g_block.dyn_smem_bytes = cfg.smem_bytes;
    g_run = &run;
    /* blocks in the order a*k + c (mod count): a random permutation in O(1) memory */
    const uint64_t gx = cfg.grid.x, gy = cfg.grid.y, count = gx * gy * cfg.grid.z;
    uint64_t a = 1, c = splitmix64(&run.rng) % count;
    if (count > 2)
        do
            a = 1 + splitmix64(&run.rng) % (count - 1);
        while (gcd(a, count) != 1);
    for (uint64_t k = 0; k < count && !run.failed; k++) {
        uint64_t b = (uint64_t)(((unsigned __int128)a * k + c) % count);
        run_block(make_uint3((unsigned)(b % gx), (unsigned)(b / gx % gy), (unsigned)(b / (gx * gy))));
    }
    g_run = NULL;
    g_block.dyn_smem = NULL;
    free(smem);
    if (!run.failed)
        return DS_OK;
    return ds_fail(DS_ERR_DEVICE, "%s: block (%u,%u,%u): %s (emulator seed %llu, launch %llu)", cfg.name,
                   g_block.idx.x, g_block.idx.y, g_block.idx.z, run.msg,
                   (unsigned long long)seed_now(), run.number);
}

} // namespace ds_emu
