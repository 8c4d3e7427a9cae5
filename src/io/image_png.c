/*
 * image_png.c: PNG decoding with libpng, with the transformations OpenCV 4.x's
 * PngDecoder::readData (modules/imgcodecs/src/grfmt_png.cpp) asks for when
 * imread wants CV_8UC3, except png_set_bgr (we want RGB):
 *
 *   bit depth 16          png_set_strip_16: keep the high byte (not scale_16,
 *                         which would round: 0x80FF -> 0x80, not 0x81)
 *   any                   png_set_strip_alpha: alpha and tRNS dropped, never composited
 *   palette               png_set_palette_to_rgb
 *   gray, depth < 8       png_set_expand_gray_1_2_4_to_8
 *   gray                  png_set_gray_to_rgb
 *   any                   png_set_interlace_handling
 *
 * No gamma, background or sBIT transformation, as in OpenCV. libpng's warnings
 * (including benign errors such as an ancillary chunk's bad CRC) are dropped,
 * where OpenCV lets them print; its errors end the decoding.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "src/io/image_codecs.h"

typedef struct png_job {
    const uint8_t *data;
    size_t len, pos;
    const char *label;
    int64_t max_pixels;
    png_structp png;
    png_infop info, end_info;
    uint8_t *rgb;
    png_bytep *rows;
    int width, height, orientation, focal_35mm;
    int truncated;
    char msg[256]; /* libpng's error message */
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1); /* returning would make libpng print and abort */
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void read_bytes(png_structp png, png_bytep out, size_t n) {
    png_job *job = png_get_io_ptr(png);
    if (n > job->len - job->pos) {
        job->truncated = 1;
        png_error(png, "truncated");
    }
    memcpy(out, job->data + job->pos, n);
    job->pos += n;
}

/* The eXIf chunk before or after the image data, or NULL. */
static png_bytep exif_chunk(png_job *job, png_uint_32 *n) {
    png_bytep exif = NULL;
    *n = 0;
    if (png_get_valid(job->png, job->info, PNG_INFO_eXIf))
        png_get_eXIf_1(job->png, job->info, n, &exif);
    else if (png_get_valid(job->png, job->end_info, PNG_INFO_eXIf))
        png_get_eXIf_1(job->png, job->end_info, n, &exif);
    return *n > 0 ? exif : NULL;
}

/* Everything that may longjmp. Its state lives in *job (the caller's object),
 * so nothing this function changes after setjmp is one of its own locals. */
static ds_status decode(png_job *job) {
    if (setjmp(png_jmpbuf(job->png))) {
        if (job->truncated)
            return ds_fail(DS_ERR_FORMAT, "%s: truncated PNG (%zu bytes)", job->label, job->len);
        return ds_fail(DS_ERR_FORMAT, "%s: cannot decode PNG: %s", job->label, job->msg);
    }
    png_set_read_fn(job->png, job, read_bytes);
    png_read_info(job->png, job->info);
    png_uint_32 w, h;
    int depth, color;
    png_get_IHDR(job->png, job->info, &w, &h, &depth, &color, NULL, NULL, NULL);
    if ((int64_t)w * (int64_t)h > job->max_pixels)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: %ux%u PNG is over the limit of %lld pixels",
                       job->label, (unsigned)w, (unsigned)h, (long long)job->max_pixels);
    if (depth == 16)
        png_set_strip_16(job->png);
    png_set_strip_alpha(job->png);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(job->png);
    if (!(color & PNG_COLOR_MASK_COLOR) && depth < 8)
        png_set_expand_gray_1_2_4_to_8(job->png);
    if (!(color & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(job->png);
    png_set_interlace_handling(job->png);
    png_read_update_info(job->png, job->info);
    size_t stride = (size_t)w * 3;
    if (png_get_rowbytes(job->png, job->info) != stride)
        return ds_fail(DS_ERR_INTERNAL, "%s: PNG rows of %zu bytes, expected %zu", job->label,
                       (size_t)png_get_rowbytes(job->png, job->info), stride);
    job->rgb = malloc(stride * h);
    job->rows = malloc(sizeof *job->rows * h);
    if (!job->rgb || !job->rows)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %ux%u image", job->label,
                       (unsigned)w, (unsigned)h);
    for (png_uint_32 y = 0; y < h; y++)
        job->rows[y] = job->rgb + stride * y;
    png_read_image(job->png, job->rows);
    png_read_end(job->png, job->end_info);
    job->width = (int)w;
    job->height = (int)h;
    png_uint_32 n;
    png_bytep exif = exif_chunk(job, &n);
    job->orientation = exif ? ds_exif_orientation(exif, n) : 1;
    job->focal_35mm = exif ? ds_exif_focal_35mm(exif, n) : 0;
    return DS_OK;
}

ds_status ds_png_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                        ds_image *out, int *orientation) {
    memset(out, 0, sizeof *out);
    png_job job = {.data = data, .len = len, .label = label, .max_pixels = max_pixels};
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
    if (job.png) {
        job.info = png_create_info_struct(job.png);
        job.end_info = png_create_info_struct(job.png);
    }
    ds_status s = job.png && job.info && job.end_info
                      ? decode(&job)
                      : ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory starting libpng", label);
    png_destroy_read_struct(&job.png, &job.info, &job.end_info);
    free(job.rows);
    if (s != DS_OK) {
        free(job.rgb);
        return s;
    }
    *out = (ds_image){job.rgb, job.width, job.height, job.focal_35mm};
    *orientation = job.orientation;
    return DS_OK;
}
