/*
 * photo/cv_resize.h: OpenCV's cv2.resize of 8-bit RGB images, bit for bit,
 * for the photo path of Depth Anything 3 (its input processor resizes the
 * uint8 picture twice with cv2: INTER_CUBIC when a side grows, INTER_AREA
 * when none does).
 *
 *  - INTER_CUBIC (resizeGeneric_ with fixed-point coefficients): the taps at
 *    (d + 0.5) * scale - 0.5 in float, scale = 1 / (dst / src) in double,
 *    interpolateCubic weights x 2048 rounded to short, the horizontal pass
 *    in int with borders replicated; the vertical pass as OpenCV's baseline
 *    build (SSE2) computes it: in float (weights / 2^22, multiply then add,
 *    rounded half to even) for each run of 8 bytes of a row, in int
 *    ((sum + 2^21) >> 22) for the row's last width*3 mod 8 bytes.
 *  - INTER_AREA, neither side growing: the exact 2x2 case as
 *    (a + b + c + d + 2) >> 2, other integer factors as the block sum times
 *    1/area rounded half to even, and any other factor by the overlap
 *    weights of computeResizeAreaTab, summed in float, rounded half to even.
 *
 * This is OpenCV's own code (Debian's 4.6, and 4.11 with IPP off: every byte
 * of tests/data/cv_resize equal). The PyPI wheels (opencv-python) call Intel
 * IPP for 8-bit INTER_CUBIC instead, which rounds differently: one level off
 * in 5% of the bytes of the reference photo's 211x157 -> 504x375 -> 504x378
 * (and IPP itself differed from the reference machine's in 3 bytes: it
 * depends on the CPU). INTER_AREA is the same with and without IPP.
 */
#ifndef DS_PHOTO_CV_RESIZE_H
#define DS_PHOTO_CV_RESIZE_H

#include <stddef.h>
#include <stdint.h>

/* src (sh rows of sw RGB pixels, row stride in bytes) -> dst (dh x dw x 3,
 * packed). Returns 0, or -1 when out of memory. */
int ds_cv_resize_cubic_u8(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw, int dh);
/* The same for INTER_AREA; dw <= sw and dh <= sh. */
int ds_cv_resize_area_u8(const uint8_t *src, int sw, int sh, size_t stride, uint8_t *dst, int dw, int dh);

#endif
