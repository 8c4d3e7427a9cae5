/* large_alloc.h: large buffers in 2 MiB pages where the kernel offers them,
 * and their pages mapped in ahead of use. */
#ifndef DS_LARGE_ALLOC_H
#define DS_LARGE_ALLOC_H

#include <stddef.h>

/* `bytes` 64-byte aligned, like aligned_alloc(64, ...); from 4 MiB up the
 * kernel is asked for transparent huge pages (Linux's default "madvise"
 * mode gives them only on request). A refusal changes nothing. Release with
 * free(). NULL when out of memory. */
void *ds_large_alloc(size_t bytes);

/* Maps in the pages of [p, p + bytes) now, writable, contents unchanged
 * (MADV_POPULATE_WRITE, Linux 5.14; elsewhere nothing happens), so that
 * the first writes to them take no page faults. */
void ds_prefault(void *p, size_t bytes);

#endif
