/*
 * preprocess.h: the input transform and output resize of MiDaS's run.py and
 * of Depth Anything V2's infer_image, in C.
 *
 *  - size rule: Resize(keep_aspect_ratio, ensure_multiple_of, resize_method):
 *    "upper_bound" and "minimal" (MiDaS, multiples of 32), "lower_bound"
 *    (Depth Anything, multiples of 14)
 *  - OpenCV cv2.resize(INTER_CUBIC) of the [0,1] float64 image, then
 *    (x - mean) / std, as float32 NCHW
 *  - PyTorch interpolate of the network output back to the photo's size:
 *    bicubic, align_corners=False (MiDaS), or bilinear, align_corners=True
 *    (Depth Anything)
 */
#ifndef DS_PREPROCESS_H
#define DS_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */

#ifdef __cplusplus
extern "C" {
#endif

/* The network input size for a width x height photo: `target` is the network
 * size (or --height), `upper_bound` selects run.py's "upper_bound" rule (else
 * "minimal"), `keep_aspect` is false for --square. Sides below one multiple
 * are raised to one multiple (run.py would produce 0 and fail). */
void ds_net_input_size(int width, int height, int target, int multiple, int upper_bound,
                       int keep_aspect, int *net_w, int *net_h);

/* Depth Anything's rule ("lower_bound"): the scale that brings the short
 * side to `target` (keep_aspect; else each side on its own), then each side
 * round(scale * side / multiple) * multiple with NumPy's half to even,
 * raised to the next multiple up when that falls below `target`. */
void ds_net_input_size_lower_bound(int width, int height, int target, int multiple, int keep_aspect,
                                   int *net_w, int *net_h);

/* RGB8 (row stride in bytes) -> normalized float32 (3, net_h, net_w), OpenCV
 * INTER_CUBIC semantics: a = -0.75, half-pixel centres, edge replicated,
 * float coefficients, double accumulation. */
void ds_preprocess_rgb8(const uint8_t *rgb, int width, int height, size_t stride, int net_w,
                        int net_h, const float mean[3], const float std[3], float *out_nchw,
                        int n_threads);

/* PyTorch bicubic (a = -0.75, align_corners=False, borders clamped) of a
 * (in_h, in_w) map to (out_h, out_w). */
void ds_resize_bicubic_torch(const float *in, int in_w, int in_h, float *out, int out_w,
                             int out_h, int n_threads);

/* PyTorch bilinear, align_corners=True (ds_bilinear_coord's coordinates), of
 * a (in_h, in_w) map to (out_h, out_w). */
void ds_resize_bilinear_aligned(const float *in, int in_w, int in_h, float *out, int out_w, int out_h,
                                int n_threads);

/* How many of the resizes above ran on the host in this process:
 * tests and benchmarks see where a photo path resizes. */
uint64_t ds_photo_host_resizes(void);

#ifdef __cplusplus
}
#endif

#endif
