/*
 * emu_state.h: what the emulated device code reads while it runs: the CUDA
 * thread being executed, its block, and the scheduling points (barriers,
 * warp operations, atomics) that hand control back to the scheduler.
 *
 * One OS thread runs a whole launch (the launch lock, see emu.h), one fiber
 * per CUDA thread of the current block, so these are plain globals.
 */
#ifndef DS_EMU_STATE_H
#define DS_EMU_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <vector_types.h> /* uint3, dim3 */

namespace ds_emu {

enum thread_run { T_RUNNABLE, T_BARRIER, T_WARP, T_DONE };

enum warp_kind { W_SHFL_IDX, W_SHFL_UP, W_SHFL_DOWN, W_SHFL_XOR, W_BALLOT, W_ANY, W_ALL, W_SYNCWARP };

/* One lane's part of a warp operation. */
struct warp_req {
    warp_kind kind;
    unsigned mask;  /* the lanes that take part (the _sync mask) */
    int b;          /* source lane, delta or lane mask (shuffles) */
    int width;      /* shuffles: segment width */
    uint64_t value; /* the value offered (bits), or the predicate */
    uint64_t result;
    const char *file;
    int line;
};

struct thread_state {
    uint3 tid;          /* threadIdx */
    unsigned linear;    /* x + y * bx + z * bx * by */
    unsigned lane, warp;
    thread_run run;
    bool started;       /* has a fiber frame */
    const char *bar_file; /* the __syncthreads() waited at */
    int bar_line;
    warp_req req;
};

struct block_state {
    uint3 idx;          /* blockIdx */
    dim3 dim;           /* blockDim */
    dim3 grid;          /* gridDim */
    void *dyn_smem;     /* extern __shared__ memory, smem_bytes long */
    size_t dyn_smem_bytes;
};

extern thread_state *g_thread; /* the CUDA thread running now; NULL on the host */
extern block_state g_block;

/* Scheduling points, called from device code. */
void syncthreads(const char *file, int line);
uint64_t warp_op(const warp_req &req);
void atomic_point(void); /* may switch to another thread (seeded) */

/* Stops the launch with a message (device-side misuse: a bad mask or width). */
[[noreturn]] void device_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace ds_emu

#endif
