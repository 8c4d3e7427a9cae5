/* pfm_write.c: float32 maps as MiDaS's utils.write_pfm writes them, atomically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* ds_fail */
#include "src/io/image_write.h"

ds_status ds_pfm_write(const char *path, const float *map, int width, int height) {
    if (width <= 0 || height <= 0 || !map)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: cannot write a %dx%d PFM", path, width,
                       height);
    size_t w = (size_t)width;
    uint8_t *row = malloc(w * 4);
    if (!row)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    ds_atomic_file af;
    ds_status s = ds_atomic_open(&af, path);
    if (s != DS_OK) {
        free(row);
        return s;
    }
    /* write_pfm writes "%f" % -scale (scale 1); the minus says little-endian data */
    int ok = fprintf(af.f, "Pf\n%d %d\n-1.000000\n", width, height) > 0;
    for (int y = height - 1; ok && y >= 0; y--) { /* np.flipud: bottom row first */
        const float *src = map + (size_t)y * w;
        for (size_t x = 0; x < w; x++) {
            uint32_t bits;
            memcpy(&bits, &src[x], 4);
            for (int b = 0; b < 4; b++)
                row[x * 4 + (size_t)b] = (uint8_t)(bits >> (8 * b));
        }
        ok = fwrite(row, 4, w, af.f) == w;
    }
    free(row);
    return ds_atomic_commit(&af, ok);
}
