/* atomic_file.c: temporary file beside the target, fsync, rename. */
#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h" /* ds_fail */

ds_status ds_atomic_open(ds_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (strlen(path) + 16 >= sizeof af->tmp)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: path too long", path);
    strcpy(af->path, path);
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    snprintf(af->tmp, sizeof af->tmp, "%.*s.%s.XXXXXX", dir_len, path, path + dir_len);
    int fd = mkstemp(af->tmp);
    if (fd < 0)
        return ds_fail(DS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        unlink(af->tmp);
        return ds_fail(DS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return DS_OK;
}

ds_status ds_atomic_commit(ds_atomic_file *af, int ok) {
    int err = 0;
    if (ok && (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0))
        err = errno ? errno : EIO;
    if (fclose(af->f) != 0 && ok && !err)
        err = errno ? errno : EIO;
    af->f = NULL;
    if (ok && !err && rename(af->tmp, af->path) == 0)
        return DS_OK;
    if (ok && !err)
        err = errno;
    unlink(af->tmp);
    return ds_fail(DS_ERR_IO, "%s: write failed: %s", af->path, strerror(err ? err : EIO));
}
