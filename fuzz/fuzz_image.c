/*
 * fuzz_image.c: libFuzzer target for photo decoding from memory (PNG and
 * JPEG through libpng/libjpeg-turbo, EXIF orientation, format sniffing).
 * The pixel limit is lowered so that one input stays fast and small.
 */
#include <stddef.h>
#include <stdint.h>

#include "src/io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ds_image img;
    if (ds_image_decode(data, size, "fuzz", (int64_t)1 << 20, &img) == DS_OK)
        ds_image_free(&img);
    return 0;
}
