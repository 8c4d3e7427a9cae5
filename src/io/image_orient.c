/*
 * image_orient.c: EXIF orientations 2-8 applied as OpenCV's ExifTransform
 * (modules/imgcodecs/src/loadsave.cpp) applies them: flips for 2-4, a
 * transpose followed by a flip for 5-8.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "src/io/image_codecs.h"

/* Destination pixel (x, y) comes from source pixel first + x*dx + y*dy (in pixels). */
typedef struct walk {
    ptrdiff_t first, dx, dy;
} walk;

static walk walk_of(int orientation, ptrdiff_t w, ptrdiff_t h) {
    ptrdiff_t last_row = (h - 1) * w, last_col = w - 1;
    switch (orientation) {
    case 2: return (walk){last_col, -1, w};             /* flip horizontally */
    case 3: return (walk){last_row + last_col, -1, -w}; /* flip both */
    case 4: return (walk){last_row, 1, -w};             /* flip vertically */
    case 5: return (walk){0, w, 1};                     /* transpose */
    case 6: return (walk){last_row, -w, 1};             /* transpose, flip horizontally */
    case 7: return (walk){last_row + last_col, -w, -1}; /* transpose, flip both */
    default: return (walk){last_col, w, -1};            /* 8: transpose, flip vertically */
    }
}

ds_status ds_image_orient(ds_image *img, int orientation, const char *label) {
    if (orientation < 2 || orientation > 8)
        return DS_OK;
    int w = img->width, h = img->height;
    int w2 = orientation >= 5 ? h : w, h2 = orientation >= 5 ? w : h;
    uint8_t *dst = malloc((size_t)w * (size_t)h * 3);
    if (!dst)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory turning a %dx%d image", label, w,
                       h);
    walk k = walk_of(orientation, w, h);
    uint8_t *out = dst;
    for (int y = 0; y < h2; y++) {
        ptrdiff_t from = k.first + y * k.dy;
        for (int x = 0; x < w2; x++, out += 3, from += k.dx)
            memcpy(out, img->rgb + from * 3, 3);
    }
    free(img->rgb);
    img->rgb = dst;
    img->width = w2;
    img->height = h2;
    return DS_OK;
}
