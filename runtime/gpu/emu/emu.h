/*
 * emu.h: controls and counters of the CUDA emulator, for tests and for
 * reproducing a failure.
 *
 * Scheduling is random but seeded: the order of blocks, the order in which
 * a block's threads run between barriers and warp operations, and where an
 * atomic lets another thread in all come from the seed (DS_CUDA_EMU_SEED,
 * default 1, or emu_set_seed()) and the launch's number since the seed was
 * set. A failed launch names both in its message; the same seed and the same
 * sequence of launches replay the same schedules.
 *
 * Launches run one at a time in the whole process (a lock), on the calling
 * thread.
 */
#ifndef DS_EMU_H
#define DS_EMU_H

#include <stdint.h>

namespace ds_emu {

void emu_set_seed(uint64_t seed);
uint64_t emu_seed(void);
/* How many launches of the kernel `name` ran (template arguments ignored:
 * "k" counts "k<float>"), and how many of every kernel. */
unsigned long long emu_launch_count(const char *name);
unsigned long long emu_launches(void);
/* CUDA threads run so far (all launches). */
unsigned long long emu_threads_run(void);

} // namespace ds_emu

#endif
