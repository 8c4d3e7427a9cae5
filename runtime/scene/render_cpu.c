/* render_cpu.c: a frame of a scene in plain C, the steps of render_math.h
 * over the library's threads (base/pool.h): project the vertices, rasterize the triangles into a
 * 64-bit z-buffer (depth bits, triangle: an atomic minimum, so the result
 * does not depend on the order threads get there), resolve each pixel's
 * colour, fill the holes. kernels/scene/render.cu does the same on a GPU. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */
#include "base/pool.h"  /* ds_parallel_for */
#include "scene/render.h"

ds_status ds_render_cpu_init(ds_render_cpu *r, const ds_render_grid *g, int n_threads) {
    memset(r, 0, sizeof *r);
    const size_t nv = (size_t)g->grid_w * g->grid_h, np = (size_t)g->width * g->height;
    r->proj = malloc(nv * 3 * sizeof(float));
    r->keys = malloc(np * sizeof(uint64_t));
    for (int k = 0; k < 2; k++) {
        r->rgb[k] = malloc(np * 3);
        r->inv_depth[k] = malloc(np * sizeof(float));
    }
    r->n_threads = n_threads > 0 ? n_threads : 1;
    if (!r->proj || !r->keys || !r->rgb[0] || !r->rgb[1] || !r->inv_depth[0] || !r->inv_depth[1]) {
        ds_render_cpu_free(r);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "render: out of memory for a %dx%d frame", g->width, g->height);
    }
    return DS_OK;
}

void ds_render_cpu_free(ds_render_cpu *r) {
    if (!r)
        return;
    free(r->proj);
    free(r->keys);
    for (int k = 0; k < 2; k++) {
        free(r->rgb[k]);
        free(r->inv_depth[k]);
    }
    memset(r, 0, sizeof *r);
}

int ds_render_fill_passes(const ds_render_view *v) {
    const int side = v->out_w > v->out_h ? v->out_w : v->out_h;
    return 2 + 2 * (side / v->fill_reach + 1);
}

static void atomic_min_u64(uint64_t *p, uint64_t v) {
    uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Both triangles of quad (i, j) into the z-buffer, over the pixel box of
 * the quad's corners (each triangle's own pixels are among them; the
 * barycentric test decides, as it does for the GPU's box per triangle). Most
 * quads of a wide view cover no pixel centre and stop at the box. */
static void rasterize_quad(const ds_render_view *v, const float *proj, uint64_t *keys, int i, int j) {
    const int64_t a = (int64_t)j * v->grid_w + i;
    const float *corner[4] = {proj + a * 3, proj + (a + 1) * 3, proj + (a + v->grid_w) * 3,
                              proj + (a + v->grid_w + 1) * 3};
    ds_rd_setup box;
    if (!ds_rd_corner_box(v, corner, 4, &box))
        return;
    for (int half = 0; half < 2; half++) {
        int64_t idx[3];
        int gx[3], gy[3];
        ds_rd_quad_triangle(v, i, j, half, idx, gx, gy);
        const float *pv[3] = {proj + idx[0] * 3, proj + idx[1] * 3, proj + idx[2] * 3};
        float inv_area2;
        if (!ds_rd_triangle_drawn(v, pv, gx, gy, &inv_area2))
            continue;
        const uint32_t t = ds_rd_triangle_id(i, j, half);
        for (int y = box.y0; y <= box.y1; y++)
            for (int x = box.x0; x <= box.x1; x++) {
                float lambda[3];
                if (ds_rd_barycentric(pv, idx, inv_area2, x, y, lambda))
                    atomic_min_u64(keys + (int64_t)y * v->out_w + x, ds_rd_key(pv, lambda, t));
            }
    }
}

typedef struct frame_job {
    ds_render_cpu *r;
    const ds_render_grid *g;
    const ds_render_view *v;
    int src, dst;          /* hole filling: from (rgb, inv_depth)[src] into [dst] */
    _Atomic int64_t holes; /* pixels no triangle (or pass) reached */
} frame_job;

/* Row y of one hole-filling pass. */
static void fill_row(void *ctx, int64_t y, int thread) {
    (void)thread;
    frame_job *f = ctx;
    const ds_render_view *v = f->v;
    const uint8_t *rgb = f->r->rgb[f->src];
    const float *inv_depth = f->r->inv_depth[f->src];
    uint8_t *orgb = f->r->rgb[f->dst];
    float *out_inv_depth = f->r->inv_depth[f->dst];
    int64_t holes = 0;
    for (int x = 0; x < v->out_w; x++) {
        const int64_t at = y * v->out_w + x;
        if (inv_depth[at] > 0.0f) {
            memcpy(orgb + at * 3, rgb + at * 3, 3);
            out_inv_depth[at] = inv_depth[at];
            continue;
        }
        out_inv_depth[at] = ds_rd_fill(v, rgb, inv_depth, x, (int)y, orgb + at * 3);
        holes += !(out_inv_depth[at] > 0.0f);
    }
    if (holes)
        atomic_fetch_add_explicit(&f->holes, holes, memory_order_relaxed);
}

/* Row j of the vertices projected into the view. */
static void project_row(void *ctx, int64_t j, int thread) {
    (void)thread;
    const frame_job *f = ctx;
    for (int i = 0; i < f->v->grid_w; i++) {
        const int64_t k = j * f->v->grid_w + i;
        ds_rd_project(f->v, i, (int)j, f->g->z[k], f->r->proj + k * 3);
    }
}

static void clear_row(void *ctx, int64_t y, int thread) {
    (void)thread;
    const frame_job *f = ctx;
    for (int64_t k = y * f->v->out_w; k < (y + 1) * f->v->out_w; k++)
        f->r->keys[k] = DS_RENDER_EMPTY;
}

static void rasterize_row(void *ctx, int64_t j, int thread) {
    (void)thread;
    const frame_job *f = ctx;
    for (int i = 0; i < f->v->grid_w - 1; i++)
        rasterize_quad(f->v, f->r->proj, f->r->keys, i, (int)j);
}

static void resolve_row(void *ctx, int64_t y, int thread) {
    (void)thread;
    frame_job *f = ctx;
    ds_render_cpu *r = f->r;
    int64_t holes = 0;
    for (int x = 0; x < f->v->out_w; x++) {
        const int64_t k = y * f->v->out_w + x;
        const uint64_t key = r->keys[k];
        if (key == DS_RENDER_EMPTY) {
            r->inv_depth[0][k] = 0.0f;
            memset(r->rgb[0] + k * 3, 0, 3);
            holes++;
        } else {
            r->inv_depth[0][k] = ds_rd_resolve(f->v, r->proj, f->g->z, f->g->rgb, key, x, (int)y, r->rgb[0] + k * 3);
        }
    }
    if (holes)
        atomic_fetch_add_explicit(&f->holes, holes, memory_order_relaxed);
}

void ds_render_cpu_frame(ds_render_cpu *r, const ds_render_grid *g, const ds_render_view *v, uint8_t *out,
                         size_t stride) {
    frame_job f = {r, g, v, 0, 0, 0};
    ds_parallel_for(r->n_threads, v->grid_h, project_row, &f);
    ds_parallel_for(r->n_threads, v->out_h, clear_row, &f);
    /* (every vertex projected, the buffer clear) */
    ds_parallel_for(r->n_threads, v->grid_h - 1, rasterize_row, &f);
    ds_parallel_for(r->n_threads, v->out_h, resolve_row, &f);
    int64_t holes = atomic_load(&f.holes);
    /* a frame without holes (the photo's own view, small moves) skips the passes */
    int cur = 0;
    const int passes = ds_render_fill_passes(v);
    for (int p = 0; p < passes && holes > 0; p++) {
        f.src = cur;
        f.dst = !cur;
        atomic_store(&f.holes, 0);
        ds_parallel_for(r->n_threads, v->out_h, fill_row, &f);
        holes = atomic_load(&f.holes);
        cur = !cur;
    }
    for (int y = 0; y < v->out_h; y++)
        memcpy(out + (size_t)y * stride, r->rgb[cur] + (size_t)y * v->out_w * 3, (size_t)v->out_w * 3);
}
