/*
 * large_alloc.c: see large_alloc.h.
 *
 * Why: the activation arena, the scratch and the packed weights are touched
 * first by a model's first run, one 4 KiB page fault each (44 k faults,
 * ~175 MB, for Depth Anything 3 Small at 378x504), most of what makes a
 * first run slower than a warm one; 2 MiB pages take 512x fewer faults and
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
    if (p && bytes >= HUGE_FROM && sysconf(_SC_PAGESIZE) > 0) {
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        const uintptr_t start = ((uintptr_t)p + page - 1) / page * page;
        const uintptr_t end = ((uintptr_t)p + bytes) / page * page;
        madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice: a refusal changes nothing */
    }
    return p;
}
