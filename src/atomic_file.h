/* atomic_file.h: files written under a temporary name and renamed when complete. */
#ifndef DS_ATOMIC_FILE_H
#define DS_ATOMIC_FILE_H

#include <stdio.h>

#include "depthsolve.h" /* ds_status */

typedef struct ds_atomic_file {
    FILE *f;
    char path[4096];
    char tmp[4096];
} ds_atomic_file;

/* Opens "<dir>/.<name>.<random>" beside `path` for writing (mode 0666 & ~umask). */
ds_status ds_atomic_open(ds_atomic_file *af, const char *path);
/* ok: flush and rename over `path`; !ok or any failure: remove the temporary. */
ds_status ds_atomic_commit(ds_atomic_file *af, int ok);

#endif
