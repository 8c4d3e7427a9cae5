/* atomic_file.c: a temporary file beside the target, then rename. */
#include "base/atomic_file.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h" /* ds_fail */

ds_status ds_atomic_open_fd(ds_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    af->fd = -1;
    if (!path || !path[0])
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "an empty output path");
    if (path[strlen(path) - 1] == '/')
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: a directory, not a file name", path);
    if (strlen(path) + 32 >= sizeof af->tmp)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: path too long", path);
    strcpy(af->path, path);
    const char *slash = strrchr(path, '/');
    const int dir_len = slash ? (int)(slash - path) + 1 : 0;
    /* open(O_EXCL, 0666) rather than mkstemp: a new file gets the umask's
     * permissions like any other output, not mkstemp's 0600 */
    static atomic_uint serial;
    for (int attempt = 0; attempt < 100 && af->fd < 0; attempt++) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint32_t)getpid() * 2654435761u;
        r ^= atomic_fetch_add(&serial, 1) * 0x9E3779B9u;
        /* ".<name>.tmp-xxxxxxxx", the name cut so that this stays within
         * NAME_MAX when the target's own name is near it */
        const int keep = (int)strlen(path + dir_len) < NAME_MAX - 14 ? (int)strlen(path + dir_len) : NAME_MAX - 14;
        snprintf(af->tmp, sizeof af->tmp, "%.*s.%.*s.tmp-%08x", dir_len, path, keep, path + dir_len, (unsigned)r);
        af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (af->fd < 0 && errno != EEXIST)
            break;
    }
    if (af->fd < 0)
        return ds_fail(DS_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && fchmod(af->fd, st.st_mode & 07777) != 0) {
        const int err = errno;
        close(af->fd);
        unlink(af->tmp);
        af->fd = -1;
        return ds_fail(DS_ERR_IO, "%s: cannot give the new file its mode: %s", path, strerror(err));
    }
    return DS_OK;
}

ds_status ds_atomic_open(ds_atomic_file *af, const char *path) {
    DS_TRY(ds_atomic_open_fd(af, path));
    af->f = fdopen(af->fd, "wb");
    if (!af->f) {
        const int err = errno;
        close(af->fd);
        unlink(af->tmp);
        af->fd = -1;
        return ds_fail(DS_ERR_IO, "%s: cannot write: %s", path, strerror(err));
    }
    return DS_OK;
}

/* Closes the temporary; 0 or the errno of a failed flush or close. */
static int close_temp(ds_atomic_file *af, const char **step) {
    int err = 0;
    if (af->f) {
        if (fflush(af->f) != 0)
            err = errno ? errno : EIO;
        if (fclose(af->f) != 0 && !err)
            err = errno ? errno : EIO;
    } else if (af->fd >= 0 && close(af->fd) != 0) {
        err = errno ? errno : EIO;
        *step = "close";
    }
    af->f = NULL;
    af->fd = -1;
    return err;
}

void ds_atomic_abort(ds_atomic_file *af) {
    const char *step = "write";
    close_temp(af, &step);
    unlink(af->tmp);
}

ds_status ds_atomic_commit(ds_atomic_file *af, int ok) {
    const char *step = "write";
    /* a failed fwrite or fprintf left its reason in errno */
    const int write_err = ok ? 0 : errno ? errno : EIO;
    int err = close_temp(af, &step);
    if (!ok)
        err = write_err;
    if (!err) {
        if (rename(af->tmp, af->path) == 0)
            return DS_OK;
        err = errno;
        step = "replace";
    }
    unlink(af->tmp);
    return ds_fail(DS_ERR_IO, "%s: cannot %s: %s (the file was left as it was)", af->path, step,
                   strerror(err ? err : EIO));
}
