/* colormap.c: named colormaps and their application to 8-bit values. */
#include "src/colormap.h"

#include <string.h>

#include "base/error.h" /* ds_fail */

static const char *const NAMES[DS_COLORMAP_COUNT] = {"gray", "inferno", "turbo"};

const char *ds_colormap_name(ds_colormap map) {
    return (unsigned)map < DS_COLORMAP_COUNT ? NAMES[map] : NULL;
}

ds_status ds_colormap_from_name(const char *name, ds_colormap *out) {
    for (int i = 0; i < DS_COLORMAP_COUNT; i++)
        if (!strcmp(name, NAMES[i])) {
            *out = (ds_colormap)i;
            return DS_OK;
        }
    return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown colormap '%s' (gray, inferno or turbo)", name);
}

void ds_colormap_apply(ds_colormap map, const uint8_t *values, size_t n, uint8_t *rgb) {
    const uint8_t(*table)[3] = map == DS_COLORMAP_INFERNO ? ds_colormap_inferno
                               : map == DS_COLORMAP_TURBO ? ds_colormap_turbo
                                                          : NULL;
    for (size_t i = 0; i < n; i++, rgb += 3) {
        if (table)
            memcpy(rgb, table[values[i]], 3);
        else
            rgb[0] = rgb[1] = rgb[2] = values[i];
    }
}
