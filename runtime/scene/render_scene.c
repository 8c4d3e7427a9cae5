/* render_scene.c: ds_scene (depthsolve.h): the photo and its depth as a grid
 * of vertices with a mirrored border, and the frame of a camera drawn by
 * the plain C path or the CUDA kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpus.h"   /* ds_cpus */
#include "base/device.h" /* ds_device_open */
#include "base/error.h"  /* ds_fail, DS_TRY */
#include "scene/render.h"

/* 64 Mpixels (8K x 8K) take about 3 GiB of frame and grid buffers. */
enum {
    RENDER_MAX_SIDE = 16384,
    RENDER_MAX_PIXELS = 1 << 26,
    RENDER_MAX_EXTENT = 64, /* pixels a drawn triangle may span */
    RENDER_FILL_MIN = 32,   /* hole filling's reach, pixels */
    RENDER_FILL_MAX = 256
};
static const float RENDER_FILL_TOL = 0.15f;
/* A depth ramp is an edge when its inverse depth spans more than this
 * fraction of its largest value within the window (render_edges.c). */
static const float RENDER_EDGE_SPAN = 0.2f;

struct ds_scene {
    ds_scene_params params;
    ds_render_grid grid;
    const char *device;
    ds_render_cpu cpu;
    ds_render_gpu *gpu;
    void (*gpu_free)(ds_render_gpu *);
    ds_status (*gpu_frame)(ds_render_gpu *, const ds_render_view *, uint8_t *, size_t);
};

ds_scene_params ds_scene_default_params(void) {
    ds_scene_params p;
    memset(&p, 0, sizeof p);
    p.fov_deg = 55.0f;
    p.near_m = 1.0f;
    p.far_m = 10.0f;
    p.tear = 2.5f;
    p.edge_radius = -1;
    p.device = DS_DEVICE_AUTO;
    return p;
}

ds_camera ds_camera_identity(void) {
    ds_camera c;
    memset(&c, 0, sizeof c);
    c.rotation[0] = c.rotation[4] = c.rotation[8] = 1.0f;
    c.focal_scale = 1.0f;
    return c;
}

static ds_status check_params(const ds_scene_params *p, int width, int height) {
    if (!p)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: no parameters");
    if (width < 2 || height < 2 || width > RENDER_MAX_SIDE || height > RENDER_MAX_SIDE ||
        (int64_t)width * height > RENDER_MAX_PIXELS)
        return ds_fail(DS_ERR_INVALID_ARGUMENT,
                       "scene: a %dx%d photo is not one we render (2 to %d a side, at most %d Mpixels)", width,
                       height, RENDER_MAX_SIDE, RENDER_MAX_PIXELS >> 20);
    if (!(p->fov_deg > 0.0f && p->fov_deg < 180.0f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: field of view %g is outside (0, 180) degrees",
                       (double)p->fov_deg);
    if (!(p->near_m > 0.0f && p->far_m > p->near_m && isfinite(p->far_m)))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: near %g and far %g need 0 < near < far",
                       (double)p->near_m, (double)p->far_m);
    if (!(p->tear > 1.0f) || !isfinite(p->tear))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: tear %g must be a finite stretch above 1", (double)p->tear);
    const int side = width > height ? width : height;
    if (p->margin < 0 || p->margin > side / 2 + 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: margin %d is outside 0..%d", p->margin, side / 2 + 1);
    if (side + 2 * (p->margin + 1) > DS_RENDER_MAX_GRID)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: a %dx%d photo with a %d pixel border is over %d a side",
                       width, height, p->margin, DS_RENDER_MAX_GRID);
    if (p->n_threads < 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: %d threads", p->n_threads);
    if (p->edge_radius > 64)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: edge radius %d is over 64 pixels", p->edge_radius);
    return DS_OK;
}

/* The focal length, pixels, of fov_deg along the long side. */
static float focal_pixels(const ds_scene_params *p, int width, int height) {
    const int side = width > height ? width : height;
    return 0.5f * (float)side / tanf(p->fov_deg * (float)M_PI / 360.0f);
}

/* Index i of a row of n reflected about its end pixels (OpenCV's
 * BORDER_REFLECT_101: ..., 2, 1, | 0, 1, ..., n-1, | n-2, ...). */
static int reflect(int i, int n) {
    if (n == 1)
        return 0;
    const int period = 2 * (n - 1);
    i = abs(i) % period;
    return i < n ? i : period - i;
}

static ds_status build_grid(const uint8_t *rgb, size_t stride, const float *depth, const ds_scene_params *p,
                            int width, int height, ds_render_grid *g) {
    memset(g, 0, sizeof *g);
    g->width = width;
    g->height = height;
    /* One pixel more than asked: the photo's own border pixels are then
     * inside the mesh, where rounding cannot leave them uncovered. */
    g->margin = p->margin + 1;
    g->grid_w = width + 2 * g->margin;
    g->grid_h = height + 2 * g->margin;
    g->src_f = focal_pixels(p, width, height);
    const size_t nv = (size_t)g->grid_w * g->grid_h;
    g->rgb = malloc(nv * 3);
    g->z = malloc(nv * sizeof(float));
    if (!g->rgb || !g->z)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "scene: out of memory for %zu vertices", nv);
    /* the depth map's range, NaN and infinities read as 0 (as the mesh's) */
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < (size_t)width * height; k++) {
        const float d = isfinite(depth[k]) ? depth[k] : 0.0f;
        lo = fminf(lo, d);
        hi = fmaxf(hi, d);
    }
    /* metric inverse depth of every pixel, its edges made steps */
    float *q = malloc((size_t)width * height * sizeof(float));
    if (!q)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "scene: out of memory for a %dx%d depth map", width, height);
    const float inv_near = 1.0f / p->near_m, inv_far = 1.0f / p->far_m;
    for (size_t k = 0; k < (size_t)width * height; k++) {
        const float d = isfinite(depth[k]) ? depth[k] : 0.0f;
        const float n = hi > lo ? (d - lo) / (hi - lo) : 0.0f;
        q[k] = inv_far + n * (inv_near - inv_far);
    }
    const int side = width > height ? width : height;
    const int radius = p->edge_radius >= 0 ? p->edge_radius : (side + 200) / 400;
    const ds_status s = ds_render_sharpen(q, width, height, radius, RENDER_EDGE_SPAN);
    if (s != DS_OK) {
        free(q);
        return s;
    }
    g->z_near = INFINITY;
    g->z_far = 0.0f;
    for (size_t k = 0; k < (size_t)width * height; k++) {
        g->z_near = fminf(g->z_near, 1.0f / q[k]);
        g->z_far = fmaxf(g->z_far, 1.0f / q[k]);
    }
    for (int j = 0; j < g->grid_h; j++) {
        const int sy = reflect(j - g->margin, height);
        for (int i = 0; i < g->grid_w; i++) {
            const int sx = reflect(i - g->margin, width);
            const size_t at = (size_t)j * g->grid_w + i;
            memcpy(g->rgb + at * 3, rgb + (size_t)sy * stride + (size_t)sx * 3, 3);
            g->z[at] = 1.0f / q[(size_t)sy * width + sx];
        }
    }
    free(q);
    return DS_OK;
}

static void free_grid(ds_render_grid *g) {
    free(g->rgb);
    free(g->z);
    memset(g, 0, sizeof *g);
}

/* The frames of one concrete device (ds_device_open picks for auto). */
static ds_status open_device(void *ctx, ds_device which) {
    ds_scene *s = ctx;
    const ds_scene_params *p = &s->params;
    if (which == DS_DEVICE_CUDA) {
        DS_TRY(ds_render_gpu_create_cuda(&s->grid, p->device_index, &s->gpu));
        s->device = "cuda";
        s->gpu_frame = ds_render_gpu_frame_cuda;
        s->gpu_free = ds_render_gpu_free_cuda;
        return DS_OK;
    }
    if (which == DS_DEVICE_CUDA_EMU) {
        DS_TRY(ds_render_gpu_create_emu(&s->grid, p->device_index, &s->gpu));
        s->device = "cuda-emu";
        s->gpu_frame = ds_render_gpu_frame_emu;
        s->gpu_free = ds_render_gpu_free_emu;
        return DS_OK;
    }
    s->device = "cpu";
    return ds_render_cpu_init(&s->cpu, &s->grid, p->n_threads ? p->n_threads : ds_cpus());
}

ds_status ds_scene_create(const uint8_t *rgb, int width, int height, size_t stride, const float *depth,
                          const ds_scene_params *params, ds_scene **out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: no output");
    *out = NULL;
    if (!rgb || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: no %s", rgb ? "depth map" : "photo");
    DS_TRY(check_params(params, width, height));
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene: stride %zu < 3 x width %d", stride, width);
    ds_scene *s = calloc(1, sizeof *s);
    if (!s)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "scene: out of memory");
    s->params = *params;
    ds_status st = build_grid(rgb, stride, depth, params, width, height, &s->grid);
    if (st == DS_OK)
        st = ds_device_open(params->device, open_device, s, NULL, NULL, "scene");
    if (st != DS_OK) {
        ds_scene_free(s);
        return st;
    }
    *out = s;
    return DS_OK;
}

void ds_scene_free(ds_scene *s) {
    if (!s)
        return;
    if (s->gpu)
        s->gpu_free(s->gpu);
    ds_render_cpu_free(&s->cpu);
    free_grid(&s->grid);
    free(s);
}

const char *ds_scene_device(const ds_scene *s) { return s ? s->device : NULL; }

/* How far hole filling looks: the widest hole this view can open, the
 * parallax between the nearest and the farthest depth (at the photo's
 * corners and centre), so that a hole pixel's rays reach the background
 * side; within [RENDER_FILL_MIN, RENDER_FILL_MAX] pixels. */
static int fill_reach(const ds_render_grid *g, const ds_render_view *v) {
    float widest = 0.0f;
    for (int k = 0; k < 5; k++) {
        const int i = k == 4 ? g->grid_w / 2 : (k % 2 ? g->grid_w - 1 - g->margin : g->margin);
        const int j = k == 4 ? g->grid_h / 2 : (k / 2 ? g->grid_h - 1 - g->margin : g->margin);
        float a[3], b[3];
        ds_rd_project(v, i, j, g->z_near, a);
        ds_rd_project(v, i, j, g->z_far, b);
        if (a[2] > 0.0f && b[2] > 0.0f)
            widest = fmaxf(widest, hypotf(a[0] - b[0], a[1] - b[1]));
    }
    const float reach = ceilf(widest) + 2.0f;
    return reach < RENDER_FILL_MIN ? RENDER_FILL_MIN : reach > RENDER_FILL_MAX ? RENDER_FILL_MAX : (int)reach;
}

void ds_render_view_for(const ds_render_grid *g, const ds_camera *cam, float tear, ds_render_view *v) {
    memset(v, 0, sizeof *v);
    v->grid_w = g->grid_w;
    v->grid_h = g->grid_h;
    v->margin = g->margin;
    v->src_inv_f = 1.0f / g->src_f;
    v->src_cx = 0.5f * (float)g->width;
    v->src_cy = 0.5f * (float)g->height;
    v->out_w = g->width;
    v->out_h = g->height;
    v->f = g->src_f * cam->focal_scale;
    v->cx = v->src_cx;
    v->cy = v->src_cy;
    memcpy(v->rot, cam->rotation, sizeof v->rot);
    memcpy(v->pos, cam->position, sizeof v->pos);
    v->near_clip = 1e-3f;
    v->tear_sum = tear + 1.0f / tear;
    v->max_extent = RENDER_MAX_EXTENT;
    v->fill_tol = RENDER_FILL_TOL;
    v->fill_reach = fill_reach(g, v);
}

static ds_status check_camera(const ds_camera *c) {
    for (int k = 0; k < 3; k++)
        if (!isfinite(c->position[k]))
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: camera position is not finite");
    for (int k = 0; k < 9; k++)
        if (!isfinite(c->rotation[k]))
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: camera rotation is not finite");
    /* rows orthonormal, to a float's precision on the path's arithmetic */
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const float *ra = c->rotation + 3 * a, *rb = c->rotation + 3 * b;
            const float dot = ra[0] * rb[0] + ra[1] * rb[1] + ra[2] * rb[2];
            if (fabsf(dot - (a == b ? 1.0f : 0.0f)) > 1e-3f)
                return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: camera rotation is not a rotation");
        }
    if (!(c->focal_scale > 0.01f && c->focal_scale < 100.0f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: focal scale %g is outside (0.01, 100)",
                       (double)c->focal_scale);
    return DS_OK;
}

ds_status ds_scene_render(ds_scene *s, const ds_camera *cam, uint8_t *rgb, size_t stride) {
    if (!s || !cam || !rgb)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: NULL argument");
    if (stride < (size_t)s->grid.width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "render: stride %zu < 3 x width %d", stride, s->grid.width);
    DS_TRY(check_camera(cam));
    ds_render_view v;
    ds_render_view_for(&s->grid, cam, s->params.tear, &v);
    if (s->gpu)
        return s->gpu_frame(s->gpu, &v, rgb, stride);
    ds_render_cpu_frame(&s->cpu, &s->grid, &v, rgb, stride);
    return DS_OK;
}

/* How far past the photo (pixels) the frame's corner (x, y) looks, between
 * the near and the far depth: the ray through it cut with both planes,
 * projected into the photo's camera. */
static float corner_overshoot(const ds_camera *c, float f, float x, float y, int width, int height,
                              const ds_scene_params *p) {
    const float cx = 0.5f * (float)width, cy = 0.5f * (float)height, fo = f * c->focal_scale;
    const float dc[3] = {(x - cx) / fo, (cy - y) / fo, -1.0f};
    float d[3]; /* world direction: R^T dc */
    for (int k = 0; k < 3; k++)
        d[k] = c->rotation[k] * dc[0] + c->rotation[3 + k] * dc[1] + c->rotation[6 + k] * dc[2];
    float worst = 0.0f;
    const float planes[2] = {p->near_m, p->far_m};
    for (int k = 0; k < 2; k++) {
        if (!(d[2] < 0.0f))
            return INFINITY; /* the ray never reaches the plane in front */
        const float s = (-planes[k] - c->position[2]) / d[2];
        if (!(s > 0.0f))
            continue; /* the camera is beyond this plane */
        const float wx = c->position[0] + s * d[0], wy = c->position[1] + s * d[1];
        const float px = cx + f * wx / planes[k], py = cy - f * wy / planes[k];
        worst = fmaxf(worst, fmaxf(fmaxf(-px, px - (float)width), fmaxf(-py, py - (float)height)));
    }
    return worst;
}

ds_status ds_scene_margin(const ds_scene_params *p, int width, int height, const ds_camera *cams, int n,
                          int *margin) {
    if (!margin || (n > 0 && !cams) || n < 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "scene margin: bad argument");
    *margin = 0;
    ds_scene_params q = p ? *p : ds_scene_default_params();
    q.margin = 0;
    DS_TRY(check_params(&q, width, height));
    const float f = focal_pixels(&q, width, height);
    float worst = 0.0f;
    for (int i = 0; i < n; i++) {
        DS_TRY(check_camera(&cams[i]));
        for (int k = 0; k < 4; k++)
            worst = fmaxf(worst, corner_overshoot(&cams[i], f, k % 2 ? (float)width : 0.0f,
                                                  k / 2 ? (float)height : 0.0f, width, height, &q));
    }
    const int side = width > height ? width : height;
    /* two pixels more: the triangles at the border reach one past their vertices */
    *margin = worst > 0.0f ? (worst >= (float)(side / 2) ? side / 2 : (int)ceilf(worst) + 2) : 0;
    if (*margin > side / 2)
        *margin = side / 2;
    return DS_OK;
}
