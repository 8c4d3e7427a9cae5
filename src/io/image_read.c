/*
 * image_read.c: ds_image_read/ds_image_decode: the file read whole, its
 * format told from its first bytes (as OpenCV's findDecoder does), the
 * decoder run and the EXIF orientation applied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"    /* ds_fail */
#include "base/file_map.h" /* ds_open_regular */
#include "src/io/image_codecs.h"

/* Formats we recognize only to name them in the error. */
static const struct {
    const char *name;
    size_t at, len;
    const char *magic;
} OTHERS[] = {
    {"GIF", 0, 4, "GIF8"}, {"BMP", 0, 2, "BM"},    {"TIFF", 0, 4, "II*\0"},
    {"TIFF", 0, 4, "MM\0*"}, {"WebP", 8, 4, "WEBP"},
};

void ds_image_free(ds_image *img) {
    if (!img)
        return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

ds_status ds_image_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                          ds_image *out) {
    memset(out, 0, sizeof *out);
    if (max_pixels <= 0)
        max_pixels = DS_IMAGE_MAX_PIXELS_DEFAULT;
    if (len == 0)
        return ds_fail(DS_ERR_FORMAT, "%s: empty file", label);
    int orientation = 1;
    ds_status s;
    if (len >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8)) {
        s = ds_png_decode(data, len, label, max_pixels, out, &orientation);
    } else if (len >= 3 && !memcmp(data, "\xff\xd8\xff", 3)) {
        s = ds_jpeg_decode(data, len, label, max_pixels, out, &orientation);
    } else {
        for (size_t i = 0; i < sizeof OTHERS / sizeof OTHERS[0]; i++)
            if (len >= OTHERS[i].at + OTHERS[i].len &&
                !memcmp(data + OTHERS[i].at, OTHERS[i].magic, OTHERS[i].len))
                return ds_fail(DS_ERR_UNSUPPORTED, "%s: %s image; only PNG and JPEG are supported",
                               label, OTHERS[i].name);
        return ds_fail(DS_ERR_FORMAT, "%s: not a PNG or JPEG image", label);
    }
    if (s == DS_OK)
        s = ds_image_orient(out, orientation, label);
    if (s != DS_OK)
        ds_image_free(out);
    return s;
}

/* The whole file, if it is a regular file no larger than `limit` bytes. */
static ds_status read_file(const char *path, uint64_t limit, uint8_t **data, size_t *len) {
    int fd;
    struct stat st;
    DS_TRY(ds_open_regular(path, &fd, &st));
    ds_status s = DS_OK;
    if ((uint64_t)st.st_size > limit)
        s = ds_fail(DS_ERR_UNSUPPORTED,
                    "%s: %lld bytes, more than any image within the pixel limit needs", path,
                    (long long)st.st_size);
    size_t n = s == DS_OK ? (size_t)st.st_size : 0, got = 0;
    uint8_t *buf = s == DS_OK ? malloc(n ? n : 1) : NULL;
    if (s == DS_OK && !buf)
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", path, n);
    while (s == DS_OK && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            s = ds_fail(DS_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        else if (r == 0)
            s = ds_fail(DS_ERR_IO, "%s: file shrank while being read", path);
        else
            got += (size_t)r;
    }
    close(fd);
    if (s != DS_OK) {
        free(buf);
        return s;
    }
    *data = buf;
    *len = n;
    return DS_OK;
}

ds_status ds_image_read(const char *path, int64_t max_pixels, ds_image *out) {
    memset(out, 0, sizeof *out);
    if (max_pixels <= 0)
        max_pixels = DS_IMAGE_MAX_PIXELS_DEFAULT;
    /* 8 bytes a pixel covers a stored (uncompressed) 16-bit RGBA PNG */
    uint64_t limit = UINT64_MAX;
    if ((uint64_t)max_pixels < (UINT64_MAX >> 4))
        limit = (uint64_t)max_pixels * 8 + (64u << 20);
    uint8_t *data = NULL;
    size_t len = 0;
    DS_TRY(read_file(path, limit, &data, &len));
    ds_status s = ds_image_decode(data, len, path, max_pixels, out);
    free(data);
    return s;
}
