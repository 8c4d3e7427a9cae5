/*
 * image_jpeg.c: JPEG decoding with libjpeg-turbo, set up as OpenCV 4.x's
 * JpegDecoder (modules/imgcodecs/src/grfmt_jpeg.cpp) sets it up for a 3-channel
 * result: default decompression parameters (islow IDCT, fancy upsampling),
 * libjpeg's own RGB output for 1- and 3-component files (OpenCV asks for BGR,
 * the same numbers in the other order), and CMYK output for 4-component files
 * (CMYK or YCCK), turned into RGB by OpenCV's rule (icvCvt_CMYK2BGR_8u_C4C3R
 * in modules/imgcodecs/src/utils.cpp): R = K - ((255 - C) * K >> 8), the same
 * for G from M and B from Y.
 *
 * The orientation comes from the first APP1 segment whatever it holds, past
 * its first 6 bytes ("Exif\0\0"), as in OpenCV 4.6's readHeader.
 *
 * Where OpenCV differs on purpose: libjpeg's warnings about missing or damaged
 * data (libjpeg fills in gray and goes on) end the decoding with an error, and
 * a progressive file with more than 500 scans is refused (as TurboJPEG's
 * TJFLAG_LIMITSCANS does), since every scan walks the whole image.
 */
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "base/error.h" /* ds_fail */
#include "src/io/image_codecs.h"

enum { MAX_SCANS = 500 };

typedef struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    const char *label;
    int64_t max_pixels;
    uint8_t *rgb, *cmyk_row;
    int width, height, orientation, focal_35mm;
    int too_many_scans;
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

static void on_error(j_common_ptr c) {
    jpeg_job *job = c->client_data;
    c->err->format_message(c, job->msg);
    longjmp(job->jmp, 1);
}

/* Warnings (level -1) that leave every pixel as encoded; any other warning
 * means data is missing or damaged and is an error here. Trace messages
 * (level >= 0) are ignored. Nothing is printed. */
static void on_message(j_common_ptr c, int level) {
    if (level >= 0)
        return;
    switch (c->err->msg_code) {
    case JWRN_EXTRANEOUS_DATA: /* stray bytes between segments, skipped */
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_NOT_SEQUENTIAL:
        return;
    default:
        on_error(c);
    }
}

static void no_output(j_common_ptr c) {
    (void)c;
}

static void on_progress(j_common_ptr c) {
    jpeg_job *job = c->client_data;
    if (((j_decompress_ptr)c)->input_scan_number > MAX_SCANS) {
        job->too_many_scans = 1;
        longjmp(job->jmp, 1);
    }
}

/* OpenCV's orientation: the first APP1 segment longer than 6 bytes, read from byte 6 on. */
static int app1_orientation(j_decompress_ptr c) {
    for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1)
            return m->data_length > 6 ? ds_exif_orientation(m->data + 6, m->data_length - 6) : 1;
    return 1;
}

/* The 35 mm focal length of the first APP1 segment that is EXIF. */
static int app1_focal_35mm(j_decompress_ptr c) {
    for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && !memcmp(m->data, "Exif\0\0", 6))
            return ds_exif_focal_35mm(m->data + 6, m->data_length - 6);
    return 0;
}

static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int width) {
    for (int x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        int k = cmyk[3];
        for (int i = 0; i < 3; i++)
            rgb[i] = (uint8_t)(k - ((255 - cmyk[i]) * k >> 8));
    }
}

static ds_status failure(jpeg_job *job, size_t len) {
    if (job->too_many_scans)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: progressive JPEG with more than %d scans",
                       job->label, MAX_SCANS);
    if (job->err.msg_code == JWRN_JPEG_EOF || job->err.msg_code == JERR_INPUT_EOF)
        return ds_fail(DS_ERR_FORMAT, "%s: truncated JPEG (%zu bytes)", job->label, len);
    return ds_fail(DS_ERR_FORMAT, "%s: cannot decode JPEG: %s", job->label, job->msg);
}

/* Everything that may longjmp. Its state lives in *job (the caller's object),
 * so nothing this function changes after setjmp is one of its own locals. */
static ds_status decode(jpeg_job *job, const uint8_t *data, size_t len) {
    j_decompress_ptr c = &job->cinfo;
    if (setjmp(job->jmp))
        return failure(job, len);
    jpeg_create_decompress(c);
    c->progress = &job->progress;
    jpeg_mem_src(c, data, (unsigned long)len);
    jpeg_save_markers(c, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(c, TRUE);
    if ((int64_t)c->image_width * (int64_t)c->image_height > job->max_pixels)
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: %ux%u JPEG is over the limit of %lld pixels",
                       job->label, (unsigned)c->image_width, (unsigned)c->image_height,
                       (long long)job->max_pixels);
    job->orientation = app1_orientation(c);
    job->focal_35mm = app1_focal_35mm(c);
    int cmyk = c->num_components == 4;
    c->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(c);
    if (c->output_components != (cmyk ? 4 : 3))
        return ds_fail(DS_ERR_INTERNAL, "%s: JPEG decoder gave %d components", job->label,
                       c->output_components);
    size_t stride = (size_t)c->output_width * 3;
    job->rgb = malloc(stride * c->output_height);
    job->cmyk_row = cmyk ? malloc((size_t)c->output_width * 4) : NULL;
    if (!job->rgb || (cmyk && !job->cmyk_row))
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %ux%u image", job->label,
                       (unsigned)c->output_width, (unsigned)c->output_height);
    while (c->output_scanline < c->output_height) {
        uint8_t *row = job->rgb + stride * c->output_scanline;
        JSAMPROW into = cmyk ? job->cmyk_row : row;
        if (jpeg_read_scanlines(c, &into, 1) != 1) /* a memory source never suspends */
            return ds_fail(DS_ERR_INTERNAL, "%s: JPEG decoder stalled", job->label);
        if (cmyk)
            cmyk_to_rgb(job->cmyk_row, row, (int)c->output_width);
    }
    jpeg_finish_decompress(c);
    job->width = (int)c->output_width;
    job->height = (int)c->output_height;
    return DS_OK;
}

ds_status ds_jpeg_decode(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                         ds_image *out, int *orientation) {
    memset(out, 0, sizeof *out);
    jpeg_job job = {.label = label, .max_pixels = max_pixels, .orientation = 1};
    job.cinfo.err = jpeg_std_error(&job.err);
    job.err.error_exit = on_error;
    job.err.emit_message = on_message;
    job.err.output_message = no_output;
    job.cinfo.client_data = &job;
    job.progress.progress_monitor = on_progress;
    ds_status s = decode(&job, data, len);
    jpeg_destroy_decompress(&job.cinfo);
    free(job.cmyk_row);
    if (s != DS_OK) {
        free(job.rgb);
        return s;
    }
    *out = (ds_image){job.rgb, job.width, job.height, job.focal_35mm};
    *orientation = job.orientation;
    return DS_OK;
}
