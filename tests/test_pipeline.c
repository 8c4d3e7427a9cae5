/*
 * test_pipeline.c: the whole run.py path against the PyTorch references of
 * tests/data/reference/<model>/pipeline_211x157: decoding, the network input
 * (resize + normalization), the depth map at the photo's size, and the PFM
 * and PNG files run.py writes. Also run.py's network-size rule on awkward
 * photo sizes.
 *
 * And Depth Anything V2's own path (infer_image), below; and the depth
 * map's resizes back to the photo (PyTorch bicubic and aligned bilinear,
 * blocked by rows and columns) bit for bit the per-pixel formula, on sizes
 * that cross their blocks, up and down, with 1 and 3 threads.
 *
 * Tolerances: relative L2 <= 1e-4 on float tensors (the reference README;
 * the synthetic LeViT's depth map 3x PyTorch's own float32 error, see
 * tests/ref_case.h);
 * PNG pixels within 1 level (truncation moves a value across an integer for a
 * tiny float difference) plus the levels the measured float difference spans;
 * PFM identical in layout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/depth_outputs.h"
#include "depthsolve.h"
#include "src/io/image.h"
#include "src/io/image_write.h"
#include "src/io/npy.h"
#include "base/bilinear.h" /* ds_bilinear_coord */
#include "photo/cubic.h"    /* ds_torch_taps */
#include "photo/preprocess.h"
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/ref_case.h" /* ref_case_pipeline_bound */
#include "tests/test.h"

static const char *tmp_dir(void) {
    const char *d = getenv("DS_TEST_TMP");
    return d ? d : "/tmp";
}

/* Reads a 16-bit or 8-bit gray PNG written by run.py into ints (libpng); an
 * 8-bit RGB one (Depth Anything's run.py repeats the gray value x3) by its
 * first channel. */
#include <png.h>
static int *read_gray_png(const char *path, int *w, int *h, int *bits) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return NULL;
    *bits = (img.format & PNG_FORMAT_FLAG_LINEAR) ? 16 : 8;
    const size_t ch = *bits == 8 && (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    img.format = *bits == 16 ? PNG_FORMAT_LINEAR_Y : ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t n = (size_t)img.width * img.height;
    void *buf = malloc(n * 2 * ch);
    int *out = malloc(n * sizeof *out);
    if (!buf || !out || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = *bits == 16 ? ((uint16_t *)buf)[i] : ((uint8_t *)buf)[i * ch];
    free(buf);
    *w = (int)img.width;
    *h = (int)img.height;
    return out;
}

static int max_png_diff(const char *a, const char *b, int *n_diff) {
    int wa, ha, ba, wb, hb, bb;
    int *pa = read_gray_png(a, &wa, &ha, &ba), *pb = read_gray_png(b, &wb, &hb, &bb);
    int worst = -1;
    *n_diff = 0;
    if (pa && pb && wa == wb && ha == hb && ba == bb) {
        worst = 0;
        for (int i = 0; i < wa * ha; i++) {
            int d = abs(pa[i] - pb[i]);
            worst = d > worst ? d : worst;
            *n_diff += d != 0;
        }
    }
    free(pa);
    free(pb);
    return worst;
}

static int same_file_header(const char *a, const char *b, size_t n) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    char ba[64] = {0}, bb[64] = {0};
    int same = fa && fb && fread(ba, 1, n, fa) == n && fread(bb, 1, n, fb) == n && !memcmp(ba, bb, n);
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void check_pipeline(const char *arch) {
    char dir[256], path[600], model[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/pipeline_211x157", arch);
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(path, sizeof path, "%s/image.png", dir);
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    CHECK(img.width == 211 && img.height == 157);
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));

    /* network input: size rule, cubic resize, normalization (the BEiT cases
     * keep no net_input.npy here, tests/data/README.md: the code the other
     * cases check makes it) */
    ds_npy ref_in = {0}, ref_depth;
    int nw, nh;
    CHECK_OK(ds_engine_input_size(e, img.width, img.height, NULL, &nw, &nh));
    float *x = malloc((size_t)3 * nw * nh * sizeof *x);
    snprintf(path, sizeof path, "%s/net_input.npy", dir);
    if (access(path, R_OK) == 0) {
        CHECK_OK(ds_npy_read(path, &ref_in));
        CHECK_MSG(ref_in.shape[2] == nh && ref_in.shape[3] == nw, "net input %dx%d, reference %lldx%lld",
                  nh, nw, (long long)ref_in.shape[2], (long long)ref_in.shape[3]);
        CHECK_OK(ds_engine_prepare_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, nw,
                                        nh, x));
        double e_in = op_rel_l2(x, ref_in.data, (size_t)3 * nw * nh);
        printf("    %s net_input rel L2 %.2e\n", arch, e_in);
        CHECK_MSG(e_in <= 1e-4, "net_input relative L2 %.3g", e_in);
    }

    /* depth at the photo's size */
    snprintf(path, sizeof path, "%s/depth.npy", dir);
    CHECK_OK(ds_npy_read(path, &ref_depth));
    size_t n = (size_t)img.width * img.height;
    float *depth = malloc(n * sizeof *depth);
    CHECK_OK(ds_engine_solve_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, NULL,
                                  depth));
    double e_d = op_rel_l2(depth, ref_depth.data, n);
    snprintf(path, sizeof path, "tests/data/reference/%s", arch);
    const double bound = ref_case_pipeline_bound(path);
    printf("    %s depth rel L2 %.2e (bound %.1e)\n", arch, e_d, bound);
    CHECK_MSG(e_d <= bound, "depth relative L2 %.3g", e_d);

    /* the files run.py writes */
    ds_output_opts o = {.dir = tmp_dir(), .model_name = arch,
                        .formats = DS_OUT_PFM | DS_OUT_PNG16 | DS_OUT_PNG8,
                        .colormap = DS_COLORMAP_GRAY};
    void *scratch = malloc(n * 8);
    float lo, hi;
    ds_depth_range(depth, n, &lo, &hi);
    CHECK_OK(ds_write_float_outputs(&o, "pipe", depth, img.width, img.height));
    CHECK_OK(ds_write_png_outputs(&o, "pipe", depth, img.width, img.height, lo, hi, NULL, scratch));
    /* PNG levels can differ by one from truncation, plus however many levels
     * lie between the two normalized depths: each map is normalized by its
     * own min and max (run.py's), so a float difference moves the range as
     * well as the pixel (reference float32 rounding alone is up to 3.1e-5
     * relative: DPT-Hybrid). Each writer's level, max_val (d - lo) / (hi -
     * lo) in float32, is off by at most 3 roundings: 0.012 of a 16-bit
     * level, twice that for the two. */
    float ref_lo, ref_hi;
    ds_depth_range(ref_depth.data, n, &ref_lo, &ref_hi);
    double max_abs = 0, max_norm = 0;
    for (size_t i = 0; i < n; i++) {
        max_abs = fmax(max_abs, fabs((double)depth[i] - ref_depth.data[i]));
        const double ours = ((double)depth[i] - lo) / ((double)hi - lo);
        const double theirs = ((double)ref_depth.data[i] - ref_lo) / ((double)ref_hi - ref_lo);
        max_norm = fmax(max_norm, fabs(ours - theirs));
    }
    int bound16 = 1 + (int)(65535.0 * max_norm + 0.025);
    int bound8 = 1 + (int)(255.0 * max_norm + 0.025);
    char mine[600], ref[600];
    int n_diff;
    ds_output_path(&o, "pipe", DS_OUT_PNG16, mine, sizeof mine);
    snprintf(ref, sizeof ref, "%s/depth16.png", dir);
    int d16 = max_png_diff(mine, ref, &n_diff);
    printf("    %s png16 max diff %d (%d pixels differ; bound %d from max |depth error| %.3g, normalized %.3g)\n",
           arch, d16, n_diff, bound16, max_abs, max_norm);
    CHECK_MSG(d16 >= 0 && d16 <= bound16, "16-bit PNG differs by %d > %d", d16, bound16);
    remove(mine);
    ds_output_path(&o, "pipe", DS_OUT_PNG8, mine, sizeof mine);
    snprintf(ref, sizeof ref, "%s/depth8.png", dir);
    int d8 = max_png_diff(mine, ref, &n_diff);
    printf("    %s png8 max diff %d (%d pixels differ; bound %d)\n", arch, d8, n_diff, bound8);
    CHECK_MSG(d8 >= 0 && d8 <= bound8, "8-bit PNG differs by %d > %d", d8, bound8);
    remove(mine);
    ds_output_path(&o, "pipe", DS_OUT_PFM, mine, sizeof mine);
    snprintf(ref, sizeof ref, "%s/depth.pfm", dir);
    const long header = 21; /* "Pf\n" "211 157\n" "-1.000000\n" */
    if (access(ref, R_OK) == 0) {
        CHECK(same_file_header(mine, ref, (size_t)header));
    } else { /* the v3.1 cases have depth.npy only: run.py's header for this size */
        snprintf(ref, sizeof ref, "%s/pfm_header", tmp_dir());
        CHECK(test_write_file(ref, "Pf\n211 157\n-1.000000\n", (size_t)header));
        CHECK(same_file_header(mine, ref, (size_t)header));
        remove(ref);
    }
    FILE *f = fopen(mine, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    CHECK(ftell(f) == header + (long)(n * 4));
    float *bottom_up = malloc(n * 4);
    fseek(f, header, SEEK_SET);
    CHECK(fread(bottom_up, 4, n, f) == n);
    fclose(f);
    for (int y = 0; y < img.height; y++) /* rows bottom-up: row 0 of the file is the last */
        CHECK(!memcmp(bottom_up + (size_t)y * img.width,
                      depth + (size_t)(img.height - 1 - y) * img.width, (size_t)img.width * 4));
    remove(mine);
    free(bottom_up);
    free(scratch);
    free(depth);
    free(x);
    ds_npy_free(&ref_in);
    ds_npy_free(&ref_depth);
    ds_engine_free(e);
    ds_image_free(&img);
}

TEST(small_pipeline_matches_run_py) { check_pipeline("midas_v21_small_256"); }
TEST(v21_384_pipeline_matches_run_py) { check_pipeline("midas_v21_384"); }
TEST(dpt_hybrid_pipeline_matches_run_py) { check_pipeline("dpt_hybrid_384"); }
TEST(dpt_large_pipeline_matches_run_py) { check_pipeline("dpt_large_384"); }
TEST(dpt_levit_pipeline_matches_run_py) { check_pipeline("dpt_levit_224"); }
/* run.py stretches every photo to Swin's one size (keep_aspect_ratio=False) */
TEST(swin2_tiny_pipeline_matches_run_py) { check_pipeline("dpt_swin2_tiny_256"); }
/* 211x157 to 512x384 (24 x 32 patches) and 384x288 (18 x 24): the bias resized */
TEST(beit_large_512_pipeline_matches_run_py) { check_pipeline("dpt_beit_large_512"); }
TEST(beit_base_384_pipeline_matches_run_py) { check_pipeline("dpt_beit_base_384"); }

static void size_is(int w, int h, int target, int upper, int keep, int want_w, int want_h) {
    int nw, nh;
    ds_net_input_size(w, h, target, 32, upper, keep, &nw, &nh);
    CHECK_MSG(nw == want_w && nh == want_h, "%dx%d (target %d, %s%s) -> %dx%d, wanted %dx%d", w,
              h, target, upper ? "upper_bound" : "minimal", keep ? "" : ", square", nw, nh, want_w,
              want_h);
}

TEST(network_size_rule_follows_run_py) {
    size_is(1920, 1080, 256, 1, 1, 256, 128); /* 144 -> 4.5 -> 4 (half to even) */
    size_is(1920, 1080, 384, 0, 1, 672, 384); /* DPT: the scale nearest 1 */
    size_is(1080, 1920, 256, 1, 1, 128, 256); /* portrait */
    size_is(211, 157, 256, 1, 1, 256, 192);
    size_is(211, 157, 384, 0, 1, 384, 288);
    size_is(4000, 3000, 384, 1, 1, 384, 288);
    size_is(640, 480, 384, 1, 1, 384, 288);
    size_is(1920, 1080, 384, 1, 0, 384, 384); /* --square */
    size_is(1920, 1080, 512, 0, 1, 896, 512); /* --height 512 */
    size_is(1, 1, 256, 1, 1, 256, 256);       /* tiny photos scale up */
    size_is(7, 3, 384, 0, 1, 384, 160);
    size_is(5000, 2, 256, 1, 1, 256, 32);     /* 0.1 rows would be 0: one multiple */
    size_is(2, 5000, 384, 0, 1, 32, 384);
}

TEST(tiny_and_extreme_photos_run) {
    char model[600];
    snprintf(model, sizeof model, "%s/midas_v21_small_256.gguf", test_models_dir());
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    static const int sizes[][2] = {{1, 1}, {3, 2}, {2, 3}, {97, 13}, {13, 97}, {1000, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        uint8_t *rgb = malloc((size_t)w * h * 3);
        float *d = malloc((size_t)w * h * sizeof *d);
        for (int i = 0; i < w * h * 3; i++)
            rgb[i] = (uint8_t)(i * 37);
        CHECK_OK(ds_engine_solve_rgb8(e, rgb, w, h, (size_t)w * 3, NULL, d));
        for (int i = 0; i < w * h; i++)
            CHECK_MSG(isfinite(d[i]), "%dx%d: depth[%d] = %g", w, h, i, d[i]);
        free(rgb);
        free(d);
    }
    ds_solve_params sp = ds_solve_default_params();
    sp.height = 20;
    int nw, nh;
    CHECK_FAILS(ds_engine_input_size(e, 10, 10, &sp, &nw, &nh), DS_ERR_INVALID_ARGUMENT, "32 to 8192");
    ds_engine_free(e);
}

/* Depth Anything V2's photo path (infer_image): the network size rule
 * (lower_bound: short side 518, multiples of 14, NumPy's half to even); the
 * metric model's path at 518x700 (the bilinear, align_corners=True resize
 * back, metres) and the 8-bit PNG of its run.py (near is bright for every
 * model here: the reference inverted). Under the sanitizers (slow) it runs
 * at --input-size 70 and is checked for its shapes and ranges. The
 * relative model's path through `depthsolve depth`: tests/cli_dav2.sh. */
/* The synthetic model of `arch` on the CPU. */
static ds_status open_cpu(const char *arch, ds_engine **e) {
    char model[512];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    return ds_engine_create(&p, e);
}

TEST(dav2_network_size_follows_infer_image) {
    /* photo w x h, target, keep aspect -> network w x h (util/transform.py Resize, lower_bound) */
    static const int cases[][7] = {
        {211, 157, 518, 1, 700, 518},  /* the reference photo */
        {640, 480, 518, 1, 686, 518},  /* 690.7 -> 49.33 multiples -> 686 */
        {300, 120, 518, 1, 1288, 518}, /* 1295 / 14 = 92.5 -> 92 (half to even; C round: 1302) */
        {120, 300, 518, 1, 518, 1288}, /* portrait */
        {518, 518, 518, 1, 518, 518},  /* the training size: the embedding as stored */
        {1, 1, 518, 1, 518, 518},      /* a pixel */
        {1000, 999, 518, 1, 518, 518}, /* 518.5 -> 518; the short side 518 */
        {211, 157, 70, 1, 98, 70},     /* --input-size 70: 94.1 -> 7 multiples */
        {211, 157, 518, 0, 518, 518},  /* --square */
        {4000, 10, 14, 1, 5600, 14},   /* a long strip: scale 1.4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        int w, h;
        ds_net_input_size_lower_bound(c[0], c[1], c[2], 14, c[3], &w, &h);
        CHECK_MSG(w == c[4] && h == c[5], "%dx%d at %d%s: %dx%d, wanted %dx%d", c[0], c[1], c[2],
                  c[3] ? "" : " square", w, h, c[4], c[5]);
    }
    /* through the engine, with its checks */
    ds_engine *e;
    CHECK_OK(open_cpu("depth_anything_v2_vits", &e));
    ds_model_info info;
    CHECK_OK(ds_engine_model_info(e, &info));
    CHECK(info.resize_lower_bound && !info.resize_upper_bound && info.input_multiple == 14 && info.net_size == 518);
    CHECK(info.depth_resize == DS_DEPTH_RESIZE_BILINEAR_ALIGNED && info.quantity == DS_DEPTH_RELATIVE_INVERSE);
    int w, h;
    CHECK_OK(ds_engine_input_size(e, 300, 120, NULL, &w, &h));
    CHECK(w == 1288 && h == 518);
    ds_solve_params sp = ds_solve_default_params();
    sp.height = 13;
    CHECK_FAILS(ds_engine_input_size(e, 300, 120, &sp, &w, &h), DS_ERR_INVALID_ARGUMENT, "must be 14 to 8190");
    sp.height = 8192; /* would round up to 8204 */
    CHECK_FAILS(ds_engine_input_size(e, 300, 120, &sp, &w, &h), DS_ERR_INVALID_ARGUMENT, "must be 14 to 8190");
    /* a long thin photo: the short side at 518 makes the long one 2072000, refused before any allocation */
    CHECK_FAILS(ds_engine_input_size(e, 4000, 1, NULL, &w, &h), DS_ERR_SHAPE,
                "a 4000x1 photo makes a 518x2072000 (HxW) network input for depth_anything_v2_vits, over 8192");
    CHECK_OK(ds_engine_input_size(e, 8190 * 10 / 518, 10, NULL, &w, &h)); /* 158 x 10: 8190 wide, the limit */
    CHECK(w <= 8192 && h == 518);
    ds_engine_free(e);
}

/* The photo path of `arch` on the reference photo; with `full`, against the
 * reference files. */
static void check_dav2_pipeline(const char *arch, int full) {
    char dir[256], path[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/pipeline_211x157", arch);
    snprintf(path, sizeof path, "%s/image.png", dir);
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    ds_engine *e;
    CHECK_OK(open_cpu(arch, &e));
    ds_model_info info;
    CHECK_OK(ds_engine_model_info(e, &info));
    ds_solve_params sp = ds_solve_default_params();
    sp.height = full ? 0 : 70;
    int nw, nh;
    CHECK_OK(ds_engine_input_size(e, img.width, img.height, &sp, &nw, &nh));
    CHECK_MSG(nw == (full ? 700 : 98) && nh == (full ? 518 : 70), "network %dx%d", nw, nh);
    const size_t nn = (size_t)nw * nh, n = (size_t)img.width * img.height;
    float *x = malloc(3 * nn * sizeof *x), *y = malloc(nn * sizeof *y), *depth = malloc(n * sizeof *depth);
    CHECK(x && y && depth);
    CHECK_OK(ds_engine_prepare_rgb8(e, img.rgb, img.width, img.height, (size_t)img.width * 3, nw, nh, x));
    CHECK_OK(ds_engine_run(e, x, nh, nw, y));
    ds_resize_depth_with(info.depth_resize, y, nw, nh, depth, img.width, img.height, 2);
    const int metric = info.quantity == DS_DEPTH_METRIC;
    float lo, hi;
    ds_depth_range(depth, n, &lo, &hi);
    printf("    %s at %dx%d: depth %.4g .. %.4g%s\n", arch, nw, nh, (double)lo, (double)hi, metric ? " m" : "");
    CHECK(lo >= 0.0f && hi > lo && (!metric || hi < info.max_depth));
    if (full) {
        ds_npy ref;
        snprintf(path, sizeof path, "%s/depth.npy", dir);
        CHECK_OK(ds_npy_read(path, &ref));
        double e_d = op_rel_l2(depth, ref.data, n), max_abs = 0;
        for (size_t i = 0; i < n; i++)
            max_abs = fmax(max_abs, fabs((double)depth[i] - ref.data[i]));
        printf("    %s depth rel L2 %.2e (largest difference %.2g)\n", arch, e_d, max_abs);
        ds_npy_free(&ref);
        CHECK_MSG(e_d <= 1e-4, "depth relative L2 %.3g", e_d);
        /* run.py --pred-only --grayscale: trunc(255 (d - min) / (max - min)), far bright
         * for metres; ours keeps near bright, so the metric one is the inverse */
        ds_output_opts o = {.dir = tmp_dir(), .model_name = arch, .formats = DS_OUT_PNG8,
                            .colormap = DS_COLORMAP_GRAY, .metric = metric};
        void *scratch = malloc(n * 8);
        CHECK_OK(ds_write_png_outputs(&o, "dav2", depth, img.width, img.height, lo, hi, NULL, scratch));
        free(scratch);
        char ours[700];
        snprintf(ours, sizeof ours, "%s/dav2-%s.png", tmp_dir(), arch);
        snprintf(path, sizeof path, "%s/depth8.png", dir);
        int wa, ha, wb, hb, ba, bb, worst = 0;
        int *a = read_gray_png(ours, &wa, &ha, &ba), *b = read_gray_png(path, &wb, &hb, &bb);
        CHECK(a && b && wa == wb && ha == hb && wa == img.width && ba == 8 && bb == 8);
        for (size_t i = 0; i < n; i++) {
            int d = abs(a[i] - (metric ? 255 - b[i] : b[i]));
            worst = d > worst ? d : worst;
        }
        free(a);
        free(b);
        remove(ours);
        const int bound = 1 + (int)(255.0 * max_abs / (hi - lo)) + metric; /* the inverse truncates the other way */
        printf("    %s png8 max diff %d (bound %d)\n", arch, worst, bound);
        CHECK_MSG(worst <= bound, "png8 differs by %d levels", worst);
    }
    free(x);
    free(y);
    free(depth);
    ds_engine_free(e);
    ds_image_free(&img);
}

/* the 518x700 Depth Anything networks run in the plain build */
TEST(dav2_metric_photo_is_in_metres) { check_dav2_pipeline("depth_anything_v2_metric_hypersim_vits", !SANITIZED); }

/* out (oh, ow) = in (ih, iw) resized a pixel at a time: PyTorch's bicubic
 * (align_corners False) or, with `bilinear`, its bilinear with align_corners. */
static void resize_per_pixel(const float *in, int iw, int ih, float *out, int ow, int oh, int bilinear) {
    const float sx = (float)iw / (float)ow, sy = (float)ih / (float)oh;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            float v;
            if (bilinear) {
                int64_t x0, x1, y0, y1;
                float fx, fy;
                ds_bilinear_coord(x, iw, ow, 1, &x0, &x1, &fx);
                ds_bilinear_coord(y, ih, oh, 1, &y0, &y1, &fy);
                const float *top = in + y0 * iw, *bot = in + y1 * iw;
                v = (1.0f - fy) * ((1.0f - fx) * top[x0] + fx * top[x1]) + fy * ((1.0f - fx) * bot[x0] + fx * bot[x1]);
            } else {
                int rx[4], ry[4];
                float wx[4], wy[4], h[4];
                ds_torch_taps(x, sx, iw, rx, wx);
                ds_torch_taps(y, sy, ih, ry, wy);
                for (int j = 0; j < 4; j++) {
                    const float *r = in + (size_t)ry[j] * iw;
                    h[j] = r[rx[0]] * wx[0] + r[rx[1]] * wx[1] + r[rx[2]] * wx[2] + r[rx[3]] * wx[3];
                }
                v = h[0] * wy[0] + h[1] * wy[1] + h[2] * wy[2] + h[3] * wy[3];
            }
            out[(size_t)y * ow + x] = v;
        }
}

TEST(depth_resizes_match_per_pixel_form) {
    static const int sizes[][4] = {/* in w, h -> out w, h: across 256 columns and 16 rows, down, size 1 */
                                   {37, 23, 601, 300}, {384, 288, 530, 70}, {1, 1, 3, 4}, {5, 7, 1, 1},
                                   {300, 2, 2, 300},   {700, 518, 257, 17}, {2, 300, 513, 33}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const int iw = sizes[i][0], ih = sizes[i][1], ow = sizes[i][2], oh = sizes[i][3];
        float *in = malloc(sizeof(float) * (size_t)iw * ih), *want = malloc(sizeof(float) * (size_t)ow * oh),
              *got = malloc(sizeof(float) * (size_t)ow * oh);
        CHECK(in && want && got);
        for (int k = 0; k < iw * ih; k++)
            in[k] = (float)(((int64_t)k * 7919) % 1000) / 37.0f - 11.0f;
        for (int bilinear = 0; bilinear < 2 && in && want && got; bilinear++) {
            resize_per_pixel(in, iw, ih, want, ow, oh, bilinear);
            for (int threads = 1; threads <= 3; threads += 2) {
                if (bilinear)
                    ds_resize_bilinear_aligned(in, iw, ih, got, ow, oh, threads);
                else
                    ds_resize_bicubic_torch(in, iw, ih, got, ow, oh, threads);
                CHECK_MSG(!memcmp(want, got, sizeof(float) * (size_t)ow * oh), "%s %dx%d -> %dx%d, %d threads",
                          bilinear ? "bilinear" : "bicubic", iw, ih, ow, oh, threads);
            }
        }
        free(in), free(want), free(got);
    }
}

int main(void) {
    RUN(small_pipeline_matches_run_py);
    RUN(v21_384_pipeline_matches_run_py);
    RUN(dpt_hybrid_pipeline_matches_run_py);
    RUN(dpt_large_pipeline_matches_run_py);
    RUN(dpt_levit_pipeline_matches_run_py);
    RUN(swin2_tiny_pipeline_matches_run_py);
    /* BEiT-B's case runs in the plain build through `depthsolve depth`
     * (tests/cli_beit.sh); BEiT-L 512's is BEiT-B's code on 3x the weights
     * and 2x the tokens: each build runs one */
    if (SANITIZED)
        RUN(beit_base_384_pipeline_matches_run_py);
    else
        RUN(beit_large_512_pipeline_matches_run_py);
    RUN(network_size_rule_follows_run_py);
    RUN(tiny_and_extreme_photos_run);
    RUN(dav2_network_size_follows_infer_image);
    RUN(dav2_metric_photo_is_in_metres);
    RUN(depth_resizes_match_per_pixel_form);
    return test_summary();
}
