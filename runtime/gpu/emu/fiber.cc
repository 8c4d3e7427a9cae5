/*
 * fiber.cc: fibers on mmap'ed stacks, switched with GCC's __builtin_setjmp /
 * __builtin_longjmp (five words: frame, resume address, stack pointer).
 * Not glibc's _longjmp: ASan intercepts it and unpoisons the whole stack on
 * every call (a sigaltstack system call and a shadow memset), which made each
 * switch 20 times slower under ASan; a fortified longjmp also refuses to
 * change stacks. The jump is in its own function because a builtin longjmp
 * may not sit in the function of its setjmp, and is kept out of ASan's
 * noreturn instrumentation for the same unpoisoning reason.
 */
#include "gpu/emu/fiber.h" /* the functions defined here */

#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define ASAN_ENTER(save, bottom, size) __sanitizer_start_switch_fiber((save), (bottom), (size))
#define ASAN_ARRIVED(save, bottom, size) __sanitizer_finish_switch_fiber((save), (bottom), (size))
#define ASAN_CLEAR(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ASAN_ENTER(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_ARRIVED(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_CLEAR(p, n) ((void)(p), (void)(n))
#endif

namespace ds_emu {

struct fiber {
    void *ctx[5];         /* where the task continues; valid while `live` */
    bool live;            /* the trampoline runs on this stack */
    char *map;            /* guard page + stack */
    size_t map_bytes;
    char *stack;
    size_t stack_bytes;
    void (*fn)(void *);
    void *arg;
    void *asan_fake;      /* ASan's fake stack of this fiber while it is switched out */
};

static fiber *g_current;          /* the fiber running now, else NULL */
static void *g_caller[5];         /* where fiber_yield goes back to */
static void *g_caller_fake;
static const void *g_caller_bottom;
static size_t g_caller_size;

fiber *fiber_new(size_t stack_bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    stack_bytes = (stack_bytes + page - 1) / page * page;
    fiber *f = (fiber *)calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->map_bytes = stack_bytes + page;
    void *m = mmap(NULL, f->map_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) {
        free(f);
        return NULL;
    }
    f->map = (char *)m;
    mprotect(f->map, page, PROT_NONE); /* stacks grow down: overflow faults */
    f->stack = f->map + page;
    f->stack_bytes = stack_bytes;
    return f;
}

void fiber_free(fiber *f) {
    if (!f)
        return;
    munmap(f->map, f->map_bytes);
    free(f);
}

/* noipa: GCC would find it noreturn and add ASan's unpoisoning before calls. */
__attribute__((noipa, no_sanitize_address)) static void jump(void **buf) {
    __builtin_longjmp(buf, 1);
}

/* First code on a new stack: runs tasks forever, idling in fiber_yield. */
static void trampoline(void) {
    ASAN_ARRIVED(NULL, &g_caller_bottom, &g_caller_size);
    fiber *f = g_current;
    f->live = true;
    for (;;) {
        f->fn(f->arg);
        f->fn = NULL;
        fiber_yield();
    }
}

__attribute__((noinline)) static void switch_in(fiber *f) {
    g_current = f;
    if (__builtin_setjmp(g_caller) == 0) {
        ASAN_ENTER(&g_caller_fake, f->stack, f->stack_bytes);
        if (f->live)
            jump(f->ctx);
        ucontext_t uc;
        getcontext(&uc);
        uc.uc_stack.ss_sp = f->stack;
        uc.uc_stack.ss_size = f->stack_bytes;
        uc.uc_link = NULL;
        makecontext(&uc, trampoline, 0);
        setcontext(&uc);
    }
    ASAN_ARRIVED(g_caller_fake, NULL, NULL);
    g_current = NULL;
}

void fiber_start(fiber *f, void (*fn)(void *), void *arg) {
    f->fn = fn;
    f->arg = arg;
    switch_in(f);
}

void fiber_resume(fiber *f) { switch_in(f); }

__attribute__((noinline)) void fiber_yield(void) {
    fiber *f = g_current;
    if (__builtin_setjmp(f->ctx) == 0) {
        ASAN_ENTER(&f->asan_fake, g_caller_bottom, g_caller_size);
        jump(g_caller);
    }
    ASAN_ARRIVED(f->asan_fake, &g_caller_bottom, &g_caller_size);
}

void fiber_abandon(fiber *f) {
    f->live = false;
    f->fn = NULL;
    f->asan_fake = NULL;
    ASAN_CLEAR(f->stack, f->stack_bytes);
}

} // namespace ds_emu
