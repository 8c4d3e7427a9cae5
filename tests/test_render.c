/*
 * test_render.c: the frame renderer of `depthsolve animate` (ds_scene, plain
 * C path) on synthetic scenes with known depth, checked analytically:
 *  - frame 0 (the photo's camera) is the photo, for odd sizes, both aspect
 *    ratios and with a mirrored border;
 *  - a near plane in front of a far plane: under a sideways move every
 *    pixel moves by the parallax f t / z of its plane, disoccluded pixels
 *    take background colours, no hole is left; without tearing a rubber
 *    sheet of foreground colour is stretched over the background (the
 *    check can fail);
 *  - the dolly zoom keeps things at the focus depth at their size;
 *  - the camera paths, the border a path needs, the automatic focus, and
 *    bad arguments.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "scene/render.h" /* ds_render_sharpen */
#include "tests/test.h"

/* colours of the two planes: the near one red, the far one stripes of blue and green */
static const uint8_t NEAR_RGB[3] = {220, 30, 20};
static const uint8_t FAR_A[3] = {20, 60, 200}, FAR_B[3] = {30, 190, 60};
enum { STRIPE = 8 };

typedef struct planes {
    int w, h, x0, x1, y0, y1; /* the near rectangle [x0, x1) x [y0, y1) */
    uint8_t *rgb;
    float *depth; /* inverse depth: 1 on the near plane, 0 on the far one */
} planes;

static void planes_make(planes *p, int w, int h) {
    p->w = w;
    p->h = h;
    p->x0 = w * 3 / 8;
    p->x1 = w * 5 / 8;
    p->y0 = h / 3;
    p->y1 = h * 2 / 3;
    p->rgb = malloc((size_t)w * h * 3);
    p->depth = malloc((size_t)w * h * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            const int near = x >= p->x0 && x < p->x1 && y >= p->y0 && y < p->y1;
            memcpy(p->rgb + k * 3, near ? NEAR_RGB : (x / STRIPE) % 2 ? FAR_B : FAR_A, 3);
            p->depth[k] = near ? 1.0f : 0.0f;
        }
}

static void planes_free(planes *p) {
    free(p->rgb);
    free(p->depth);
}

static ds_scene_params cpu_params(void) {
    ds_scene_params sp = ds_scene_default_params();
    sp.device = DS_DEVICE_CPU;
    sp.n_threads = 2;
    return sp;
}

/* A photo with detail everywhere and a smooth depth map with a step. */
static void textured(int w, int h, uint8_t *rgb, float *depth) {
    uint32_t s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                rgb[k * 3 + c] = (uint8_t)(s >> 24);
            }
            depth[k] = 3.0f + sinf(0.3f * (float)x) * cosf(0.2f * (float)y) + (x > w / 2 ? 4.0f : 0.0f);
        }
}

TEST(frame_zero_is_the_photo) {
    const int sizes[][3] = {{2, 2, 0}, {97, 61, 0}, {61, 97, 7}, {128, 3, 2}, {5, 131, 30}, {64, 64, 32}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const int w = sizes[i][0], h = sizes[i][1];
        uint8_t *rgb = malloc((size_t)w * h * 3), *out = malloc((size_t)w * h * 3);
        float *depth = malloc((size_t)w * h * sizeof(float));
        textured(w, h, rgb, depth);
        ds_scene_params sp = cpu_params();
        sp.margin = sizes[i][2];
        ds_scene *s;
        CHECK(ds_scene_create(rgb, w, h, (size_t)w * 3, depth, &sp, &s) == DS_OK);
        CHECK(!strcmp(ds_scene_device(s), "cpu"));
        const ds_camera id = ds_camera_identity();
        CHECK(ds_scene_render(s, &id, out, (size_t)w * 3) == DS_OK);
        const double p = test_psnr_u8(rgb, out, (size_t)w * h * 3);
        CHECK_MSG(p > 40.0, "%dx%d margin %d: PSNR %.1f dB", w, h, sp.margin, p);
        if (i == 1)
            printf("    97x61: frame 0 vs the photo: PSNR %s dB\n", isinf(p) ? "inf" : "finite");
        ds_scene_free(s);
        free(rgb);
        free(out);
        free(depth);
    }
}

/* The frame of the planes seen from a camera moved right by `tx` metres
 * (p->w x p->h RGB into out); the focal length in pixels into *f_pixels. */
static void render_moved(const planes *p, float tx, float tear, float *f_pixels, uint8_t *out) {
    ds_scene_params sp = cpu_params();
    sp.tear = tear;
    ds_camera cam = ds_camera_identity();
    cam.position[0] = tx;
    CHECK(ds_scene_margin(&sp, p->w, p->h, &cam, 1, &sp.margin) == DS_OK);
    ds_scene *s;
    CHECK(ds_scene_create(p->rgb, p->w, p->h, (size_t)p->w * 3, p->depth, &sp, &s) == DS_OK);
    *f_pixels = 0.5f * (float)(p->w > p->h ? p->w : p->h) / tanf(sp.fov_deg * (float)M_PI / 360.0f);
    const ds_status st = ds_scene_render(s, &cam, out, (size_t)p->w * 3);
    ds_scene_free(s);
    CHECK(st == DS_OK);
}

static int is_near_colour(const uint8_t *px) { return px[0] > 128 && px[2] < 100; }

TEST(parallax_of_two_planes) {
    const int sizes[][2] = {{160, 96}, {96, 160}, {151, 89}};
    for (size_t i = 0; i < 3; i++) {
        planes p;
        planes_make(&p, sizes[i][0], sizes[i][1]);
        const float tx = 0.06f; /* near at 1 m, far at 10 m (the defaults) */
        float f;
        uint8_t *out = malloc((size_t)p.w * p.h * 3);
        render_moved(&p, tx, 2.5f, &f, out);
        if (test_failed_now)
            return;
        const float shift_near = f * tx / 1.0f, shift_far = f * tx / 10.0f; /* pixels, to the left */
        /* the near rectangle: where it should be, to a pixel */
        int bad = 0, holes = 0, near_outside = 0;
        for (int y = 0; y < p.h; y++)
            for (int x = 0; x < p.w; x++) {
                const uint8_t *px = out + ((size_t)y * p.w + x) * 3;
                const float sx = (float)x + 0.5f + shift_near; /* where it came from, if near */
                const int in_near = sx > (float)p.x0 + 1.0f && sx < (float)p.x1 - 1.0f && y > p.y0 && y < p.y1 - 1;
                const int out_near = sx < (float)p.x0 - 1.0f || sx > (float)p.x1 + 1.0f || y < p.y0 - 1 || y > p.y1;
                holes += px[0] == 0 && px[1] == 0 && px[2] == 0;
                if (in_near && !is_near_colour(px))
                    bad++;
                if (out_near && is_near_colour(px))
                    near_outside++;
            }
        CHECK_MSG(bad == 0 && holes == 0 && near_outside == 0,
                  "%dx%d: %d near pixels wrong, %d holes, %d near-coloured pixels outside the near plane", p.w, p.h,
                  bad, holes, near_outside);
        /* the far stripes, away from the near plane: each edge moved by shift_far */
        int stripe_bad = 0, checked = 0;
        for (int x = 1; x < p.w; x++) {
            const int y = p.y0 / 2; /* a row above the near rectangle */
            const float sx0 = (float)x - 0.5f + shift_far, sx1 = (float)x + 0.5f + shift_far;
            if (sx0 < 1.0f || sx1 > (float)p.w - 1.0f)
                continue;
            const int s0 = (int)floorf(sx0) / STRIPE, s1 = (int)floorf(sx1) / STRIPE;
            if (s0 != s1 || (int)floorf(sx0 + 0.5f) / STRIPE != s0 || (int)floorf(sx1 - 0.5f) / STRIPE != s0)
                continue; /* a pixel over a stripe edge: any mix */
            const uint8_t *want = s0 % 2 ? FAR_B : FAR_A, *got = out + ((size_t)y * p.w + x) * 3;
            stripe_bad += abs(got[0] - want[0]) + abs(got[1] - want[1]) + abs(got[2] - want[2]) > 6;
            checked++;
        }
        CHECK_MSG(checked > p.w / 2 && stripe_bad == 0, "%dx%d: %d of %d far pixels off their parallax", p.w, p.h,
                  stripe_bad, checked);
        if (i == 0)
            printf("    160x96, camera 6 cm right: near plane moved %.1f px, far plane %.1f px\n", shift_near,
                   shift_far);
        free(out);
        planes_free(&p);
    }
}

TEST(disoccluded_pixels_take_the_background) {
    planes p;
    planes_make(&p, 160, 96);
    float f;
    uint8_t *out = malloc((size_t)p.w * p.h * 3);
    render_moved(&p, 0.08f, 2.5f, &f, out);
    if (test_failed_now)
        return;
    const float shift_near = f * 0.08f, shift_far = shift_near / 10.0f;
    /* right of the moved rectangle, the far plane that was behind it shows:
     * columns in (x1 - shift_near, x1 - shift_far) on the rectangle's rows */
    int n = 0, background = 0;
    for (int y = p.y0 + 1; y < p.y1 - 1; y++)
        for (int x = (int)ceilf((float)p.x1 - shift_near + 1.0f); x < (int)((float)p.x1 - shift_far - 1.0f); x++) {
            const uint8_t *px = out + ((size_t)y * p.w + x) * 3;
            n++;
            /* the far plane's colours and their mixes: low red, high blue or green */
            background += px[0] < 60 && (px[1] > 50 || px[2] > 50);
        }
    CHECK_MSG(n > 100 && background == n, "%d of %d disoccluded pixels have background colours", background, n);
    printf("    %d disoccluded pixels, all filled from the background\n", n);
    free(out);
    planes_free(&p);
}

TEST(without_tearing_a_rubber_sheet_shows) {
    planes p;
    planes_make(&p, 160, 96);
    float f;
    uint8_t *torn = malloc((size_t)p.w * p.h * 3), *sheet = malloc((size_t)p.w * p.h * 3);
    render_moved(&p, 0.08f, 2.5f, &f, torn);
    render_moved(&p, 0.08f, 1e6f, &f, sheet);
    if (test_failed_now)
        return;
    int differ = 0;
    for (size_t k = 0; k < (size_t)p.w * p.h; k++)
        differ += is_near_colour(sheet + k * 3) != is_near_colour(torn + k * 3);
    CHECK_MSG(differ > 20, "tearing changed only %d pixels", differ);
    free(torn);
    free(sheet);
    planes_free(&p);
}

TEST(dolly_zoom_keeps_the_focus_size) {
    planes p;
    planes_make(&p, 160, 96);
    ds_scene_params sp = cpu_params();
    ds_path_params path = ds_path_default_params();
    path.motion = DS_MOTION_ZOOM;
    path.focus = 1.0f; /* the near plane */
    path.strength = 0.3f;
    ds_camera end;
    CHECK(ds_camera_on_path(&path, &sp, 1.0f, &end) == DS_OK);
    CHECK(fabsf(end.position[2] + 0.3f) < 1e-6f && fabsf(end.focal_scale - 0.7f) < 1e-6f);
    CHECK(ds_scene_margin(&sp, p.w, p.h, &end, 1, &sp.margin) == DS_OK);
    ds_scene *s;
    CHECK(ds_scene_create(p.rgb, p.w, p.h, (size_t)p.w * 3, p.depth, &sp, &s) == DS_OK);
    uint8_t *out = malloc((size_t)p.w * p.h * 3);
    CHECK(ds_scene_render(s, &end, out, (size_t)p.w * 3) == DS_OK);
    /* the near rectangle keeps its place and size; the stripes shrink by
     * 0.7 * 10 / 9.7 about the centre */
    int x0 = p.w, x1 = -1;
    for (int x = 0; x < p.w; x++)
        if (is_near_colour(out + ((size_t)(p.h / 2) * p.w + x) * 3)) {
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
        }
    CHECK_MSG(abs(x0 - p.x0) <= 1 && abs(x1 + 1 - p.x1) <= 1, "near rectangle at [%d, %d], was [%d, %d)", x0, x1,
              p.x0, p.x1);
    ds_scene_free(s);
    free(out);
    planes_free(&p);
}

TEST(camera_paths) {
    const ds_scene_params sp = ds_scene_default_params();
    for (int m = 0; m < DS_MOTION_COUNT; m++) {
        ds_path_params path = {(ds_motion)m, -1.0f, 0.5f};
        ds_camera c0, c1, mid;
        CHECK(ds_camera_on_path(&path, &sp, 0.0f, &c0) == DS_OK);
        const ds_camera id = ds_camera_identity();
        int same = c0.focal_scale == id.focal_scale;
        for (int k = 0; k < 9; k++)
            same &= c0.rotation[k] == id.rotation[k] && (k >= 3 || c0.position[k] == id.position[k]);
        CHECK_MSG(same, "%s: t = 0 is not the photo's camera", ds_motion_name((ds_motion)m));
        CHECK(ds_camera_on_path(&path, &sp, 1.0f, &c1) == DS_OK);
        /* the swing is farthest out at t = 0.25, the circle at 0.5 */
        CHECK(ds_camera_on_path(&path, &sp, m == DS_MOTION_SWING ? 0.25f : 0.5f, &mid) == DS_OK);
        const float focus_z = 1.0f / (0.1f + 0.5f * 0.9f), travel = ds_motion_default_strength((ds_motion)m) * focus_z;
        const float moved = sqrtf(mid.position[0] * mid.position[0] + mid.position[1] * mid.position[1] +
                                  mid.position[2] * mid.position[2]);
        if (m == DS_MOTION_SWING || m == DS_MOTION_CIRCLE) { /* loops: back at t = 1, aimed at the focus */
            CHECK(fabsf(c1.position[0]) < 1e-5f && fabsf(c1.position[1]) < 1e-5f && fabsf(c1.position[2]) < 1e-5f);
            const float *p = mid.position, *r = mid.rotation + 6; /* camera +Z in the world */
            const float to[3] = {p[0], p[1], p[2] + focus_z};    /* from the focus to the camera */
            const float len = sqrtf(to[0] * to[0] + to[1] * to[1] + to[2] * to[2]);
            CHECK(fabsf(to[0] / len - r[0]) < 1e-5f && fabsf(to[1] / len - r[1]) < 1e-5f &&
                  fabsf(to[2] / len - r[2]) < 1e-5f);
            CHECK(fabsf(moved - (m == DS_MOTION_SWING ? 0.5f * travel : travel)) < 1e-5f);
        } else { /* one way: half the travel at t = 0.5, all of it at 1 */
            CHECK_MSG(fabsf(moved - 0.5f * travel) < 1e-5f, "%s: %g at t = 0.5, travel %g",
                      ds_motion_name((ds_motion)m), (double)moved, (double)travel);
        }
        CHECK((int)ds_motion_from_name(ds_motion_name((ds_motion)m)) == m);
    }
    ds_path_params bad = {DS_MOTION_ZOOM, -1.0f, -1.0f};
    ds_camera c;
    CHECK(ds_camera_on_path(&bad, &sp, 0.0f, &c) == DS_ERR_INVALID_ARGUMENT); /* focus unresolved */
    bad.focus = 0.5f;
    CHECK(ds_camera_on_path(&bad, &sp, 1.5f, &c) == DS_ERR_INVALID_ARGUMENT);
    bad.strength = 2.0f;
    CHECK(ds_camera_on_path(&bad, &sp, 0.5f, &c) == DS_ERR_INVALID_ARGUMENT);
    bad.strength = -1.0f;
    bad.motion = DS_MOTION_COUNT;
    CHECK(ds_camera_on_path(&bad, &sp, 0.5f, &c) == DS_ERR_INVALID_ARGUMENT);
    CHECK(ds_motion_from_name("spin") == DS_MOTION_COUNT);
}

TEST(margin_covers_the_path) {
    /* a move of t metres sideways looks f t / z pixels past the edge at
     * depth z: the most at the near plane (1 m) */
    const ds_scene_params sp = ds_scene_default_params();
    ds_camera c = ds_camera_identity();
    int m;
    CHECK(ds_scene_margin(&sp, 200, 100, &c, 1, &m) == DS_OK && m == 0);
    c.position[0] = 0.05f;
    CHECK(ds_scene_margin(&sp, 200, 100, &c, 1, &m) == DS_OK);
    const float f = 100.0f / tanf(55.0f * (float)M_PI / 360.0f);
    CHECK_MSG(m == (int)ceilf(f * 0.05f) + 2, "margin %d for a %.2f px shift", m, (double)(f * 0.05f));
    c.position[0] = 50.0f; /* far past any border: capped */
    CHECK(ds_scene_margin(&sp, 200, 100, &c, 1, &m) == DS_OK && m == 100);
    c.rotation[0] = 2.0f;
    CHECK(ds_scene_margin(&sp, 200, 100, &c, 1, &m) == DS_ERR_INVALID_ARGUMENT);
}

TEST(focus_is_the_subject) {
    /* a near disc over the middle quarter of a far backdrop: the 75th
     * percentile of the middle 60% is near */
    enum { W = 100, H = 80 };
    static float d[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            d[y * W + x] = (x > 30 && x < 70 && y > 24 && y < 56) ? 5.0f : 1.0f;
    const float f = ds_depth_focus(d, W, H);
    CHECK_MSG(f > 0.95f, "focus %g", (double)f);
    for (int k = 0; k < W * H; k++)
        d[k] = 2.0f;
    CHECK(ds_depth_focus(d, W, H) == 0.5f); /* flat: the middle */
}

TEST(bad_arguments) {
    uint8_t rgb[4 * 4 * 3] = {0}, out[4 * 4 * 3];
    float depth[16] = {0};
    ds_scene_params sp = cpu_params();
    ds_scene *s = (ds_scene *)&sp;
    CHECK(ds_scene_create(NULL, 4, 4, 12, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK(ds_scene_create(rgb, 1, 4, 12, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    CHECK(ds_scene_create(rgb, 4, 4, 11, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ds_last_error(), "stride") != NULL);
    CHECK(ds_scene_create(rgb, 16384, 16384, 16384 * 3, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ds_last_error(), "Mpixels") != NULL);
    sp.tear = 1.0f;
    CHECK(ds_scene_create(rgb, 4, 4, 12, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    sp = cpu_params();
    sp.margin = 50;
    CHECK(ds_scene_create(rgb, 4, 4, 12, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    sp = cpu_params();
    sp.near_m = 20.0f;
    CHECK(ds_scene_create(rgb, 4, 4, 12, depth, &sp, &s) == DS_ERR_INVALID_ARGUMENT);
    sp = cpu_params();
    CHECK(ds_scene_create(rgb, 4, 4, 12, depth, &sp, &s) == DS_OK); /* a flat depth map is fine */
    ds_camera c = ds_camera_identity();
    CHECK(ds_scene_render(s, &c, out, 12) == DS_OK);
    CHECK(ds_scene_render(s, &c, out, 11) == DS_ERR_INVALID_ARGUMENT);
    c.position[1] = NAN;
    CHECK(ds_scene_render(s, &c, out, 12) == DS_ERR_INVALID_ARGUMENT);
    c = ds_camera_identity();
    c.focal_scale = 0.0f;
    CHECK(ds_scene_render(s, &c, out, 12) == DS_ERR_INVALID_ARGUMENT);
    c = ds_camera_identity();
    c.position[2] = -20.0f; /* past the far plane: nothing in view, still a full frame */
    CHECK(ds_scene_render(s, &c, out, 12) == DS_OK);
    ds_scene_free(s);
    ds_scene_free(NULL);
}

TEST(depth_ramps_become_steps) {
    /* a ramp from near (1) to far (0.1) over 8 pixels becomes a step at its
     * middle; a gentle slope (1% of the depth over the window) is left alone */
    enum { W = 40, H = 7 };
    float q[W * H], slope[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const float t = x < 16 ? 0.0f : x > 24 ? 1.0f : (float)(x - 16) / 8.0f;
            q[y * W + x] = 1.0f - 0.9f * t;
            slope[y * W + x] = 0.5f + 0.001f * (float)x;
        }
    float before[W * H];
    memcpy(before, slope, sizeof slope);
    CHECK(ds_render_sharpen(q, W, H, 5, 0.2f) == DS_OK);
    CHECK(ds_render_sharpen(slope, W, H, 5, 0.2f) == DS_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const float want = x < 20 ? 1.0f : x > 20 ? 0.1f : q[y * W + x];
            CHECK_MSG(fabsf(q[y * W + x] - want) < 1e-6f, "(%d, %d): %g, wanted %g", x, y, (double)q[y * W + x],
                      (double)want);
        }
    CHECK(!memcmp(before, slope, sizeof slope));
    CHECK(ds_render_sharpen(q, W, H, 0, 0.2f) == DS_OK); /* radius 0: as given */
}

int main(void) {
    RUN(frame_zero_is_the_photo);
    RUN(parallax_of_two_planes);
    RUN(disoccluded_pixels_take_the_background);
    RUN(without_tearing_a_rubber_sheet_shows);
    RUN(dolly_zoom_keeps_the_focus_size);
    RUN(camera_paths);
    RUN(margin_covers_the_path);
    RUN(focus_is_the_subject);
    RUN(depth_ramps_become_steps);
    RUN(bad_arguments);
    return test_summary();
}
