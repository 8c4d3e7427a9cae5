/* npy.h: NumPy .npy files of float32 (format 1.0 written; 1.0-3.0 read). */
#ifndef DS_NPY_H
#define DS_NPY_H

#include <stdint.h>

#include "depthsolve.h" /* ds_status */

enum { DS_NPY_MAX_DIMS = 8 };

typedef struct ds_npy {
    float *data; /* C order, owned */
    int ndim;
    int64_t shape[DS_NPY_MAX_DIMS];
} ds_npy;

/* Reads a little-endian float32 C-order array; anything else is an error
 * naming the file and what it holds. */
ds_status ds_npy_read(const char *path, ds_npy *out);
void ds_npy_free(ds_npy *a); /* NULL-safe */
int64_t ds_npy_numel(const ds_npy *a);

/* Writes atomically (temporary file, then rename). */
ds_status ds_npy_write(const char *path, const float *data, int ndim, const int64_t *shape);

#endif
