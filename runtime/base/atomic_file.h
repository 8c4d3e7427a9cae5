/*
 * atomic_file.h: files that appear only complete. Written under a temporary
 * name beside the target (".<name>.tmp-<random>", so rename() stays on one
 * file system) and renamed over it when complete; on any failure the
 * temporary is removed and the target is left as it was. The one
 * implementation behind every file the library and the CLI write (models,
 * depth maps, meshes, videos).
 *
 * Permissions: an existing target keeps its mode; a new file gets
 * 0666 & ~umask, as any other output. No fsync (like torch.save): the rename
 * alone keeps readers from ever seeing a partial file.
 */
#ifndef DS_ATOMIC_FILE_H
#define DS_ATOMIC_FILE_H

#include <stdio.h>

#include "depthsolve.h" /* ds_status */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_atomic_file {
    int fd;  /* the temporary file, open for writing */
    FILE *f; /* ds_atomic_open's stream on fd; NULL after ds_atomic_open_fd */
    char path[4096];
    char tmp[4096];
} ds_atomic_file;

/* Creates the temporary file beside `path`: af->fd. */
ds_status ds_atomic_open_fd(ds_atomic_file *af, const char *path);
/* The same with a stream: af->f (af->fd is its descriptor). */
ds_status ds_atomic_open(ds_atomic_file *af, const char *path);
/* ok (every write succeeded): flush, close and rename over the target.
 * !ok (a write failed; errno says why) or a failure here: the temporary is
 * removed and DS_ERR_IO names the target. */
ds_status ds_atomic_commit(ds_atomic_file *af, int ok);
/* Gives up: the temporary is removed, the target left as it was (the
 * caller reports why). */
void ds_atomic_abort(ds_atomic_file *af);

#ifdef __cplusplus
}
#endif

#endif
