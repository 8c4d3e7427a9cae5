/* file_map.c: see file_map.h. */
#include "base/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h" /* ds_fail */

ds_status ds_open_regular(const char *path, int *fd, struct stat *st) {
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return ds_fail(DS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    const int stat_errno = fstat(*fd, st) != 0 ? errno : 0;
    const char *why = stat_errno ? strerror(stat_errno)
                      : S_ISDIR(st->st_mode) ? "is a directory"
                      : !S_ISREG(st->st_mode) ? "not a regular file"
                                              : NULL;
    if (why) {
        close(*fd);
        *fd = -1;
        return ds_fail(DS_ERR_IO, "%s: %s", path, why);
    }
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK); /* reads of a regular file block as usual */
    return DS_OK;
}

ds_status ds_map_file(const char *path, const char *what, bool whole, void **map, size_t *size) {
    *map = NULL;
    *size = 0;
    int fd;
    struct stat st;
    DS_TRY(ds_open_regular(path, &fd, &st));
    if (st.st_size == 0) {
        close(fd);
        return ds_fail(DS_ERR_FORMAT, "%s: empty file, %s", path, what);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | (whole ? MAP_POPULATE : 0), fd, 0);
    int map_errno = errno;
    close(fd);
    if (m == MAP_FAILED)
        return ds_fail(DS_ERR_IO, "%s: cannot map: %s", path, strerror(map_errno));
    *map = m;
    *size = (size_t)st.st_size;
    return DS_OK;
}
