/*
 * image.h: photos in, 8-bit RGB out, decoded as OpenCV's
 * cv2.imread(path, cv2.IMREAD_COLOR) decodes them (then BGR -> RGB), which is
 * what MiDaS's run.py feeds its network.
 *
 * Formats are told by their first bytes, never by the file name:
 *  - PNG (libpng): every color type and bit depth, interlaced or not. Alpha and
 *    tRNS are dropped (not composited), gray is replicated, palettes expanded,
 *    16-bit samples keep their high byte (OpenCV strips, it does not round),
 *    no gamma correction. An eXIf chunk's orientation is applied.
 *  - JPEG (libjpeg-turbo): baseline, progressive, arithmetic, gray; CMYK and
 *    YCCK by OpenCV's CMYK rule. The orientation in the first APP1 segment is
 *    applied (all 8 EXIF orientations, as imread does by default).
 *    Progressive files with more than 500 scans are refused.
 * Anything else, truncated or corrupt data (including data libjpeg would only
 * warn about and fill with gray), and images over the pixel limit fail with a
 * one-line message that starts with the path or label.
 *
 * The pixel limit is checked from the header, before the image is allocated.
 * A file is also refused unread if it is larger than 8 bytes per allowed pixel
 * plus 64 MiB (no PNG or JPEG within the limit needs that much).
 */
#ifndef DS_IMAGE_H
#define DS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */

/* 2^27 = 134,217,728 pixels (e.g. 16384 x 8192): 384 MiB of RGB. */
#define DS_IMAGE_MAX_PIXELS_DEFAULT ((int64_t)1 << 27)

typedef struct ds_image {
    uint8_t *rgb; /* height rows of width*3 bytes (R, G, B), top row first; owned */
    int width, height;
    int focal_35mm; /* EXIF FocalLengthIn35mmFilm (mm) of a decoded photo; 0 if none */
} ds_image;

/* max_pixels <= 0 means DS_IMAGE_MAX_PIXELS_DEFAULT. On failure *out is empty. */
ds_status ds_image_read(const char *path, int64_t max_pixels, ds_image *out);

/* The same from memory; `label` names the data in error messages. */
ds_status ds_image_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                          ds_image *out);

void ds_image_free(ds_image *img); /* NULL-safe; leaves *img empty */

/* The photo's field of view along its long side (degrees) from its 35 mm
 * equivalent focal length (the full frame's 43.27 mm diagonal over the
 * photo's diagonal: 36 mm along the long side of a 3:2 photo); 0 when the
 * photo has none. */
float ds_image_fov_deg(const ds_image *img);

#endif
