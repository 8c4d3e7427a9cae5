/* dirs.h: directories of outputs. */
#ifndef DS_DIRS_H
#define DS_DIRS_H

#include "depthsolve.h" /* ds_status */

/* 1 if path is a directory (or a link to one). */
int ds_is_dir(const char *path);
/* mkdir -p: DS_ERR_IO naming the directory that could not be made. */
ds_status ds_mkdirs(const char *dir);

#endif
