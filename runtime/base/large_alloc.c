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

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux's, for C libraries older than 5.14's headers */
#endif

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

void ds_prefault(void *p, size_t bytes) {
    const long page_size = sysconf(_SC_PAGESIZE);
    if (!p || !bytes || page_size <= 0)
        return;
    /* the pages that hold a byte of the range: mapped, since those bytes are */
    const uintptr_t page = (uintptr_t)page_size;
    const uintptr_t start = (uintptr_t)p / page * page;
    const uintptr_t end = ((uintptr_t)p + bytes + page - 1) / page * page;
    madvise((void *)start, end - start, MADV_POPULATE_WRITE); /* an old kernel's EINVAL: the faults come later */
}
