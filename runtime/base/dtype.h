/* dtype.h: element types of stored tensors and float16/bfloat16 conversion. */
#ifndef DS_DTYPE_H
#define DS_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ds_dtype {
    DS_F32 = 0,
    DS_F16,
    DS_BF16,
    DS_F64,
    DS_I64,
    DS_I32,
    DS_I16,
    DS_I8,
    DS_U8,
    DS_BOOL,
    DS_DTYPE_COUNT
} ds_dtype;

#define DS_MAX_DIMS 8

size_t ds_dtype_size(ds_dtype t);       /* bytes per element */
const char *ds_dtype_name(ds_dtype t);  /* "f32", "f16", ... */

/* IEEE binary16 <-> binary32, round to nearest even; NaN and Inf kept. */
float ds_f16_to_f32(uint16_t h);
uint16_t ds_f32_to_f16(float f);
/* bfloat16 <-> binary32, round to nearest even; NaN kept quiet. */
float ds_bf16_to_f32(uint16_t h);
uint16_t ds_f32_to_bf16(float f);

#ifdef __cplusplus
}
#endif

#endif
