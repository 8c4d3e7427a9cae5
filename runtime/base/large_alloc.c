/*
 * large_alloc.c: see large_alloc.h.
 *
 * Why: the activation arena, the scratch, packed weights and graph
 * constants are first touched by a model's first run, one 4 KiB page fault
 * at a time (45 k faults for Depth Anything 3 Small at 378x504, 13 k with
 * 2 MiB pages), and their large tensors are then read through far fewer
 * TLB entries (bench/RESULTS.md, "Huge pages").
 */
#include "base/large_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { HUGE_FROM = 4 << 20 };

void *ds_large_alloc(size_t bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (p && bytes >= HUGE_FROM && page_size > 0) {
        const uintptr_t page = (uintptr_t)page_size;
        const uintptr_t start = ((uintptr_t)p + page - 1) / page * page;
        const uintptr_t end = ((uintptr_t)p + bytes) / page * page;
        madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice: a refusal changes nothing */
    }
    return p;
}
