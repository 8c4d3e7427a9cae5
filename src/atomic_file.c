/* atomic_file.c: temporary file beside the target, then rename. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "error.h" /* ds_fail */

ds_status ds_atomic_open(ds_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (strlen(path) + 16 >= sizeof af->tmp)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: path too long", path);
    strcpy(af->path, path);
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    /* open(O_EXCL, 0666) rather than mkstemp: the file gets the umask's
     * permissions like any other output, not mkstemp's 0600 */
    static atomic_uint serial;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint32_t)getpid() * 2654435761u;
        r ^= atomic_fetch_add(&serial, 1) * 0x9E3779B9u;
        snprintf(af->tmp, sizeof af->tmp, "%.*s.%s.%08x", dir_len, path, path + dir_len, (unsigned)r);
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
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
    /* no fsync, as for models (gguf_write.c): the rename alone keeps readers
     * from ever seeing a partial file, and outputs can be made again */
    if (ok && fflush(af->f) != 0)
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
