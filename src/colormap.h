/*
 * colormap.h: 8-bit depth values to RGB, as run.py's cv2.applyColorMap does
 * (its BGR result written by cv2.imwrite is RGB on disk; these tables are RGB).
 */
#ifndef DS_COLORMAP_H
#define DS_COLORMAP_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */

typedef enum ds_colormap {
    DS_COLORMAP_GRAY = 0, /* v -> (v, v, v) */
    DS_COLORMAP_INFERNO,  /* cv2.COLORMAP_INFERNO, run.py's default */
    DS_COLORMAP_TURBO,    /* cv2.COLORMAP_TURBO */
    DS_COLORMAP_COUNT
} ds_colormap;

/* The 256-entry RGB tables (colormap_tables.c says where they come from). */
extern const uint8_t ds_colormap_inferno[256][3];
extern const uint8_t ds_colormap_turbo[256][3];

/* "gray", "inferno", "turbo"; NULL for anything else. */
const char *ds_colormap_name(ds_colormap map);

/* The colormap of that name, or DS_ERR_INVALID_ARGUMENT naming the choices. */
ds_status ds_colormap_from_name(const char *name, ds_colormap *out);

/* rgb[3*i .. 3*i+2] = map(values[i]) for i < n. */
void ds_colormap_apply(ds_colormap map, const uint8_t *values, size_t n, uint8_t *rgb);

#endif
