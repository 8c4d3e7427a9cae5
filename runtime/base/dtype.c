/* dtype.c: element sizes, names, and half-precision conversions. */
#include "base/dtype.h"

#include <string.h>

size_t ds_dtype_size(ds_dtype t) {
    switch (t) {
    case DS_F32: return 4;
    case DS_F16: return 2;
    case DS_BF16: return 2;
    case DS_F64: return 8;
    case DS_I64: return 8;
    case DS_I32: return 4;
    case DS_I16: return 2;
    case DS_I8: return 1;
    case DS_U8: return 1;
    case DS_BOOL: return 1;
    case DS_DTYPE_COUNT: break;
    }
    return 0;
}

const char *ds_dtype_name(ds_dtype t) {
    static const char *names[DS_DTYPE_COUNT] = {"f32", "f16", "bf16", "f64", "i64",
                                                "i32", "i16", "i8",   "u8",  "bool"};
    return (unsigned)t < DS_DTYPE_COUNT ? names[t] : "?";
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float ds_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) /* inf or nan */
        return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24, exact in f32 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t ds_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* inf or nan (nan stays quiet nan) */
        return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    if (abs >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (abs < 0x38800000u) {
        /* result is subnormal or zero: scale so the f16 ulp (2^-24) is 1 */
        float v = bits_f32(abs) * 16777216.0f; /* exact: power-of-two scale */
        /* round half to even through the current (nearest) FP rounding */
        float r = v + 8388608.0f - 8388608.0f;
        return (uint16_t)(sign | (uint16_t)r);
    }
    /* normal: round mantissa from 23 to 10 bits, half to even */
    uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | (uint16_t)((rounded - 0x38000000u) >> 13));
}

float ds_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ds_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* nan: keep it a quiet nan */
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
