/*
 * depth_camera.h: the camera a Depth Anything 3 run knows, written beside
 * the depth maps: OUTDIR/<name>-<model>.camera.json.
 *
 * {"model": ..., "source": what the intrinsics come from ("estimated" by the
 *  model; for a metric model the focal length the metres were computed with:
 *  "fov", "exif", "camera-model", "default"),
 *  "photo": {"width", "height", "fx", "fy", "cx", "cy", "fov_x_deg", "fov_y_deg"},
 *  "network": the same for the network input (the official API's intrinsics),
 *  "extrinsics": 3x4 world-to-camera rows (only when estimated),
 *  "metric_focal_px": metric models: (fx + fy) / 2 of the network input, which
 *  depth = output x metric_focal_px / 300 used}
 */
#ifndef DS_DEPTH_CAMERA_H
#define DS_DEPTH_CAMERA_H

#include "depthsolve.h" /* ds_extras, ds_pinhole */

/* A pinhole of width x height with these focal lengths, centred. */
ds_pinhole ds_pinhole_of(int width, int height, float fx, float fy);

/* Writes `path` atomically. photo / net: the two cameras; extrinsics NULL if
 * none; metric_focal 0 for a model without metres. */
ds_status ds_write_camera_json(const char *path, const char *model, const char *source, const ds_pinhole *photo,
                               const ds_pinhole *net, const float *extrinsics, float metric_focal);

#endif
