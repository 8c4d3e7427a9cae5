/*
 * test_da3_photo.c: Depth Anything 3's photo path. OpenCV's 8-bit
 * cv2.resize (INTER_CUBIC and INTER_AREA: photo/cv_resize.c) against the
 * values cv2 gave on random pictures (tests/data/cv_resize/, made by
 * tests/fixtures/make_cv_resize.py): every byte equal.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "photo/cv_resize.h"
#include "photo/da3_input.h"
#include "src/io/image.h"
#include "src/io/npy.h"
#include "tests/test.h"

/* An H x W x 3 .npy of byte values as bytes (malloc'd), or NULL. */
static uint8_t *read_bytes(const char *path, int *w, int *h) {
    ds_npy a;
    if (ds_npy_read(path, &a) != DS_OK || a.ndim != 3 || a.shape[2] != 3) {
        fprintf(stderr, "  %s: %s\n", path, ds_last_error());
        return NULL;
    }
    *h = (int)a.shape[0];
    *w = (int)a.shape[1];
    uint8_t *b = malloc((size_t)ds_npy_numel(&a));
    for (int64_t i = 0; b && i < ds_npy_numel(&a); i++)
        b[i] = (uint8_t)a.data[i];
    ds_npy_free(&a);
    return b;
}

static void check_case(const char *how, int sw, int sh, int dw, int dh) {
    char path[256];
    int w, h, ww, wh;
    snprintf(path, sizeof path, "tests/data/cv_resize/src_%dx%d.npy", sw, sh);
    uint8_t *src = read_bytes(path, &w, &h);
    snprintf(path, sizeof path, "tests/data/cv_resize/%s_%dx%d_to_%dx%d.npy", how, sw, sh, dw, dh);
    uint8_t *want = read_bytes(path, &ww, &wh);
    uint8_t *got = malloc((size_t)dw * dh * 3);
    CHECK(src && want && got && w == sw && h == sh && ww == dw && wh == dh);
    int rc = strcmp(how, "cubic") ? ds_cv_resize_area_u8(src, sw, sh, (size_t)sw * 3, got, dw, dh)
                                   : ds_cv_resize_cubic_u8(src, sw, sh, (size_t)sw * 3, got, dw, dh);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < (size_t)dw * dh * 3; i++)
        if (got[i] != want[i] && !bad++)
            first = i;
    printf("    %-5s %3dx%-3d -> %3dx%-3d %zu bytes differ\n", how, sw, sh, dw, dh, bad);
    CHECK(rc == 0);
    CHECK_MSG(!bad, "%s %dx%d -> %dx%d: %zu bytes differ, first at %zu: %d, cv2 %d", how, sw, sh, dw, dh, bad, first,
              got[first], want[first]);
    free(src);
    free(want);
    free(got);
}

TEST(cubic_matches_cv2) {
    check_case("cubic", 41, 31, 98, 73);
    check_case("cubic", 74, 55, 84, 56);
    check_case("cubic", 97, 61, 50, 70);
    check_case("cubic", 3, 2, 14, 14);
    check_case("cubic", 1, 1, 28, 14);
}

TEST(area_matches_cv2) {
    check_case("area", 80, 60, 63, 47);
    check_case("area", 100, 60, 50, 30);
    check_case("area", 99, 63, 33, 21);
    check_case("area", 75, 57, 70, 56);
    check_case("area", 97, 61, 97, 14);
    check_case("area", 5, 3, 1, 1);
}

/* The sizes of the official input processor (process_res 504, patch 14). */
TEST(input_sizes) {
    static const int cases[][6] = {
        {211, 157, 504, 375, 504, 378}, /* up by cubic, then 375 -> 378 */
        {640, 480, 504, 378, 504, 378}, /* one area resize */
        {504, 504, 504, 504, 504, 504}, /* nothing to do */
        {1008, 756, 504, 378, 504, 378},
        {157, 211, 375, 504, 378, 504}, /* portrait */
        {3000, 7, 504, 1, 504, 14},     /* a side that would be 0 goes to 14 */
        {1000, 21, 504, 11, 504, 14},   /* 10.584 -> 11 -> 14 (nearest, up) */
        {1000, 41, 504, 21, 504, 28},   /* 20.664 -> 21: a tie goes up */
        {2000, 3, 504, 1, 504, 14},     /* 0.756 -> 1 (max 1) */
        {505, 300, 504, 299, 504, 294}, /* 299.4 -> 299 -> 294 (nearest, down) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int w1, h1, w2, h2;
        ds_da3_input_sizes(cases[i][0], cases[i][1], 504, 14, &w1, &h1, &w2, &h2);
        CHECK_MSG(w1 == cases[i][2] && h1 == cases[i][3] && w2 == cases[i][4] && h2 == cases[i][5],
                  "%dx%d -> %dx%d -> %dx%d", cases[i][0], cases[i][1], w1, h1, w2, h2);
    }
    /* Python's round is half to even: 0.5 * ... lands on .5 exactly here */
    int w1, h1, w2, h2;
    ds_da3_input_sizes(1008, 5, 504, 14, &w1, &h1, &w2, &h2); /* 2.5 -> 2 */
    CHECK(h1 == 2 && h2 == 14);
    ds_da3_input_sizes(1008, 7, 504, 14, &w1, &h1, &w2, &h2); /* 3.5 -> 4 */
    CHECK(h1 == 4);
}

/* The reference photo to the network input of the official processor
 * (pipeline_211x157/net_input.npy: 4.4 MB, too large for tests/data, read
 * from ../shared when it is there). The reference ran OpenCV's PyPI wheel,
 * whose 8-bit INTER_CUBIC is Intel IPP's (photo/cv_resize.h): measured
 * 30,864 of 571,536 values (5.4%) off, by 2 levels at most (two resizes). */
TEST(reference_photo_to_net_input) {
    const char *ref = "../shared/reference/da3_small/pipeline_211x157/net_input.npy";
    ds_npy want;
    if (ds_npy_read(ref, &want) != DS_OK) {
        printf("  (no %s: skipped)\n", ref);
        return;
    }
    ds_image img;
    CHECK_OK(ds_image_read("tests/data/reference/da3_small/pipeline_211x157/image.png", 0, &img));
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const int plane = 504 * 378;
    float *x = malloc((size_t)3 * plane * sizeof *x);
    CHECK(x && ds_npy_numel(&want) == 3 * plane);
    CHECK(ds_da3_preprocess_rgb8(img.rgb, img.width, img.height, (size_t)img.width * 3, 504, 14, mean, std, x) == 0);
    int off = 0;
    double worst = 0;
    for (int i = 0; i < 3 * plane; i++) { /* back to levels: x * std + mean, times 255 */
        const int c = i / plane;
        const double a = ((double)x[i] * std[c] + mean[c]) * 255, b = ((double)want.data[i] * std[c] + mean[c]) * 255;
        off += fabs(a - b) > 0.01;
        worst = fmax(worst, fabs(a - b));
    }
    printf("    net_input: %d of %d values off, by %.0f levels at most\n", off, 3 * plane, worst);
    free(x);
    ds_npy_free(&want);
    ds_image_free(&img);
    CHECK(worst < 2.01 && off < 3 * plane / 16);
}

/* The metric pipeline's intrinsics and metres (reference
 * da3metric_large/pipeline_211x157/info.json): K of the 211x157 picture
 * (fx = fy = 211) through 504x375 and 504x378 is fx' 504, fy' 508.012756
 * (float32), and depth_m = depth x ((fx' + fy') / 2) / 300 takes the
 * reference's depth range to its metres range. */
TEST(metric_focal_and_metres) {
    const float fx = ds_da3_processed_focal(211.0f, 211, 504, 504), fy = ds_da3_processed_focal(211.0f, 157, 375, 378);
    CHECK_MSG(fx == 504.0f && fy == 508.01275634765625f, "fx' %.9g, fy' %.9g", (double)fx, (double)fy);
    const float s = ds_da3_metric_scale(fx, fy, 300.0f);
    CHECK(0.35115575790405273f * s == 0.5922901630401611f && 4.70088529586792f * s == 7.928926467895508f);
}

int main(void) {
    RUN(cubic_matches_cv2);
    RUN(area_matches_cv2);
    RUN(input_sizes);
    RUN(reference_photo_to_net_input);
    RUN(metric_focal_and_metres);
    return test_summary();
}
