/* emu_internal.h: what the emulator's own files share (not for kernels). */
#ifndef DS_EMU_INTERNAL_H
#define DS_EMU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <mutex>
#include <vector>

#include "depthsolve.h" /* ds_status */
#include "gpu/emu/emu_launch.h" /* launch_cfg, kernel_body */
#include "gpu/emu/emu_state.h"  /* thread_state */

namespace ds_emu {

/* Held by every entry point of the emulated runtime and for whole launches. */
std::mutex &emu_lock(void);

/* ---- sched.cc ---- */
/* DS_ERR_DEVICE for a configuration CUDA refuses (block size, grid size, smem). */
ds_status check_launch_cfg(const launch_cfg &cfg);
/* Runs every block of a launch (lock held); fails naming the kernel, the
 * block, the seed and the launch number. */
ds_status run_launch(const launch_cfg &cfg, kernel_body *body);
/* Stops the running launch with a message, from the scheduler's side. */
void launch_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- warp.cc ---- */
/* Completes the warp operations whose lanes have all arrived (the others of
 * their mask have exited) and queues those lanes in `ready`; fails the launch
 * on lanes that disagree on the operation or the mask. */
void resolve_warps(thread_state *threads, unsigned n, std::vector<unsigned> &ready);
const char *warp_kind_name(warp_kind k);

/* ---- stream.cc ---- */
/* Runs fn in stream order (or records it into the stream's capture), as the
 * emulated cuDNN/cuBLAS calls do. fn runs with the lock held: it must not
 * call the emulated runtime. */
ds_status enqueue_host(cudaStream_t s, const char *what, std::function<ds_status()> fn);
/* Whether some stream is being captured (lock held). */
bool capture_active(void);

/* ---- memory.cc ---- */
enum mem_kind { MEM_DEVICE, MEM_PINNED };
ds_status mem_alloc(void **p, size_t bytes, mem_kind kind);
/* Bytes of the live blocks of a kind. */
size_t mem_live_bytes(mem_kind kind);
ds_status mem_free(void *p, mem_kind kind);
/* Whether [p, p + bytes) lies inside one allocation of that kind. */
bool mem_inside(const void *p, size_t bytes, mem_kind kind);
/* Whether p points into or one past the end of an allocation of either kind. */
bool mem_known(const void *p);
/* "device", "page-locked host", "host", or "partly outside a device allocation"
 * for the bytes at p. */
const char *mem_describe(const void *p, size_t bytes);

} // namespace ds_emu

#endif
