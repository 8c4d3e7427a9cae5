/*
 * test_dav2_pipeline.c: Depth Anything V2's own photo path (infer_image)
 * against the PyTorch references of tests/data/reference/<model>/
 * pipeline_211x157, on the CPU: the network size (lower_bound: short side
 * 518, multiples of 14, NumPy's half-to-even rounding), the network output
 * at 518x700, the bilinear (align_corners=True) resize back to the photo,
 * metres for the metric model, and the 8-bit PNG run.py writes (near is
 * bright for every model: the metric model's is the reference inverted).
 *
 * Tolerances: relative L2 <= 1e-4 on float tensors (the reference README);
 * PNG levels within 1 (truncation) plus the levels the measured float
 * difference spans. The 518x700 networks run in the plain build; under the
 * sanitizers (slow) the same path runs at --input-size 70 and is checked
 * for its shapes and ranges.
 */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "photo/preprocess.h" /* ds_net_input_size_lower_bound */
#include "src/depth_outputs.h"
#include "src/io/image.h"
#include "src/io/npy.h"
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/test.h"

#if defined(__SANITIZE_ADDRESS__)
enum { SANITIZED = 1 };
#else
enum { SANITIZED = 0 };
#endif

TEST(network_size_follows_infer_image) {
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
    char model[512];
    snprintf(model, sizeof model, "%s/depth_anything_v2_vits.gguf", test_models_dir());
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
    ds_model_info info;
    CHECK_OK(ds_engine_model_info(e, &info));
    CHECK(info.resize_lower_bound && !info.resize_upper_bound && info.input_multiple == 14 && info.net_size == 518);
    CHECK(info.depth_resize == DS_DEPTH_RESIZE_BILINEAR_ALIGNED && info.quantity == DS_DEPTH_RELATIVE_INVERSE);
    int w, h;
    CHECK_OK(ds_engine_input_size(e, 300, 120, NULL, &w, &h));
    CHECK(w == 1288 && h == 518);
    ds_solve_params sp = ds_solve_default_params();
    sp.height = 13;
    CHECK_FAILS(ds_engine_input_size(e, 300, 120, &sp, &w, &h), DS_ERR_INVALID_ARGUMENT, "must be 14 to 8192");
    ds_engine_free(e);
}

/* An 8-bit PNG's first channel (run.py's --grayscale PNG repeats it x3). */
static int *read_png_channel0(const char *path, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return NULL;
    int gray = !(img.format & PNG_FORMAT_FLAG_COLOR);
    img.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    size_t n = (size_t)img.width * img.height, ch = gray ? 1 : 3;
    uint8_t *buf = malloc(n * ch);
    int *out = malloc(n * sizeof *out);
    if (!buf || !out || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = buf[i * ch];
    free(buf);
    *w = (int)img.width;
    *h = (int)img.height;
    return out;
}

static const char *tmp_dir(void) {
    const char *d = getenv("DS_TEST_TMP");
    return d ? d : "/tmp";
}

/* The photo path of `arch` on the reference photo; with `full`, against the
 * reference files. */
static void check_pipeline(const char *arch, int full) {
    char dir[256], path[600], model[600];
    snprintf(dir, sizeof dir, "tests/data/reference/%s/pipeline_211x157", arch);
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    snprintf(path, sizeof path, "%s/image.png", dir);
    ds_image img;
    CHECK_OK(ds_image_read(path, 0, &img));
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = DS_DEVICE_CPU;
    ds_engine *e;
    CHECK_OK(ds_engine_create(&p, &e));
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
        snprintf(path, sizeof path, "%s/net_output.npy", dir);
        if (ds_npy_read(path, &ref) == DS_OK) { /* the relative model's; the metric one has depth.npy only */
            double e_net = op_rel_l2(y, ref.data, nn);
            printf("    %s net_output rel L2 %.2e\n", arch, e_net);
            ds_npy_free(&ref);
            CHECK_MSG(e_net <= 1e-4, "net_output relative L2 %.3g", e_net);
        }
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
        int wa, ha, wb, hb, worst = 0;
        int *a = read_png_channel0(ours, &wa, &ha), *b = read_png_channel0(path, &wb, &hb);
        CHECK(a && b && wa == wb && ha == hb && wa == img.width);
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

TEST(vits_photo_matches_infer_image) { check_pipeline("depth_anything_v2_vits", !SANITIZED); }
TEST(metric_photo_is_in_metres) { check_pipeline("depth_anything_v2_metric_hypersim_vits", !SANITIZED); }

int main(void) {
    RUN(network_size_follows_infer_image);
    RUN(vits_photo_matches_infer_image);
    RUN(metric_photo_is_in_metres);
    return test_summary();
}
