/* png_write.c: PNG files through libpng's simplified write API, atomically. */
#include <errno.h>
#include <png.h>
#include <string.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit, ds_atomic_abort */
#include "base/error.h"       /* ds_fail */
#include "src/io/image_write.h"

ds_status ds_png_write(const char *path, ds_png_kind kind, const void *pixels, int width,
                       int height) {
    static const png_uint_32 FORMAT[] = {PNG_FORMAT_GRAY, PNG_FORMAT_LINEAR_Y, PNG_FORMAT_RGB};
    if (width <= 0 || height <= 0 || (unsigned)kind > DS_PNG_RGB8 || !pixels)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: cannot write a %dx%d PNG", path, width,
                       height);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)width;
    img.height = (png_uint_32)height;
    img.format = FORMAT[kind];
    /* zlib's fastest level and no filter search, as cv2.imwrite's default
     * (level 1): the default level took half the CPU of a folder run */
    img.flags = PNG_IMAGE_FLAG_FAST;
    ds_atomic_file af;
    DS_TRY(ds_atomic_open(&af, path));
    errno = 0;
    int ok = png_image_write_to_stdio(&img, af.f, 0, pixels, 0, NULL) != 0;
    if (!ok) {
        const int err = errno; /* libpng says "Write Error"; the system says why */
        char why[sizeof img.message];
        memcpy(why, img.message, sizeof why);
        why[sizeof why - 1] = '\0';
        ds_atomic_abort(&af);
        png_image_free(&img);
        if (err)
            return ds_fail(DS_ERR_IO, "%s: PNG write failed: %s (%s)", path, strerror(err), why);
        return ds_fail(DS_ERR_IO, "%s: PNG write failed: %s", path, why);
    }
    return ds_atomic_commit(&af, 1);
}
