/* depth_outputs.c: naming, normalization and writing of depth outputs. */
#include "src/depth_outputs.h"
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/cli.h"         /* ds_mkdirs */
#include "base/error.h"       /* ds_fail */
#include "src/io/image_write.h" /* ds_png_write, ds_pfm_write */
#include "src/io/npy.h"         /* ds_npy_write */

int ds_parse_formats(const char *s, unsigned *out) {
    static const struct { const char *name; unsigned bit; } names[] = {
        {"png8", DS_OUT_PNG8}, {"png16", DS_OUT_PNG16}, {"pfm", DS_OUT_PFM}, {"npy", DS_OUT_NPY},
        {"conf", DS_OUT_CONF}};
    unsigned bits = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && !strncmp(p, names[i].name, n)) {
                bits |= names[i].bit;
                found = 1;
            }
        if (!found)
            return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    *out = bits;
    return bits != 0;
}

int ds_parse_normalize(const char *s, ds_norm_mode *mode, float *lo, float *hi) {
    if (!strcmp(s, "image")) {
        *mode = DS_NORM_IMAGE;
        return 1;
    }
    if (!strcmp(s, "global")) {
        *mode = DS_NORM_GLOBAL;
        return 1;
    }
    char *end;
    if (strncmp(s, "fixed:", 6) != 0)
        return 0;
    *lo = strtof(s + 6, &end);
    if (end == s + 6 || *end != ',')
        return 0;
    const char *rest = end + 1;
    *hi = strtof(rest, &end);
    if (end == rest || *end || !isfinite(*lo) || !isfinite(*hi) || !(*hi > *lo))
        return 0;
    *mode = DS_NORM_FIXED;
    return 1;
}

void ds_output_path(const ds_output_opts *o, const char *rel, unsigned format, char *buf,
                    size_t len) {
    const char *ext = format == DS_OUT_PFM ? ".pfm" : format == DS_OUT_NPY ? ".npy" : format == DS_OUT_CONF ? ".conf.pfm"
                                                                                              : ".png";
    const char *tag = (format == DS_OUT_PNG16 && (o->formats & DS_OUT_PNG8)) ? "-16bit" : "";
    snprintf(buf, len, "%s/%s-%s%s%s", o->dir, rel, o->model_name, tag, ext);
}

int ds_outputs_exist(const ds_output_opts *o, const char *rel) {
    for (unsigned bit = 1; bit <= DS_OUT_CONF; bit <<= 1) {
        if (!(o->formats & bit))
            continue;
        char path[4400];
        struct stat st;
        ds_output_path(o, rel, bit, path, sizeof path);
        if (stat(path, &st) != 0)
            return 0;
    }
    return 1;
}

/* mkdir -p of the directory part of `path`. */
static ds_status make_parent(const char *path) {
    char buf[4400];
    snprintf(buf, sizeof buf, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash)
        return DS_OK;
    *slash = '\0';
    return ds_mkdirs(buf);
}

ds_status ds_write_float_outputs(const ds_output_opts *o, const char *rel, const float *depth,
                                 int w, int h) {
    char path[4400];
    if (o->formats & DS_OUT_PFM) {
        ds_output_path(o, rel, DS_OUT_PFM, path, sizeof path);
        DS_TRY(make_parent(path));
        DS_TRY(ds_pfm_write(path, depth, w, h));
    }
    if (o->formats & DS_OUT_NPY) {
        int64_t shape[2] = {h, w};
        ds_output_path(o, rel, DS_OUT_NPY, path, sizeof path);
        DS_TRY(make_parent(path));
        DS_TRY(ds_npy_write(path, depth, 2, shape));
    }
    return DS_OK;
}

ds_status ds_write_conf_outputs(const ds_output_opts *o, const char *rel, const float *conf, int w, int h) {
    char path[4400];
    ds_output_path(o, rel, DS_OUT_CONF, path, sizeof path);
    DS_TRY(make_parent(path));
    DS_TRY(ds_pfm_write(path, conf, w, h));
    if (o->formats & DS_OUT_NPY) {
        int64_t shape[2] = {h, w};
        snprintf(path, sizeof path, "%s/%s-%s.conf.npy", o->dir, rel, o->model_name);
        DS_TRY(ds_npy_write(path, conf, 2, shape));
    }
    return DS_OK;
}

void ds_camera_json_path(const ds_output_opts *o, const char *rel, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s-%s.camera.json", o->dir, rel, o->model_name);
}

/* run.py's write_depth: max_val * (d - lo) / (hi - lo) in float32, truncated;
 * a flat map is all zeros. Values outside [lo, hi] (fixed ranges) are clamped. */
float ds_depth_quantize(float d, float lo, float hi, float max_val) {
    if (!isfinite(d))
        d = 0.0f;
    if (!((double)hi - (double)lo > DBL_EPSILON))
        return 0.0f;
    float v = max_val * (d - lo) / (hi - lo);
    return v < 0.0f ? 0.0f : (v > max_val ? max_val : v);
}

/* A PNG value: near is bright, so metres count down from hi (-d over [-hi, -lo]). */
static float png_value(const ds_output_opts *o, float d, float lo, float hi, float max_val) {
    return o->metric ? ds_depth_quantize(-d, -hi, -lo, max_val) : ds_depth_quantize(d, lo, hi, max_val);
}

ds_status ds_write_png_outputs(const ds_output_opts *o, const char *rel, const float *depth,
                               int w, int h, float lo, float hi, const ds_image *photo,
                               void *scratch) {
    char path[4400];
    size_t n = (size_t)w * (size_t)h;
    if (o->formats & DS_OUT_PNG16) {
        uint16_t *v = scratch;
        for (size_t i = 0; i < n; i++)
            v[i] = (uint16_t)png_value(o, depth[i], lo, hi, 65535.0f);
        ds_output_path(o, rel, DS_OUT_PNG16, path, sizeof path);
        DS_TRY(make_parent(path));
        DS_TRY(ds_png_write(path, DS_PNG_GRAY16, v, w, h));
    }
    if (!(o->formats & DS_OUT_PNG8))
        return DS_OK;
    uint8_t *gray = scratch, *rgb = (uint8_t *)scratch + n;
    for (size_t i = 0; i < n; i++)
        gray[i] = (uint8_t)png_value(o, depth[i], lo, hi, 255.0f);
    ds_output_path(o, rel, DS_OUT_PNG8, path, sizeof path);
    DS_TRY(make_parent(path));
    if (!o->side_by_side && o->colormap == DS_COLORMAP_GRAY)
        return ds_png_write(path, DS_PNG_GRAY8, gray, w, h);
    if (!o->side_by_side) {
        ds_colormap_apply(o->colormap, gray, n, rgb);
        return ds_png_write(path, DS_PNG_RGB8, rgb, w, h);
    }
    /* photo | depth, 2w x h: rows assembled in place after the gray values */
    for (int y = 0; y < h; y++) {
        uint8_t *row = rgb + (size_t)y * 6 * w;
        memcpy(row, photo->rgb + (size_t)y * 3 * w, (size_t)3 * w);
        ds_colormap_apply(o->colormap, gray + (size_t)y * w, (size_t)w, row + (size_t)3 * w);
    }
    return ds_png_write(path, DS_PNG_RGB8, rgb, 2 * w, h);
}
