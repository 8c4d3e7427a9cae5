/* file_map.h: a whole regular file mapped read-only (models and checkpoints). */
#ifndef DS_FILE_MAP_H
#define DS_FILE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "depthsolve.h" /* ds_status */

/* Opens `path` for reading if it is a regular file: *fd, and its *st
 * (size, ...). A directory, a FIFO or a device is an error naming it, found
 * before any read could block (the open does not wait for a FIFO's writer). */
ds_status ds_open_regular(const char *path, int *fd, struct stat *st);

/* Maps `path` (PROT_READ, MAP_PRIVATE); an empty file, a directory or any
 * other non-regular file is an error naming it (`what`: "not GGUF", ...).
 * `whole`: the caller reads every byte, so the pages are mapped in one go
 * rather than one fault at a time. Release with munmap(*map, *size). */
ds_status ds_map_file(const char *path, const char *what, bool whole, void **map, size_t *size);

#endif
