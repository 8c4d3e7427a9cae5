/*
 * test_engine_mesh.c: ds_engine_mesh_rgb8 and ds_engine_mesh_rgb8_device,
 * the photo to its mesh through the engine, on the synthetic small model:
 *  - under cuda-emu (the mesh built on the device from the depth map the
 *    network left there), the mesh is bit for bit the one ds_mesh_build
 *    gives of the depth map it returned, in every field (vertices, indices,
 *    counts, the view, the bounds): both projections, with and without
 *    tearing, an odd grid and a vertex per pixel, landscape and portrait
 *    photos, a padded row stride; that depth map is ds_engine_solve_rgb8's;
 *  - the device variant's buffers (emulator memory, host addressable) hold
 *    the same mesh, and are reused, not reallocated, for a smaller one;
 *  - the CPU backend: the host variant meshes, the device variant says
 *    DS_ERR_UNSUPPORTED in one line;
 *  - bad arguments: DS_ERR_INVALID_ARGUMENT, one line, output zeroed.
 * Photos of 40x28 and 23x37 at a network height of 64 keep the emulated
 * network to a fraction of a second a call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "tests/test.h"

enum { W = 40, H = 28, PW = 23, PH = 37, PAD = 5 };

/* A photo with a bright left half and a textured right one, so the depth
 * map has an edge to tear along; `pad` extra bytes per row. */
static uint8_t *make_photo(int w, int h, int pad) {
    const size_t stride = (size_t)w * 3 + (size_t)pad;
    uint8_t *p = malloc(stride * (size_t)h);
    for (int y = 0; p && y < h; y++)
        for (int x = 0; x < w * 3 + pad; x++)
            p[(size_t)y * stride + (size_t)x] =
                x < w * 3 / 2 ? (uint8_t)(220 + (x + y) % 30) : (uint8_t)((x * 13 + y * 29) % 256);
    return p;
}

static ds_status open_engine(ds_device device, ds_engine **e) {
    char model[512];
    snprintf(model, sizeof model, "%s/midas_v21_small_256.gguf", test_models_dir());
    ds_engine_params p = ds_engine_default_params();
    p.model_path = model;
    p.device = device;
    return ds_engine_create(&p, e);
}

static ds_solve_params small_net(void) {
    ds_solve_params s = ds_solve_default_params();
    s.height = 64;
    return s;
}

/* "" when a and b are the same mesh in every field, else what differs. */
static const char *mesh_diff(const ds_mesh *a, const ds_mesh *b) {
    if (a->n_vertices != b->n_vertices || a->n_triangles != b->n_triangles)
        return "counts";
    if (memcmp(a->vertices, b->vertices, (size_t)a->n_vertices * 8 * sizeof(float)))
        return "vertices";
    if (memcmp(a->indices, b->indices, (size_t)a->n_triangles * 3 * sizeof(uint32_t)))
        return "indices";
    if (a->cols != b->cols || a->rows != b->rows)
        return "grid";
    if (memcmp(&a->yfov, &b->yfov, sizeof a->yfov) || memcmp(&a->aspect, &b->aspect, sizeof a->aspect) ||
        memcmp(&a->camera_z, &b->camera_z, sizeof a->camera_z))
        return "view";
    if (memcmp(a->bounds_min, b->bounds_min, sizeof a->bounds_min) ||
        memcmp(a->bounds_max, b->bounds_max, sizeof a->bounds_max))
        return "bounds";
    return "";
}

typedef struct mesh_case {
    const char *name;
    int portrait; /* the 23x37 photo with padded rows, else 40x28 */
    int grid;
    ds_mesh_projection projection;
    float tear;
} mesh_case;

static const mesh_case CASES[] = {
    {"plane, grid 16", 0, 16, DS_MESH_PLANE, 0.0f},
    {"camera, grid 7, tear", 0, 7, DS_MESH_CAMERA, 0.4f},
    {"plane, pixel, tear", 0, 0, DS_MESH_PLANE, 0.4f},
    {"camera, pixel", 0, 0, DS_MESH_CAMERA, 0.0f},
    {"portrait, camera, grid 9, tear", 1, 9, DS_MESH_CAMERA, 0.4f},
    {"portrait, plane, pixel", 1, 0, DS_MESH_PLANE, 0.0f},
};

static ds_mesh_params params_of(const mesh_case *c) {
    ds_mesh_params p = ds_mesh_default_params();
    p.grid = c->grid;
    p.projection = c->projection;
    p.tear = c->tear;
    return p;
}

/* The engine's mesh of case c against ds_mesh_build of the depth map it
 * returned; into *torn and *kept, the triangles tearing dropped and kept. */
static ds_status check_case(ds_engine *e, const mesh_case *c, int64_t *torn, int64_t *kept, char *why,
                            size_t len) {
    const int w = c->portrait ? PW : W, h = c->portrait ? PH : H, pad = c->portrait ? PAD : 0;
    uint8_t *photo = make_photo(w, h, pad);
    float *depth = malloc((size_t)w * h * sizeof *depth);
    const ds_solve_params solve = small_net();
    const ds_mesh_params p = params_of(c);
    ds_mesh got, want;
    memset(&want, 0, sizeof want);
    ds_status s = photo && depth ? DS_OK : DS_ERR_OUT_OF_MEMORY;
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, w, h, (size_t)w * 3 + pad, &solve, &p, depth, &got);
    if (s == DS_OK)
        s = ds_mesh_build(depth, w, h, &p, &want);
    if (s == DS_OK) {
        snprintf(why, len, "%s", mesh_diff(&got, &want));
        *kept = got.n_triangles;
        *torn = 2 * (int64_t)(got.cols - 1) * (got.rows - 1) - got.n_triangles;
        printf("    %-32s %5lld vertices, %5lld triangles (%lld torn)\n", c->name, (long long)got.n_vertices,
               (long long)got.n_triangles, (long long)*torn);
    }
    ds_mesh_free(&got);
    ds_mesh_free(&want);
    free(depth);
    free(photo);
    return s;
}

TEST(emulated_device_mesh_equals_mesh_build) {
    ds_engine *e = NULL;
    CHECK_OK(open_engine(DS_DEVICE_CUDA_EMU, &e));
    ds_status s = DS_OK;
    char why[64] = "";
    const char *failed = NULL;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES && s == DS_OK && !failed; i++) {
        int64_t torn = 0, kept = 0;
        s = check_case(e, &CASES[i], &torn, &kept, why, sizeof why);
        if (s == DS_OK && (why[0] || (CASES[i].tear > 0) != (torn > 0) || kept == 0))
            failed = CASES[i].name;
    }
    ds_engine_free(e);
    CHECK_OK(s);
    CHECK_MSG(!failed, "%s: %s", failed, why[0] ? why : "tearing dropped none or all, or untorn ones lost some");
}

/* depth_out is the photo's depth map as ds_engine_solve_rgb8 gives it, and
 * a NULL depth_out changes nothing in the mesh. */
TEST(depth_out_is_solve_rgb8s) {
    uint8_t *photo = make_photo(W, H, 0);
    static float solved[W * H], meshed[W * H];
    const ds_solve_params solve = small_net();
    const ds_mesh_params p = params_of(&CASES[1]);
    ds_mesh a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ds_engine *e = NULL;
    ds_status s = photo ? open_engine(DS_DEVICE_CUDA_EMU, &e) : DS_ERR_OUT_OF_MEMORY;
    if (s == DS_OK)
        s = ds_engine_solve_rgb8(e, photo, W, H, W * 3, &solve, solved);
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, W, H, W * 3, &solve, &p, meshed, &a);
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, W, H, W * 3, &solve, &p, NULL, &b);
    const char *diff = s == DS_OK ? mesh_diff(&a, &b) : "";
    ds_mesh_free(&a);
    ds_mesh_free(&b);
    ds_engine_free(e);
    free(photo);
    CHECK_OK(s);
    CHECK_MSG(!memcmp(solved, meshed, sizeof solved), "depth_out differs from ds_engine_solve_rgb8's depth");
    CHECK_MSG(!diff[0], "without depth_out the mesh differs: %s", diff);
}

/* The device variant's buffers against ds_mesh_build of its depth map and
 * the host variant, field by field. */
static const char *device_diff(const ds_mesh_device *d, const ds_mesh *m) {
    if (d->n_vertices != m->n_vertices || d->n_triangles != m->n_triangles)
        return "counts";
    if (memcmp(d->vertices, m->vertices, (size_t)m->n_vertices * 8 * sizeof(float)))
        return "vertices";
    if (memcmp(d->indices, m->indices, (size_t)m->n_triangles * 3 * sizeof(uint32_t)))
        return "indices";
    if (d->cols != m->cols || d->rows != m->rows || memcmp(&d->yfov, &m->yfov, sizeof d->yfov) ||
        memcmp(&d->aspect, &m->aspect, sizeof d->aspect) || memcmp(&d->camera_z, &m->camera_z, sizeof d->camera_z))
        return "view";
    if (d->device != 0 || !d->stream)
        return "device or stream";
    return "";
}

TEST(device_variant_holds_the_same_mesh) {
    uint8_t *photo = make_photo(W, H, 0);
    static float depth[W * H];
    const ds_solve_params solve = small_net();
    const ds_mesh_params big = params_of(&CASES[2]), small = params_of(&CASES[1]);
    ds_mesh host, built;
    memset(&host, 0, sizeof host);
    memset(&built, 0, sizeof built);
    ds_mesh_device d, d2;
    const char *vs_built = "", *vs_host = "", *again = "";
    const float *first_vertices = NULL;
    ds_engine *e = NULL;
    ds_status s = photo ? open_engine(DS_DEVICE_CUDA_EMU, &e) : DS_ERR_OUT_OF_MEMORY;
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8_device(e, photo, W, H, W * 3, &solve, &big, depth, &d);
    if (s == DS_OK) { /* under cuda-emu device memory is host addressable */
        s = ds_mesh_build(depth, W, H, &big, &built);
        vs_built = s == DS_OK ? device_diff(&d, &built) : "";
        first_vertices = d.vertices;
    }
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, W, H, W * 3, &solve, &big, NULL, &host);
    if (s == DS_OK)
        vs_host = device_diff(&d, &host); /* d stays valid: no call on the engine since */
    ds_mesh_free(&host);
    ds_mesh_free(&built);
    if (s == DS_OK) /* smaller: the same buffers */
        s = ds_engine_mesh_rgb8_device(e, photo, W, H, W * 3, &solve, &small, depth, &d2);
    if (s == DS_OK)
        s = ds_mesh_build(depth, W, H, &small, &built);
    if (s == DS_OK)
        again = device_diff(&d2, &built);
    ds_mesh_free(&built);
    ds_engine_free(e);
    free(photo);
    CHECK_OK(s);
    CHECK_MSG(!vs_built[0], "device buffers differ from ds_mesh_build's mesh: %s", vs_built);
    CHECK_MSG(!vs_host[0], "device buffers differ from the host variant: %s", vs_host);
    CHECK_MSG(!again[0], "the smaller mesh differs: %s", again);
    CHECK_MSG(d2.vertices == first_vertices, "a smaller mesh reallocated the vertex buffer");
}

TEST(cpu_backend_meshes_on_the_host_only) {
    uint8_t *photo = make_photo(W, H, 0);
    static float depth[W * H];
    const ds_solve_params solve = small_net();
    const ds_mesh_params p = params_of(&CASES[1]);
    ds_mesh got, want;
    memset(&got, 0, sizeof got);
    memset(&want, 0, sizeof want);
    ds_mesh_device d;
    memset(&d, 0xab, sizeof d);
    ds_engine *e = NULL;
    ds_status s = photo ? open_engine(DS_DEVICE_CPU, &e) : DS_ERR_OUT_OF_MEMORY;
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, W, H, W * 3, &solve, &p, depth, &got);
    if (s == DS_OK)
        s = ds_mesh_build(depth, W, H, &p, &want);
    const char *diff = s == DS_OK ? mesh_diff(&got, &want) : "";
    const ds_status dev = s == DS_OK ? ds_engine_mesh_rgb8_device(e, photo, W, H, W * 3, &solve, &p, NULL, &d)
                                     : DS_OK;
    const char *msg = ds_last_error();
    ds_mesh_free(&got);
    ds_mesh_free(&want);
    ds_engine_free(e);
    free(photo);
    CHECK_OK(s);
    CHECK_MSG(!diff[0], "the CPU's mesh differs from ds_mesh_build's: %s", diff);
    printf("    %s\n", msg);
    CHECK_MSG(dev == DS_ERR_UNSUPPORTED, "device variant on the CPU: %s", ds_status_string(dev));
    CHECK_MSG(strstr(msg, "cpu backend") && !strchr(msg, '\n'), "message: %s", msg);
    CHECK_MSG(!d.vertices && !d.indices && !d.n_vertices && !d.stream, "output not zeroed");
}

/* fov 0 asks for the model's estimate of the camera; a model that gives
 * none (MiDaS) meshes with the default field of view, 55 degrees. */
TEST(fov_zero_without_an_estimate_is_the_default) {
    uint8_t *photo = make_photo(PW, PH, 0);
    const ds_solve_params solve = small_net();
    ds_mesh_params p0 = ds_mesh_default_params(), p55 = p0;
    p0.projection = p55.projection = DS_MESH_CAMERA;
    p0.fov_deg = 0.0f;
    p55.fov_deg = 55.0f;
    ds_mesh got, want;
    memset(&got, 0, sizeof got);
    memset(&want, 0, sizeof want);
    ds_engine *e = NULL;
    ds_status s = photo ? open_engine(DS_DEVICE_CPU, &e) : DS_ERR_OUT_OF_MEMORY;
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, PW, PH, PW * 3, &solve, &p0, NULL, &got);
    if (s == DS_OK)
        s = ds_engine_mesh_rgb8(e, photo, PW, PH, PW * 3, &solve, &p55, NULL, &want);
    const char *diff = s == DS_OK ? mesh_diff(&got, &want) : "";
    ds_mesh_free(&got);
    ds_mesh_free(&want);
    ds_engine_free(e);
    free(photo);
    CHECK_OK(s);
    CHECK_MSG(!diff[0], "fov 0 on a model without a camera differs from fov 55: %s", diff);
}

/* Both variants on the same arguments: the host variant's status; *same
 * when the device variant said the same in the same one line, *zeroed when
 * both left their output empty. */
static ds_status both(ds_engine *e, const uint8_t *rgb, int w, int h, size_t stride, const ds_solve_params *solve,
                      const ds_mesh_params *p, int *same, int *zeroed) {
    ds_mesh m;
    ds_mesh_device d;
    memset(&m, 0xab, sizeof m);
    memset(&d, 0xab, sizeof d);
    const ds_status a = ds_engine_mesh_rgb8(e, rgb, w, h, stride, solve, p, NULL, &m);
    char first[512];
    snprintf(first, sizeof first, "%s", ds_last_error());
    const ds_status b = ds_engine_mesh_rgb8_device(e, rgb, w, h, stride, solve, p, NULL, &d);
    *same = a == b && !strcmp(first, ds_last_error()) && !strchr(first, '\n');
    *zeroed = !m.vertices && !m.indices && !m.n_vertices && !d.vertices && !d.indices && !d.n_vertices;
    return a;
}

TEST(bad_arguments_fail_in_one_line) {
    uint8_t *photo = make_photo(W, H, 0);
    CHECK(photo);
    ds_engine *e = NULL;
    CHECK_OK(open_engine(DS_DEVICE_CUDA_EMU, &e));
    const ds_solve_params solve = small_net();
    ds_solve_params tiny = solve;
    tiny.height = 5;
    ds_mesh_params p = ds_mesh_default_params(), grid = p, near_far = p, fov = p, proj = p;
    grid.grid = -1;
    near_far.near_m = 5.0f;
    near_far.far_m = 2.0f;
    fov.fov_deg = 180.0f;
    proj.projection = (ds_mesh_projection)7;
    struct {
        const char *what;
        ds_engine *e;
        const uint8_t *rgb;
        int w, h;
        size_t stride;
        const ds_solve_params *solve;
        const ds_mesh_params *p;
        const char *needle;
    } bad[] = {
        {"no engine", NULL, photo, W, H, W * 3, &solve, &p, "NULL engine"},
        {"no photo", e, NULL, W, H, W * 3, &solve, &p, "NULL engine, photo"},
        {"stride", e, photo, W, H, W * 3 - 1, &solve, &p, "stride 119 < 3 x width 40"},
        {"width 0", e, photo, 0, H, W * 3, &solve, &p, "image of 0x28 pixels"},
        {"network height", e, photo, W, H, W * 3, &tiny, &p, "network height 5"},
        {"no mesh params", e, photo, W, H, W * 3, &solve, NULL, "mesh: no parameters"},
        {"grid", e, photo, W, H, W * 3, &solve, &grid, "grid -1"},
        {"near/far", e, photo, W, H, W * 3, &solve, &near_far, "0 < near < far"},
        {"fov", e, photo, W, H, W * 3, &solve, &fov, "field of view 180"},
        {"projection", e, photo, W, H, W * 3, &solve, &proj, "unknown projection 7"},
    };
    const char *failed = NULL;
    char why[600] = "";
    for (size_t i = 0; i < sizeof bad / sizeof *bad && !failed; i++) {
        int same = 0, zeroed = 0;
        const ds_status s = both(bad[i].e, bad[i].rgb, bad[i].w, bad[i].h, bad[i].stride, bad[i].solve, bad[i].p,
                                 &same, &zeroed);
        if (s != DS_ERR_INVALID_ARGUMENT || !strstr(ds_last_error(), bad[i].needle) || !same || !zeroed) {
            failed = bad[i].what;
            snprintf(why, sizeof why, "%s \"%s\"%s%s", ds_status_string(s), ds_last_error(),
                     same ? "" : ", the variants disagree", zeroed ? "" : ", output not zeroed");
        }
    }
    const ds_status no_out = ds_engine_mesh_rgb8(e, photo, W, H, W * 3, &solve, &p, NULL, NULL);
    const ds_status no_dev_out = ds_engine_mesh_rgb8_device(e, photo, W, H, W * 3, &solve, &p, NULL, NULL);
    ds_engine_free(e);
    free(photo);
    CHECK_MSG(!failed, "%s: %s", failed, why);
    CHECK_MSG(no_out == DS_ERR_INVALID_ARGUMENT && no_dev_out == DS_ERR_INVALID_ARGUMENT, "NULL output: %s, %s",
              ds_status_string(no_out), ds_status_string(no_dev_out));
}

int main(void) {
    RUN(emulated_device_mesh_equals_mesh_build);
    RUN(depth_out_is_solve_rgb8s);
    RUN(device_variant_holds_the_same_mesh);
    RUN(cpu_backend_meshes_on_the_host_only);
    RUN(fov_zero_without_an_estimate_is_the_default);
    RUN(bad_arguments_fail_in_one_line);
    return test_summary();
}
