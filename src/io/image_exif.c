/*
 * image_exif.c: the EXIF orientation, found the way OpenCV 4.x's ExifReader
 * finds it (modules/imgcodecs/src/exif.cpp: parseExif, getFormat, getU16,
 * getU32, parseExifEntry and the getters it calls).
 *
 * Only IFD0 is read. Its entries are walked in order; OpenCV decodes some of
 * them (strings, rationals, shorts) and stops the walk, keeping what it had,
 * at the first read that would leave the buffer. So an orientation entry
 * counts if no earlier entry's value runs out of bounds, and the first one
 * wins. We repeat those bounds checks, and nothing else, without copying.
 */
#include <math.h>

#include "src/io/image_codecs.h"

typedef struct tiff {
    const uint8_t *p;
    uint64_t n;
    int le;
} tiff;

/* OpenCV's getU16/getU32: a read must end before n, else the walk stops. */
static int get16(const tiff *t, uint64_t at, uint32_t *v) {
    if (at + 1 >= t->n)
        return 0;
    const uint8_t *b = t->p + at;
    *v = t->le ? (uint32_t)b[0] | (uint32_t)b[1] << 8 : (uint32_t)b[0] << 8 | b[1];
    return 1;
}

static int get32(const tiff *t, uint64_t at, uint32_t *v) {
    if (at + 3 >= t->n)
        return 0;
    const uint8_t *b = t->p + at;
    *v = t->le ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
               : (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 1;
}

/* How many unsigned rationals OpenCV reads for a tag, at the offset in the entry. */
static int rationals_of(uint32_t tag) {
    switch (tag) {
    case 0x011A: /* XResolution */
    case 0x011B: /* YResolution */
        return 1;
    case 0x013E: /* WhitePoint */
        return 2;
    case 0x0211: /* YCbCrCoefficients */
        return 3;
    case 0x013F: /* PrimaryChromaticities */
    case 0x0214: /* ReferenceBlackWhite */
        return 6;
    default:
        return 0;
    }
}

static int is_string_tag(uint32_t tag) {
    return tag == 0x010E || tag == 0x010F || tag == 0x0110 || tag == 0x0131 || tag == 0x0132 ||
           tag == 0x8298;
}

/* Whether OpenCV decodes the value of the entry at `at` without leaving the buffer. */
static int entry_in_bounds(const tiff *t, uint32_t tag, uint64_t at) {
    uint32_t v, count, offset;
    if (is_string_tag(tag)) {
        if (!get32(t, at + 4, &count))
            return 0;
        offset = 8; /* OpenCV's quirk: a short string is looked for at offset 8 of the block */
        if (count > 4 && !get32(t, at + 8, &offset))
            return 0;
        return (uint64_t)offset <= t->n && (uint64_t)offset + count <= t->n;
    }
    if (tag == 0x0128 || tag == 0x0213) /* ResolutionUnit, YCbCrPositioning */
        return get16(t, at + 8, &v);
    int n = rationals_of(tag);
    if (n == 0)
        return 1;
    if (!get32(t, at + 8, &offset))
        return 0;
    for (int i = 0; i < n; i++, offset += 8) /* uint32 arithmetic, as in OpenCV */
        if (!get32(t, offset, &v) || !get32(t, (uint64_t)offset + 4, &v))
            return 0;
    return 1;
}

int ds_exif_orientation(const uint8_t *data, size_t len) {
    /* getFormat: "II" is little-endian; anything else is read big-endian */
    tiff t = {data, len, len >= 1 && data[0] == 'I' && (len == 1 || data[1] == 'I')};
    uint32_t mark, ifd, count;
    if (!get16(&t, 2, &mark) || mark != 0x2A || !get32(&t, 4, &ifd) || !get16(&t, ifd, &count))
        return 1;
    uint64_t at = (uint64_t)ifd + 2;
    for (uint32_t i = 0; i < count; i++, at += 12) {
        uint32_t tag, value;
        if (!get16(&t, at, &tag))
            break;
        if (tag == 0x0112) /* Orientation: a SHORT in the entry itself, whatever its type says */
            return get16(&t, at + 8, &value) ? (int)value : 1;
        if (!entry_in_bounds(&t, tag, at))
            break;
    }
    return 1;
}

/* The value of the first entry `tag` of the IFD at `ifd` (a SHORT or LONG in
 * the entry itself); 0 if absent or out of bounds. */
static uint32_t ifd_value(const tiff *t, uint32_t ifd, uint32_t tag) {
    uint32_t count, type, v;
    if (!get16(t, ifd, &count))
        return 0;
    for (uint32_t i = 0; i < count && i < 4096; i++) {
        const uint64_t at = (uint64_t)ifd + 2 + 12 * (uint64_t)i;
        uint32_t got;
        if (!get16(t, at, &got) || !get16(t, at + 2, &type))
            return 0;
        if (got != tag)
            continue;
        if (type == 3) /* SHORT */
            return get16(t, at + 8, &v) ? v : 0;
        if (type == 4) /* LONG */
            return get32(t, at + 8, &v) ? v : 0;
        return 0;
    }
    return 0;
}

int ds_exif_focal_35mm(const uint8_t *data, size_t len) {
    tiff t = {data, len, len >= 2 && data[0] == 'I' && data[1] == 'I'};
    uint32_t mark, ifd0;
    if (!get16(&t, 2, &mark) || mark != 0x2A || !get32(&t, 4, &ifd0))
        return 0;
    const uint32_t exif_ifd = ifd_value(&t, ifd0, 0x8769);
    const uint32_t f = exif_ifd ? ifd_value(&t, exif_ifd, 0xA405) : 0;
    return f < 10000 ? (int)f : 0;
}

float ds_image_fov_deg(const ds_image *img) {
    if (!img || img->focal_35mm <= 0 || img->width < 1 || img->height < 1)
        return 0.0f;
    const double w = img->width, h = img->height, diag = 43.266615305567875; /* sqrt(36^2 + 24^2) mm */
    const double long_mm = diag * (w > h ? w : h) / sqrt(w * w + h * h);
    return (float)(2.0 * atan(long_mm / (2.0 * img->focal_35mm)) * 180.0 / M_PI);
}
