/*
 * image_write.h: depth outputs as run.py writes them: PNG (8-bit gray,
 * 16-bit gray, 8-bit RGB) and PFM. Files are written under a temporary name
 * and renamed when complete, so none is ever seen half-written.
 */
#ifndef DS_IMAGE_WRITE_H
#define DS_IMAGE_WRITE_H

#include "depthsolve.h" /* ds_status */

typedef enum ds_png_kind {
    DS_PNG_GRAY8,  /* 1 byte a pixel */
    DS_PNG_GRAY16, /* one uint16_t a pixel, in host byte order */
    DS_PNG_RGB8    /* 3 bytes a pixel: R, G, B */
} ds_png_kind;

/* Writes width x height pixels, rows top first and tightly packed, through
 * libpng's simplified API. The pixel values on disk are what cv2.imwrite
 * stores for the same array (in RGB order for DS_PNG_RGB8); libpng adds the
 * colorspace chunks that API always writes (sRGB for 8-bit; gAMA 1.0 and
 * cHRM for 16-bit), which OpenCV's reader ignores. */
ds_status ds_png_write(const char *path, ds_png_kind kind, const void *pixels, int width,
                       int height);

/* Writes a width x height float32 map (rows top first) as MiDaS's
 * utils.write_pfm does: "Pf\n", "<width> <height>\n", "-1.000000\n"
 * (negative scale: little-endian), then the rows bottom first. */
ds_status ds_pfm_write(const char *path, const float *map, int width, int height);

#endif
