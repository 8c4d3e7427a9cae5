/* image_codecs.h: the pieces behind ds_image_decode (private to src/image_*.c). */
#ifndef DS_IMAGE_CODECS_H
#define DS_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#include "src/io/image.h"

/* Each decoder fills *out (orientation not applied) and sets *orientation to
 * the EXIF value OpenCV would use (1 when there is none). On failure *out is
 * empty and the message starts with `label`. */
ds_status ds_png_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                        ds_image *out, int *orientation);
ds_status ds_jpeg_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                         ds_image *out, int *orientation);

/* The orientation tag of a TIFF-structured EXIF block (it starts with "II" or
 * "MM"), found as OpenCV's ExifReader finds it; 1 when there is none. Never
 * reads outside data[0, len). */
int ds_exif_orientation(const uint8_t *data, size_t len);

/* FocalLengthIn35mmFilm (tag 0xA405 of the Exif IFD that IFD0's tag 0x8769
 * points to) of a TIFF-structured EXIF block, in mm; 0 when there is none.
 * Never reads outside data[0, len). */
int ds_exif_focal_35mm(const uint8_t *data, size_t len);

/* Turns the image as OpenCV's ExifTransform does for orientations 2-8; other
 * values leave it as it is. */
ds_status ds_image_orient(ds_image *img, int orientation, const char *label);

#endif
