/*
 * depth_outputs.h: what `depthsolve depth` writes for each photo.
 *
 * Names follow run.py: OUTDIR/<relative path without extension>-<model>.<ext>,
 * sub-directories mirrored. Formats: png8 (.png, 8-bit through --colormap),
 * png16 (.png, 16-bit gray; "-16bit.png" when png8 is also written), pfm
 * (.pfm, float32, rows bottom-up as MiDaS writes it), npy (.npy, float32 HxW).
 * PNG values are normalized per image by default (run.py), over the whole
 * batch (global) or to a fixed range, then truncated like run.py's astype.
 */
#ifndef DS_DEPTH_OUTPUTS_H
#define DS_DEPTH_OUTPUTS_H

#include <stddef.h>

#include "src/colormap.h"   /* ds_colormap */
#include "depthsolve.h" /* ds_status */
#include "src/io/image.h"      /* ds_image */

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DS_OUT_PNG8 = 1,
    DS_OUT_PNG16 = 2,
    DS_OUT_PFM = 4,
    DS_OUT_NPY = 8,
    DS_OUT_CONF = 16, /* a model's confidence map: <name>-<model>.conf.pfm (and .conf.npy with npy) */
};

typedef enum ds_norm_mode { DS_NORM_IMAGE = 0, DS_NORM_GLOBAL, DS_NORM_FIXED } ds_norm_mode;

typedef struct ds_output_opts {
    const char *dir;        /* OUTDIR */
    const char *model_name; /* suffix after '-' */
    unsigned formats;       /* DS_OUT_* bits */
    ds_colormap colormap;   /* for png8 */
    int side_by_side;       /* png8 is the photo and its depth side by side */
    ds_norm_mode norm;
    float fixed_min, fixed_max;
    int metric;             /* the depth map holds depth (metres, or Depth Anything 3's relative
                               depth): PNGs put the nearest (smallest) bright */
    int camera_json;        /* write <name>-<model>.camera.json (a model that knows the camera) */
} ds_output_opts;

/* "png16,png8,pfm,npy,conf" (any subset, comma separated); 0 if malformed. */
int ds_parse_formats(const char *s, unsigned *out);
/* "image", "global" or "fixed:MIN,MAX"; 0 if malformed. */
int ds_parse_normalize(const char *s, ds_norm_mode *mode, float *lo, float *hi);

/* The output file of `rel` for one format bit. */
void ds_output_path(const ds_output_opts *o, const char *rel, unsigned format, char *buf,
                    size_t len);
/* Whether every requested output of `rel` exists (a rerun skips the photo). */
int ds_outputs_exist(const ds_output_opts *o, const char *rel);

/* One PNG value: max_val * (d - lo) / (hi - lo) in float32, clamped to
 * [0, max_val], NaN and infinities as 0, all 0 for a flat range; the caller
 * truncates it to an integer as run.py's astype does. */
float ds_depth_quantize(float d, float lo, float hi, float max_val);

/* Writes the float outputs (pfm, npy) of one photo. */
ds_status ds_write_float_outputs(const ds_output_opts *o, const char *rel, const float *depth,
                                 int width, int height);
/* Writes the confidence map (--format conf): .conf.pfm, and .conf.npy when npy is asked for. */
ds_status ds_write_conf_outputs(const ds_output_opts *o, const char *rel, const float *conf, int width, int height);
/* OUTDIR/<rel>-<model>.camera.json */
void ds_camera_json_path(const ds_output_opts *o, const char *rel, char *buf, size_t len);
/* Writes the PNG outputs with values mapped from [lo, hi] (from [hi, lo] when
 * o->metric: near is bright for every model); `photo` is used for
 * --side-by-side. `scratch` holds at least width*height*8 bytes. */
ds_status ds_write_png_outputs(const ds_output_opts *o, const char *rel, const float *depth,
                               int width, int height, float lo, float hi, const ds_image *photo,
                               void *scratch);

#ifdef __cplusplus
}
#endif

#endif
