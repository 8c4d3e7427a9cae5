/*
 * photo/da3_input.h: Depth Anything 3's input processor (utils/io/
 * input_processor.py, "upper_bound_resize", process_res 504) in C:
 *  1. the longest side to `target`: s = target / longest, each side
 *     max(1, round(side * s)) with Python's round (half to even), by
 *     cv2.resize of the 8-bit picture, INTER_CUBIC when s > 1 else
 *     INTER_AREA; skipped when the longest side is already `target`;
 *  2. each side to the nearest multiple of 14 (a tie goes up), by a second
 *     cv2.resize of the 8-bit result, INTER_CUBIC if a side grows, else
 *     INTER_AREA; skipped when both already are. A side the official code
 *     would take to 0 (under 7 pixels) is taken to 14;
 *  3. x / 255 in float32, then (x - mean) / std in float32 (ToTensor,
 *     Normalize), RGB as decoded (no BGR step).
 */
#ifndef DS_PHOTO_DA3_INPUT_H
#define DS_PHOTO_DA3_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* The sizes after step 1 (w1, h1) and step 2 (w2, h2: the network's). */
void ds_da3_input_sizes(int width, int height, int target, int multiple, int *w1, int *h1, int *w2, int *h2);

/* RGB8 -> normalized float32 (3, h2, w2) NCHW; 0, or -1 when out of memory. */
int ds_da3_preprocess_rgb8(const uint8_t *rgb, int width, int height, size_t stride, int target, int multiple,
                           const float mean[3], const float std[3], float *out_nchw);

/* A photo focal length (pixels, along one axis of `orig` pixels) for the
 * network input, as the processor rescales given intrinsics: times mid /
 * orig, then net / mid, in float32 (numpy's K *= of a float32 K). */
float ds_da3_processed_focal(float f, int orig, int mid, int net);

/* The metric model's metres per output unit: ((fx + fy) / 2) / ref in
 * float32, as utils/alignment.apply_metric_scaling (ref 300). */
float ds_da3_metric_scale(float fx, float fy, float ref);

#endif
