/*
 * test_image_io.c: photo decoding against what cv2.imread returns (fixtures
 * and expected pixels from tests/fixtures/make_images.py), hostile and
 * truncated files, the EXIF reader's bounds, and the PNG/PFM writers and
 * colormaps against run.py's outputs and OpenCV's tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h> /* before jpeglib.h */

#include <jpeglib.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/colormap.h"
#include "base/error.h"
#include "src/io/image.h"
#include "src/io/image_codecs.h" /* ds_exif_orientation */
#include "src/io/image_write.h"
#include "src/io/npy.h"
#include "tests/test.h"

#define IMAGES "tests/data/images/"
#define PIPELINE "tests/data/reference/midas_v21_small_256/pipeline_211x157/"

static const char *const PNGS[] = {
    "png_gray1",         "png_gray2",         "png_gray4",
    "png_gray8",         "png_gray16",        "png_gray8_trns",
    "png_gray_alpha8",   "png_gray_alpha16",  "png_rgb8",
    "png_rgb16",         "png_rgb8_trns",     "png_rgba8",
    "png_rgba16",        "png_palette8",      "png_palette4_trns",
    "png_palette1",      "png_rgb8_interlaced", "png_gray16_interlaced",
    "png_palette2_interlaced", "png_rgb8_gamma", "png_rgb8_exif6",
};

static const char *const JPEGS[] = {
    "jpeg_baseline_420", "jpeg_baseline_422", "jpeg_baseline_444", "jpeg_progressive",
    "jpeg_gray",         "jpeg_cmyk",         "jpeg_ycck",         "jpeg_no_dht",
    "jpeg_exif1",        "jpeg_exif2",        "jpeg_exif3",        "jpeg_exif4",
    "jpeg_exif5",        "jpeg_exif6",        "jpeg_exif7",        "jpeg_exif8",
    "jpeg_exif6_after_xmp", "jpeg_exif_bad_ifd",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static const char *tmp_dir(void) {
    static char dir[512];
    if (!dir[0]) {
        const char *base = getenv("DS_TEST_TMP");
        snprintf(dir, sizeof dir, "%s/image-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(dir))
            snprintf(dir, sizeof dir, "/tmp");
    }
    return dir;
}

static void tmp_path(char *out, size_t n, const char *name) {
    if (snprintf(out, n, "%s/%s", tmp_dir(), name) >= (int)n)
        out[0] = '\0'; /* too long: the test then fails on the empty path */
}

/* A binary PPM (P6, maxval 255) as the fixture script writes them. */
static uint8_t *read_ppm(const char *path, int *w, int *h) {
    size_t len;
    uint8_t *p = test_read_file(path, &len);
    int off = 0;
    if (!p || sscanf((const char *)p, "P6 %d %d 255%n", w, h, &off) != 2 || off == 0 ||
        (size_t)off + 1 + (size_t)*w * (size_t)*h * 3 != len) {
        free(p);
        return NULL;
    }
    memmove(p, p + off + 1, len - (size_t)off - 1);
    return p;
}

/* Decodes an exact-size copy (so reading past the end trips ASan). */
static ds_status decode_copy(const uint8_t *data, size_t len, const char *label, int64_t max_pixels,
                             ds_image *out) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    ds_status s = ds_image_decode(copy, len, label, max_pixels, out);
    free(copy);
    return s;
}

/* NULL if the fixture decodes to its .ppm, else what differs. */
static const char *matches_opencv(const char *name, const char *ext) {
    static char why[512];
    char path[256], ppm[256];
    snprintf(path, sizeof path, IMAGES "%s.%s", name, ext);
    snprintf(ppm, sizeof ppm, IMAGES "%s.ppm", name);
    int w, h;
    uint8_t *want = read_ppm(ppm, &w, &h);
    if (!want) {
        snprintf(why, sizeof why, "%s: missing or malformed", ppm);
        return why;
    }
    ds_image img;
    ds_status s = ds_image_read(path, 0, &img);
    why[0] = '\0';
    if (s != DS_OK) {
        snprintf(why, sizeof why, "%s", ds_last_error());
    } else if (img.width != w || img.height != h) {
        snprintf(why, sizeof why, "%s: %dx%d, OpenCV %dx%d", name, img.width, img.height, w, h);
    } else {
        for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++)
            if (img.rgb[i] != want[i]) {
                snprintf(why, sizeof why, "%s: pixel (%zu, %zu) channel %zu is %d, OpenCV %d", name,
                         i / 3 % (size_t)w, i / 3 / (size_t)w, i % 3, img.rgb[i], want[i]);
                break;
            }
    }
    ds_image_free(&img);
    free(want);
    return why[0] ? why : NULL;
}

/* A PNG's samples as stored (16-bit ones in host order), read with plain libpng. */
typedef struct raw_png {
    png_structp png;
    png_infop info;
    uint8_t *px;
    png_bytep *rows;
    png_uint_32 w, h;
    int depth, color;
} raw_png;

static int read_raw_png_into(raw_png *r, FILE *f) {
    if (setjmp(png_jmpbuf(r->png)))
        return 0;
    png_init_io(r->png, f);
    png_read_info(r->png, r->info);
    png_get_IHDR(r->png, r->info, &r->w, &r->h, &r->depth, &r->color, NULL, NULL, NULL);
    if (r->depth == 16)
        png_set_swap(r->png);
    png_read_update_info(r->png, r->info);
    size_t stride = png_get_rowbytes(r->png, r->info);
    r->px = malloc(stride * r->h);
    r->rows = malloc(sizeof *r->rows * r->h);
    for (png_uint_32 y = 0; y < r->h; y++)
        r->rows[y] = r->px + stride * y;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, NULL);
    return 1;
}

static uint8_t *read_raw_png(const char *path, int *w, int *h, int *depth, int *color) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    raw_png r = {0};
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    r.info = png_create_info_struct(r.png);
    int ok = read_raw_png_into(&r, f);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    fclose(f);
    free(r.rows);
    if (!ok) {
        free(r.px);
        return NULL;
    }
    *w = (int)r.w, *h = (int)r.h, *depth = r.depth, *color = r.color;
    return r.px;
}

/* The JPEG's DCT coefficients re-encoded losslessly (as jpegtran does) with
 * arithmetic coding, or with the given progressive scan script. Same
 * coefficients, so the decoded pixels must not change. Free with free(). */
static uint8_t *transcode(const char *path, int arith, const jpeg_scan_info *scans, int n_scans,
                          size_t *out_len) {
    size_t len;
    uint8_t *in = test_read_file(path, &len);
    if (!in)
        return NULL;
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    struct jpeg_error_mgr src_err, dst_err; /* libjpeg's default: print and exit */
    src.err = jpeg_std_error(&src_err);
    dst.err = jpeg_std_error(&dst_err);
    jpeg_create_decompress(&src);
    jpeg_create_compress(&dst);
    jpeg_mem_src(&src, in, (unsigned long)len);
    jpeg_read_header(&src, TRUE);
    jvirt_barray_ptr *coefficients = jpeg_read_coefficients(&src);
    jpeg_copy_critical_parameters(&src, &dst);
    dst.arith_code = arith ? TRUE : FALSE;
    dst.scan_info = scans;
    dst.num_scans = n_scans;
    unsigned char *out = NULL;
    unsigned long out_size = 0;
    jpeg_mem_dest(&dst, &out, &out_size);
    jpeg_write_coefficients(&dst, coefficients);
    jpeg_finish_compress(&dst);
    jpeg_destroy_compress(&dst);
    jpeg_finish_decompress(&src);
    jpeg_destroy_decompress(&src);
    free(in);
    *out_len = out_size;
    return out;
}

/* A progressive script for a one-component file: the DC scan, then each AC
 * coefficient alone, in `levels` successive-approximation passes. */
static int one_by_one_script(jpeg_scan_info *scans, int levels) {
    int n = 0;
    for (int k = 0; k < 64; k++)
        for (int pass = 0; pass < levels; pass++) {
            int al = levels - 1 - pass;
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, pass ? al + 1 : 0, al};
        }
    return n;
}

/* ---- decoding good files ---- */

TEST(png_kinds_decode_as_opencv) {
    for (size_t i = 0; i < COUNT(PNGS); i++) {
        const char *why = matches_opencv(PNGS[i], "png");
        CHECK_MSG(!why, "%s", why);
    }
}

TEST(jpeg_kinds_decode_as_opencv) {
    for (size_t i = 0; i < COUNT(JPEGS); i++) {
        const char *why = matches_opencv(JPEGS[i], "jpg");
        CHECK_MSG(!why, "%s", why);
    }
}

/* The eight orientations are the eight turns of the same picture. */
TEST(exif_orientations_turn_the_picture) {
    ds_image o[9];
    char path[256];
    for (int i = 1; i <= 8; i++) {
        snprintf(path, sizeof path, IMAGES "jpeg_exif%d.jpg", i);
        CHECK_OK(ds_image_read(path, 0, &o[i]));
    }
    int w = o[1].width, h = o[1].height;
    for (int i = 2; i <= 8; i++)
        CHECK(i >= 5 ? o[i].width == h && o[i].height == w : o[i].width == w && o[i].height == h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = o[1].rgb + ((size_t)y * w + x) * 3;
            /* where pixel (x, y) of the stored picture lands under each orientation */
            int at[9][2] = {{0, 0},         {x, y},         {w - 1 - x, y}, {w - 1 - x, h - 1 - y},
                            {x, h - 1 - y}, {y, x},         {h - 1 - y, x}, {h - 1 - y, w - 1 - x},
                            {y, w - 1 - x}};
            for (int i = 2; i <= 8; i++) {
                const uint8_t *q = o[i].rgb + ((size_t)at[i][1] * o[i].width + at[i][0]) * 3;
                CHECK_MSG(!memcmp(p, q, 3), "orientation %d, pixel (%d, %d)", i, x, y);
            }
        }
    for (int i = 1; i <= 8; i++)
        ds_image_free(&o[i]);
}

TEST(memory_and_file_decode_alike) {
    size_t len;
    uint8_t *data = test_read_file(IMAGES "jpeg_exif6.jpg", &len);
    CHECK(data);
    ds_image a, b;
    ds_status s = decode_copy(data, len, "mem", 0, &a);
    free(data);
    CHECK_OK(s);
    CHECK_OK(ds_image_read(IMAGES "jpeg_exif6.jpg", 0, &b));
    CHECK(a.width == b.width && a.height == b.height);
    CHECK(!memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3));
    ds_image_free(&a);
    ds_image_free(&b);
    CHECK(a.rgb == NULL && a.width == 0);
    ds_image_free(NULL);
}

/* The pipeline picture decodes to the pixels MiDaS's run.py started from. */
TEST(reference_picture_round_trips) {
    ds_image img;
    CHECK_OK(ds_image_read(PIPELINE "image.png", 0, &img));
    CHECK(img.width == 211 && img.height == 157);
    int w, h, depth, color;
    uint8_t *raw = read_raw_png(PIPELINE "image.png", &w, &h, &depth, &color);
    CHECK(raw && depth == 8 && color == PNG_COLOR_TYPE_RGB);
    CHECK(!memcmp(raw, img.rgb, (size_t)w * h * 3));
    free(raw);
    ds_image_free(&img);
}

/* Arithmetic coding (libjpeg-turbo decodes it; PIL cannot write it). */
TEST(arithmetic_jpeg_decodes_as_huffman) {
    size_t len;
    uint8_t *arith = transcode(IMAGES "jpeg_baseline_420.jpg", 1, NULL, 0, &len);
    CHECK(arith && memmem(arith, len, "\xff\xc9", 2)); /* SOF9: arithmetic, sequential */
    ds_image a, b;
    ds_status s = decode_copy(arith, len, "arith.jpg", 0, &a);
    free(arith);
    CHECK_OK(s);
    CHECK_OK(ds_image_read(IMAGES "jpeg_baseline_420.jpg", 0, &b));
    int same = a.width == b.width && a.height == b.height &&
               !memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3);
    ds_image_free(&a);
    ds_image_free(&b);
    CHECK(same);
}

/* 64 scans decode; 11 x 64 = 704 scans (each coefficient bit by bit) are refused. */
TEST(progressive_scan_limit) {
    static jpeg_scan_info scans[64 * 11];
    ds_image a, b;
    CHECK_OK(ds_image_read(IMAGES "jpeg_gray.jpg", 0, &b));
    size_t len;
    uint8_t *jpg = transcode(IMAGES "jpeg_gray.jpg", 0, scans, one_by_one_script(scans, 1), &len);
    CHECK(jpg);
    ds_status s = decode_copy(jpg, len, "64scans.jpg", 0, &a);
    free(jpg);
    int same = s == DS_OK && a.width == b.width && a.height == b.height &&
               !memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3);
    ds_image_free(&a);
    ds_image_free(&b);
    CHECK_OK(s);
    CHECK(same);
    jpg = transcode(IMAGES "jpeg_gray.jpg", 0, scans, one_by_one_script(scans, 11), &len);
    CHECK(jpg);
    s = decode_copy(jpg, len, "704scans.jpg", 0, &a);
    free(jpg);
    CHECK_FAILS(s, DS_ERR_UNSUPPORTED, "704scans.jpg: progressive JPEG with more than 500 scans");
}

/* ---- pixel limit ---- */

TEST(pixel_limit_is_exact_and_checked_first) {
    ds_image img;
    CHECK_OK(ds_image_read(IMAGES "png_rgb8.png", 13 * 11, &img));
    ds_image_free(&img);
    CHECK_FAILS(ds_image_read(IMAGES "png_rgb8.png", 13 * 11 - 1, &img), DS_ERR_UNSUPPORTED,
                "13x11 PNG is over the limit of 142 pixels");
    CHECK(img.rgb == NULL);
    CHECK_OK(ds_image_read(IMAGES "jpeg_baseline_420.jpg", 45 * 31, &img));
    ds_image_free(&img);
    CHECK_FAILS(ds_image_read(IMAGES "jpeg_baseline_420.jpg", 45 * 31 - 1, &img),
                DS_ERR_UNSUPPORTED, "45x31 JPEG is over the limit");
    /* 30 GB and 12.7 GB of pixels: refused from the header. Had the decoder
     * allocated first, the message would be about memory (or the data). */
    CHECK_FAILS(ds_image_read(IMAGES "huge_100000x100000.png", 0, &img), DS_ERR_UNSUPPORTED,
                "huge_100000x100000.png: 100000x100000 PNG is over the limit of 134217728 pixels");
    CHECK_FAILS(ds_image_read(IMAGES "huge_65000x65000.jpg", -1, &img), DS_ERR_UNSUPPORTED,
                "huge_65000x65000.jpg: 65000x65000 JPEG is over the limit of 134217728 pixels");
}

TEST(oversized_file_refused_unread) {
    char path[512];
    tmp_path(path, sizeof path, "sparse.png");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0);
    int ok = write(fd, "\x89PNG\r\n\x1a\n", 8) == 8 && ftruncate(fd, (off_t)65 << 20) == 0;
    close(fd);
    CHECK(ok);
    ds_image img;
    CHECK_FAILS(ds_image_read(path, 1, &img), DS_ERR_UNSUPPORTED,
                "more than any image within the pixel limit needs");
    unlink(path);
}

/* ---- hostile input ---- */

TEST(not_images_fail_with_one_line) {
    static const struct {
        const char *file;
        ds_status status;
        const char *needle;
    } cases[] = {
        {"text_named.jpg", DS_ERR_FORMAT, "text_named.jpg: not a PNG or JPEG image"},
        {"gif_image.gif", DS_ERR_UNSUPPORTED, "gif_image.gif: GIF image; only PNG and JPEG"},
        {"bmp_image.bmp", DS_ERR_UNSUPPORTED, "bmp_image.bmp: BMP image"},
        {"bad_idat_crc.png", DS_ERR_FORMAT, "bad_idat_crc.png: cannot decode PNG: IDAT: CRC error"},
        {"bad_idat_data.png", DS_ERR_FORMAT, "bad_idat_data.png: cannot decode PNG: IDAT: invalid"},
        {"bad_scan_marker.jpg", DS_ERR_FORMAT, "bad_scan_marker.jpg: cannot decode JPEG: Corrupt"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char path[256];
        snprintf(path, sizeof path, IMAGES "%s", cases[i].file);
        ds_image img = {(uint8_t *)1, 1, 1, 0};
        CHECK_FAILS(ds_image_read(path, 0, &img), cases[i].status, cases[i].needle);
        CHECK(img.rgb == NULL && img.width == 0 && !strchr(ds_last_error(), '\n'));
        CHECK(!strncmp(ds_last_error(), IMAGES, strlen(IMAGES)));
    }
}

TEST(files_that_are_not_there) {
    ds_image img;
    char path[512];
    tmp_path(path, sizeof path, "empty.jpg");
    CHECK(test_write_file(path, "", 0));
    CHECK_FAILS(ds_image_read(path, 0, &img), DS_ERR_FORMAT, "empty.jpg: empty file");
    CHECK_FAILS(ds_image_read(IMAGES, 0, &img), DS_ERR_IO, "images/: is a directory");
    CHECK_FAILS(ds_image_read(IMAGES "no_such.png", 0, &img), DS_ERR_IO,
                "no_such.png: cannot open: No such file or directory");
    CHECK_FAILS(ds_image_read("/dev/null", 0, &img), DS_ERR_IO, "/dev/null: not a regular file");
    /* root reads a mode-000 file anyway, so that case only runs for other users */
    if (geteuid() == 0) {
        printf("  note: running as root; the unreadable-file case is skipped\n");
        return;
    }
    tmp_path(path, sizeof path, "unreadable.png");
    size_t len;
    uint8_t *data = test_read_file(IMAGES "png_rgb8.png", &len);
    CHECK(data && test_write_file(path, data, len));
    free(data);
    CHECK(chmod(path, 0) == 0);
    CHECK_FAILS(ds_image_read(path, 0, &img), DS_ERR_IO,
                "unreadable.png: cannot open: Permission denied");
}

/* Every prefix of every good file fails, as truncated or as not an image. */
TEST(every_truncation_fails) {
    for (size_t i = 0; i < COUNT(PNGS) + COUNT(JPEGS); i++) {
        int png = i < COUNT(PNGS);
        char path[256];
        snprintf(path, sizeof path, IMAGES "%s.%s", png ? PNGS[i] : JPEGS[i - COUNT(PNGS)],
                 png ? "png" : "jpg");
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        CHECK(data);
        size_t step = len / 64 + 1, magic = png ? 8 : 3;
        for (size_t cut = 0; cut < len; cut++) {
            if (cut > 64 && cut + 16 < len && cut % step)
                continue;
            ds_image img;
            ds_status s = decode_copy(data, cut, "cut", 0, &img);
            const char *want = cut == 0 ? "cut: empty file"
                               : cut < magic ? "cut: not a PNG or JPEG image"
                                             : "cut: truncated";
            CHECK_MSG(s == DS_ERR_FORMAT && !strncmp(ds_last_error(), want, strlen(want)),
                      "%s cut at %zu of %zu: %s \"%s\"", path, cut, len, ds_status_string(s),
                      ds_last_error());
        }
        free(data);
    }
}

/* ---- EXIF reader ---- */

/* A little- or big-endian TIFF block whose IFD0 holds the given entries. */
static size_t tiff(uint8_t *out, int le, int n, const uint16_t (*e)[2], const uint32_t *value) {
    size_t at = 0;
#define PUT(v, bytes)                                                              \
    for (int b_ = 0; b_ < (bytes); b_++)                                           \
        out[at++] = (uint8_t)((uint32_t)(v) >> (8 * (le ? b_ : (bytes) - 1 - b_)));
    out[at++] = le ? 'I' : 'M';
    out[at++] = le ? 'I' : 'M';
    PUT(42, 2);
    PUT(8, 4);
    PUT(n, 2);
    for (int i = 0; i < n; i++) {
        PUT(e[i][0], 2);
        PUT(e[i][1], 2);
        PUT(1, 4);
        if (e[i][1] == 3) {
            PUT(value[i], 2);
            PUT(0, 2);
        } else {
            PUT(value[i], 4);
        }
    }
    PUT(0, 4);
#undef PUT
    return at;
}

TEST(exif_reader_follows_opencv) {
    uint8_t b[256];
    const uint16_t orient[][2] = {{0x0112, 3}};
    for (int le = 0; le < 2; le++) {
        size_t n = tiff(b, le, 1, orient, (const uint32_t[]){6});
        CHECK(ds_exif_orientation(b, n) == 6);
        /* every shorter block reads no orientation, and reads nothing past its end */
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, b, cut);
            int o = ds_exif_orientation(copy, cut);
            free(copy);
            CHECK_MSG(o == (cut >= 8 + 2 + 10 ? 6 : 1), "le %d cut %zu: %d", le, cut, o);
        }
    }
    /* the first orientation entry wins */
    const uint16_t two[][2] = {{0x0112, 3}, {0x0112, 3}};
    size_t n = tiff(b, 1, 2, two, (const uint32_t[]){8, 3});
    CHECK(ds_exif_orientation(b, n) == 8);
    /* a Make string whose data lies outside the block stops the walk before Orientation... */
    const uint16_t make_first[][2] = {{0x010F, 2}, {0x0112, 3}};
    n = tiff(b, 1, 2, make_first, (const uint32_t[]){5000, 6});
    b[8 + 2 + 4] = 10; /* Make's count: 10 bytes, so its value is an offset (5000) */
    CHECK(ds_exif_orientation(b, n) == 1);
    /* ...but not after it */
    const uint16_t make_after[][2] = {{0x0112, 3}, {0x010F, 2}};
    n = tiff(b, 1, 2, make_after, (const uint32_t[]){6, 5000});
    b[8 + 2 + 12 + 4] = 10;
    CHECK(ds_exif_orientation(b, n) == 6);
    /* an XResolution rational out of bounds stops the walk as well */
    const uint16_t xres_first[][2] = {{0x011A, 5}, {0x0112, 3}};
    n = tiff(b, 0, 2, xres_first, (const uint32_t[]){0xFFFFFFF8u, 6});
    CHECK(ds_exif_orientation(b, n) == 1);
    /* unknown tags are skipped unread */
    const uint16_t unknown_first[][2] = {{0x9999, 4}, {0x0112, 3}};
    n = tiff(b, 0, 2, unknown_first, (const uint32_t[]){0xFFFFFFF8u, 7});
    CHECK(ds_exif_orientation(b, n) == 7);
    /* any byte-order mark but "II" reads big-endian, as in OpenCV */
    n = tiff(b, 0, 1, orient, (const uint32_t[]){5});
    b[0] = 'X', b[1] = 'Y';
    CHECK(ds_exif_orientation(b, n) == 5);
    CHECK(ds_exif_orientation(NULL, 0) == 1);
}

/* FocalLengthIn35mmFilm: IFD0's Exif pointer (0x8769) to an IFD with 0xA405. */
TEST(exif_focal_length_and_field_of_view) {
    static const uint8_t le[] = {'I', 'I', 0x2a, 0, 8, 0, 0, 0,
                                 1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0,
                                 1, 0, 0x05, 0xa4, 3, 0, 1, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t be[] = {'M', 'M', 0, 0x2a, 0, 0, 0, 8,
                                 0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0,
                                 0, 1, 0xa4, 0x05, 0, 3, 0, 0, 0, 1, 0, 50, 0, 0, 0, 0, 0, 0};
    CHECK(ds_exif_focal_35mm(le, sizeof le) == 28 && ds_exif_focal_35mm(be, sizeof be) == 50);
    CHECK(ds_exif_orientation(le, sizeof le) == 1);
    /* a shorter block reads the value once its two bytes are in (offset 36), and nothing past its end */
    for (size_t cut = 0; cut < sizeof le; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, le, cut);
        int f = ds_exif_focal_35mm(copy, cut);
        free(copy);
        CHECK_MSG(f == (cut >= 38 ? 28 : 0), "cut %zu: %d", cut, f);
    }
    /* a 3:2 photo's long side is the full frame's 36 mm: 50 mm sees 2 atan(18 / 50) */
    ds_image img = {NULL, 300, 200, 50};
    CHECK(fabsf(ds_image_fov_deg(&img) - 39.5977f) < 1e-3f);
    img.focal_35mm = 0;
    CHECK(ds_image_fov_deg(&img) == 0.0f);
}

/* ---- writers ---- */

TEST(pfm_matches_run_py_byte_for_byte) {
    ds_npy depth;
    CHECK_OK(ds_npy_read(PIPELINE "depth.npy", &depth));
    CHECK(depth.ndim == 2 && depth.shape[0] == 157 && depth.shape[1] == 211);
    char path[512];
    tmp_path(path, sizeof path, "depth.pfm");
    ds_status s = ds_pfm_write(path, depth.data, 211, 157);
    ds_npy_free(&depth);
    CHECK_OK(s);
    size_t got_len, want_len;
    uint8_t *got = test_read_file(path, &got_len), *want = test_read_file(PIPELINE "depth.pfm", &want_len);
    int same = got && want && got_len == want_len && !memcmp(got, want, want_len);
    free(got);
    free(want);
    CHECK_MSG(same, "%s differs from run.py's depth.pfm (%zu vs %zu bytes)", path, got_len,
              want_len);
    CHECK_FAILS(ds_pfm_write(path, NULL, 0, 3), DS_ERR_INVALID_ARGUMENT, "cannot write a 0x3 PFM");
}

TEST(png16_write_keeps_run_py_values) {
    int w, h, depth, color;
    uint8_t *want = read_raw_png(PIPELINE "depth16.png", &w, &h, &depth, &color);
    CHECK(want && depth == 16 && color == PNG_COLOR_TYPE_GRAY && w == 211 && h == 157);
    char path[512];
    tmp_path(path, sizeof path, "depth16.png");
    ds_status s = ds_png_write(path, DS_PNG_GRAY16, want, w, h);
    int w2 = 0, h2 = 0, d2 = 0, c2 = 0;
    uint8_t *got = s == DS_OK ? read_raw_png(path, &w2, &h2, &d2, &c2) : NULL;
    int same = got && w2 == w && h2 == h && d2 == 16 && c2 == PNG_COLOR_TYPE_GRAY &&
               !memcmp(got, want, (size_t)w * h * 2);
    free(want);
    free(got);
    CHECK_OK(s);
    CHECK(same);
}

TEST(png8_writes_read_back) {
    enum { W = 256, H = 3 };
    uint8_t gray[W * H], rgb[W * H * 3];
    for (int i = 0; i < W * H; i++)
        gray[i] = (uint8_t)(i * 7);
    ds_colormap_apply(DS_COLORMAP_TURBO, gray, W * H, rgb);
    char path[512];
    int w, h, depth, color;
    tmp_path(path, sizeof path, "gray8.png");
    CHECK_OK(ds_png_write(path, DS_PNG_GRAY8, gray, W, H));
    uint8_t *got = read_raw_png(path, &w, &h, &depth, &color);
    int same = got && w == W && h == H && depth == 8 && color == PNG_COLOR_TYPE_GRAY &&
               !memcmp(got, gray, sizeof gray);
    free(got);
    CHECK(same);
    tmp_path(path, sizeof path, "rgb8.png");
    CHECK_OK(ds_png_write(path, DS_PNG_RGB8, rgb, W, H));
    got = read_raw_png(path, &w, &h, &depth, &color);
    same = got && w == W && h == H && depth == 8 && color == PNG_COLOR_TYPE_RGB &&
           !memcmp(got, rgb, sizeof rgb);
    free(got);
    CHECK(same);
    /* and our own reader gets the same pixels back */
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    same = img.width == W && img.height == H && !memcmp(img.rgb, rgb, sizeof rgb);
    ds_image_free(&img);
    CHECK(same);
}

TEST(writers_fail_cleanly) {
    uint8_t px[4] = {0};
    char path[512];
    tmp_path(path, sizeof path, "no_such_dir/x.png");
    CHECK_FAILS(ds_png_write(path, DS_PNG_GRAY8, px, 2, 2), DS_ERR_IO, "x.png: cannot create");
    tmp_path(path, sizeof path, "no_such_dir/x.pfm");
    CHECK_FAILS(ds_pfm_write(path, (const float *)px, 1, 1), DS_ERR_IO, "x.pfm: cannot create");
    tmp_path(path, sizeof path, "bad.png");
    CHECK_FAILS(ds_png_write(path, DS_PNG_GRAY8, px, 0, 2), DS_ERR_INVALID_ARGUMENT,
                "bad.png: cannot write a 0x2 PNG");
    CHECK(access(path, F_OK) != 0 && errno == ENOENT);
}

/* ---- colormaps ---- */

TEST(colormaps_match_opencv) {
    uint8_t ramp[256], got[256 * 3];
    for (int i = 0; i < 256; i++)
        ramp[i] = (uint8_t)i;
    static const struct {
        ds_colormap map;
        const char *file;
    } maps[] = {{DS_COLORMAP_INFERNO, IMAGES "colormap_inferno.rgb"},
                {DS_COLORMAP_TURBO, IMAGES "colormap_turbo.rgb"}};
    for (size_t m = 0; m < COUNT(maps); m++) {
        size_t len;
        uint8_t *want = test_read_file(maps[m].file, &len);
        CHECK(want && len == sizeof got);
        ds_colormap_apply(maps[m].map, ramp, 256, got);
        int bad = -1;
        for (int i = 0; i < 256 && bad < 0; i++)
            if (memcmp(got + i * 3, want + i * 3, 3))
                bad = i;
        free(want);
        CHECK_MSG(bad < 0, "%s: value %d differs", maps[m].file, bad);
    }
    ds_colormap_apply(DS_COLORMAP_GRAY, ramp, 256, got);
    for (int i = 0; i < 256; i++)
        CHECK(got[i * 3] == i && got[i * 3 + 1] == i && got[i * 3 + 2] == i);
    ds_colormap c;
    for (int i = 0; i < DS_COLORMAP_COUNT; i++) {
        CHECK_OK(ds_colormap_from_name(ds_colormap_name((ds_colormap)i), &c));
        CHECK(c == (ds_colormap)i);
    }
    CHECK(ds_colormap_name(DS_COLORMAP_COUNT) == NULL);
    CHECK_FAILS(ds_colormap_from_name("jet", &c), DS_ERR_INVALID_ARGUMENT,
                "unknown colormap 'jet' (gray, inferno or turbo)");
}

int main(void) {
    RUN(png_kinds_decode_as_opencv);
    RUN(jpeg_kinds_decode_as_opencv);
    RUN(exif_orientations_turn_the_picture);
    RUN(memory_and_file_decode_alike);
    RUN(reference_picture_round_trips);
    RUN(arithmetic_jpeg_decodes_as_huffman);
    RUN(progressive_scan_limit);
    RUN(pixel_limit_is_exact_and_checked_first);
    RUN(oversized_file_refused_unread);
    RUN(not_images_fail_with_one_line);
    RUN(files_that_are_not_there);
    RUN(every_truncation_fails);
    RUN(exif_reader_follows_opencv);
    RUN(exif_focal_length_and_field_of_view);
    RUN(pfm_matches_run_py_byte_for_byte);
    RUN(png16_write_keeps_run_py_values);
    RUN(png8_writes_read_back);
    RUN(writers_fail_cleanly);
    RUN(colormaps_match_opencv);
    return test_summary();
}
