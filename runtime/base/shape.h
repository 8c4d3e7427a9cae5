/* shape.h: shapes of tensors (outermost dimension first), counted and written out. */
#ifndef DS_SHAPE_H
#define DS_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The product of the first ndim dimensions (1 for ndim 0). */
int64_t ds_shape_numel_n(const int64_t *shape, int ndim);
/* "64x3x7x7" (or "scalar" for ndim 0) into buf. */
void ds_format_shape(char *buf, size_t len, int ndim, const int64_t *shape);

#ifdef __cplusplus
}
#endif

#endif
