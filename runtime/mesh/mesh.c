/* mesh.c: ds_mesh_build's parameters and layout; the building itself is
 * mesh_cpu.c on the CPU, kernels/mesh/mesh.cu on a device. */
#include "mesh/mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"       /* ds_fail */
#include "base/large_alloc.h" /* ds_large_alloc */

enum { MESH_MAX_GRID = 16384 };

ds_mesh_params ds_mesh_default_params(void) {
    ds_mesh_params p = {128, DS_MESH_PLANE, 0.25f, 55.0f, 1.0f, 10.0f, 0.0f, 0};
    return p;
}

ds_status ds_mesh_plan(const ds_mesh_params *p, int width, int height, ds_mesh_grid *g) {
    memset(g, 0, sizeof *g);
    if (!p)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: no parameters");
    if (width < 1 || height < 1 || (int64_t)width * height > ((int64_t)1 << 30))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: a %dx%d depth map is not one we mesh", width, height);
    if (p->grid < 0 || p->grid > MESH_MAX_GRID)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: grid %d is outside 0..%d", p->grid, MESH_MAX_GRID);
    if (p->projection != DS_MESH_PLANE && p->projection != DS_MESH_CAMERA)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: unknown projection %d", (int)p->projection);
    if (!(p->fov_deg > 0.0f && p->fov_deg < 180.0f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: field of view %g is outside (0, 180) degrees",
                       (double)p->fov_deg);
    if (!(p->near_m > 0.0f && p->far_m > p->near_m && isfinite(p->far_m)))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: near %g and far %g need 0 < near < far",
                       (double)p->near_m, (double)p->far_m);
    if (!isfinite(p->depth_scale) || !isfinite(p->tear))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: depth scale and tear must be finite");
    g->width = width;
    g->height = height;
    if (p->grid == 0) { /* a vertex at every pixel centre */
        g->cols = width;
        g->rows = height;
        g->u0 = 0.5f / (float)width;
        g->v0 = 0.5f / (float)height;
        g->du = 1.0f / (float)width;
        g->dv = 1.0f / (float)height;
    } else { /* grid cells along the long side, as many as keep them square along the short one */
        const int lng = width > height ? width : height, shrt = width > height ? height : width;
        int cells_short = (int)lround((double)p->grid * shrt / lng);
        if (cells_short < 1)
            cells_short = 1;
        const int cx = width >= height ? p->grid : cells_short, cy = width >= height ? cells_short : p->grid;
        g->cols = cx + 1;
        g->rows = cy + 1;
        g->du = 1.0f / (float)cx;
        g->dv = 1.0f / (float)cy;
    }
    g->camera = p->projection == DS_MESH_CAMERA;
    g->plane_h = 1.0f;
    g->plane_w = (float)width / (float)height;
    g->depth_scale = p->depth_scale;
    const float t = tanf(p->fov_deg * (float)M_PI / 360.0f);
    g->tan_x = width >= height ? t : t * (float)width / (float)height;
    g->tan_y = width >= height ? t * (float)height / (float)width : t;
    g->inv_near = 1.0f / p->near_m;
    g->inv_far = 1.0f / p->far_m;
    g->tear = p->tear;
    g->metric = p->metric != 0;
    return DS_OK;
}

ds_mesh_view ds_mesh_view_of(const ds_mesh_grid *g) {
    ds_mesh_view v;
    v.cols = g->cols;
    v.rows = g->rows;
    v.yfov = 2.0f * atanf(g->tan_y);
    v.aspect = (float)g->width / (float)g->height;
    v.camera_z = g->camera ? 0.0f : 0.5f * g->plane_h / g->tan_y;
    return v;
}

void ds_mesh_describe(const ds_mesh_grid *g, ds_mesh *m) {
    const ds_mesh_view view = ds_mesh_view_of(g);
    m->cols = view.cols;
    m->rows = view.rows;
    m->yfov = view.yfov;
    m->aspect = view.aspect;
    m->camera_z = view.camera_z;
    for (int k = 0; k < 3; k++) {
        m->bounds_min[k] = INFINITY;
        m->bounds_max[k] = -INFINITY;
    }
    for (int64_t v = 0; v < m->n_vertices; v++)
        for (int k = 0; k < 3; k++) {
            const float x = m->vertices[v * 8 + k];
            m->bounds_min[k] = fminf(m->bounds_min[k], x);
            m->bounds_max[k] = fmaxf(m->bounds_max[k], x);
        }
}

ds_status ds_mesh_alloc(ds_mesh *m, int64_t n_vertices, int64_t n_triangles) {
    memset(m, 0, sizeof *m);
    /* huge pages: a pixel-grid mesh of a 12 MP photo is 670 MB, and its 4 KiB
     * page faults alone cost a good part of building it */
    m->vertices = ds_large_alloc((size_t)n_vertices * 8 * sizeof(float));
    /* at least one triangle's room: malloc(0) may give NULL */
    m->indices = ds_large_alloc((size_t)(n_triangles ? n_triangles : 1) * 3 * sizeof(uint32_t));
    if (!m->vertices || !m->indices) {
        ds_mesh_free(m);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "mesh: out of memory for %lld vertices", (long long)n_vertices);
    }
    m->n_vertices = n_vertices;
    m->n_triangles = n_triangles;
    return DS_OK;
}

ds_status ds_mesh_build(const float *depth, int width, int height, const ds_mesh_params *params,
                        ds_mesh *out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: no output");
    memset(out, 0, sizeof *out);
    if (!depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: no depth map");
    ds_mesh_grid g;
    DS_TRY(ds_mesh_plan(params, width, height, &g));
    DS_TRY(ds_mesh_build_cpu(&g, depth, out));
    ds_mesh_describe(&g, out);
    return DS_OK;
}

void ds_mesh_free(ds_mesh *m) {
    if (!m)
        return;
    free(m->vertices);
    free(m->indices);
    memset(m, 0, sizeof *m);
}
