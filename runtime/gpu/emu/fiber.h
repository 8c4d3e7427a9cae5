/*
 * fiber.h: the stackful coroutines that emulated CUDA threads run on.
 *
 * A fiber owns a small mmap'ed stack with a guard page and is reused for
 * many CUDA threads: fiber_start() hands it a task, and the task runs until it
 * finishes or calls fiber_yield() (a barrier, a warp operation). Switches
 * make no system call (see fiber.cc); ucontext is used once per fiber, to
 * start it on its own stack. Under ASan every switch is announced
 * with __sanitizer_{start,finish}_switch_fiber.
 *
 * Not thread-safe: the emulator runs one launch at a time (launch lock).
 */
#ifndef DS_EMU_FIBER_H
#define DS_EMU_FIBER_H

#include <stddef.h>

namespace ds_emu {

struct fiber;

/* NULL when the stack cannot be mapped. */
fiber *fiber_new(size_t stack_bytes);
void fiber_free(fiber *f); /* NULL-safe */

/* Runs fn(arg) on `f` from its start (f idle) or resumes it where it
 * yielded; returns when the task finishes or yields. */
void fiber_start(fiber *f, void (*fn)(void *), void *arg);
void fiber_resume(fiber *f);

/* Inside a task: back to the caller of fiber_start/fiber_resume. */
void fiber_yield(void);

/* Forgets a task that yielded and will never be resumed (a failed launch):
 * the fiber is idle again and its stack is reused from the top. */
void fiber_abandon(fiber *f);

} // namespace ds_emu

#endif
