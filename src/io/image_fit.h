/* image_fit.h: a photo fitted to a frame size: the centre crop of the
 * frame's aspect ratio, resampled (linear filter, widened when shrinking so
 * that every source pixel counts). */
#ifndef DS_IMAGE_FIT_H
#define DS_IMAGE_FIT_H

#include "src/io/image.h" /* ds_image */

/* out: width x height RGB8 (owned, ds_image_free). The same size is a copy. */
ds_status ds_image_fit(const ds_image *src, int width, int height, ds_image *out);

/* The frame size for a photo when none is asked for: its own, scaled down
 * to at most max_side on the long side, and even when `even`. */
void ds_image_fit_default_size(int width, int height, int max_side, int even, int *out_w, int *out_h);

#endif
