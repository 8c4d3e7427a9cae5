/*
 * mesh_math.h: the per-vertex and per-triangle steps of ds_mesh_build,
 * shared by the plain C path (mesh/mesh_cpu.c) and the CUDA kernels
 * (kernels/mesh/mesh.cu), so that both compute the same floats (both are
 * built without FMA contraction where they are compared: the C build, and
 * the kernels under the emulator).
 */
#ifndef DS_MESH_MATH_H
#define DS_MESH_MATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/hd.h"   /* DS_HD, ds_minf, ds_maxf */
#include "mesh/mesh.h" /* ds_mesh_grid */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_vec3 {
    float x, y, z;
} ds_vec3;

/* The depth map (H, W) at (u, v): bilinear between pixel centres, edges
 * clamped; NaN and infinities read as 0 (as ds_depth_range counts them). */
DS_HD float ds_mesh_depth_at(const float *depth, const ds_mesh_grid *g, float u, float v) {
    float px = u * (float)g->width - 0.5f, py = v * (float)g->height - 0.5f;
    px = ds_minf(ds_maxf(px, 0.0f), (float)(g->width - 1));
    py = ds_minf(ds_maxf(py, 0.0f), (float)(g->height - 1));
    const int x0 = (int)px, y0 = (int)py;
    const int x1 = x0 + 1 < g->width ? x0 + 1 : x0, y1 = y0 + 1 < g->height ? y0 + 1 : y0;
    const float fx = px - (float)x0, fy = py - (float)y0;
    float p00 = depth[(int64_t)y0 * g->width + x0], p01 = depth[(int64_t)y0 * g->width + x1];
    float p10 = depth[(int64_t)y1 * g->width + x0], p11 = depth[(int64_t)y1 * g->width + x1];
    p00 = isfinite(p00) ? p00 : 0.0f;
    p01 = isfinite(p01) ? p01 : 0.0f;
    p10 = isfinite(p10) ? p10 : 0.0f;
    p11 = isfinite(p11) ? p11 : 0.0f;
    return (1.0f - fy) * ((1.0f - fx) * p00 + fx * p01) + fy * ((1.0f - fx) * p10 + fx * p11);
}

/* The normalized inverse depth n in [0, 1] (1 the nearest) of a sampled
 * value d over the map's range (lo, hi): (d - lo) / (hi - lo) for relative
 * inverse depth; for metres (g->metric) (1/d - 1/hi) / (1/lo - 1/hi), 0
 * where d <= 0; 0 everywhere when the range is flat. */
DS_HD float ds_mesh_normalized(const ds_mesh_grid *g, float d, float lo, float hi) {
    if (!(hi > lo))
        return 0.0f;
    float n;
    if (g->metric)
        n = d > 0.0f && lo > 0.0f ? (1.0f / d - 1.0f / hi) / (1.0f / lo - 1.0f / hi) : 0.0f;
    else
        n = (d - lo) / (hi - lo);
    return ds_minf(ds_maxf(n, 0.0f), 1.0f);
}

/* Metric depth of a normalized inverse depth: 1/z = 1/far + n (1/near - 1/far). */
DS_HD float ds_mesh_metric(const ds_mesh_grid *g, float n) {
    return 1.0f / (g->inv_far + n * (g->inv_near - g->inv_far));
}

/* UV of vertex (i, j). */
DS_HD float ds_mesh_u(const ds_mesh_grid *g, int i) { return g->u0 + (float)i * g->du; }
DS_HD float ds_mesh_v(const ds_mesh_grid *g, int j) { return g->v0 + (float)j * g->dv; }

/* Position of vertex (i, j); its depth in metres (or the plane's metric
 * depth of relative inverse depth) into *z. */
DS_HD ds_vec3 ds_mesh_position(const float *depth, const ds_mesh_grid *g, float lo, float hi, int i, int j,
                               float *z) {
    const float u = ds_mesh_u(g, i), v = ds_mesh_v(g, j);
    const float d = ds_mesh_depth_at(depth, g, u, v), n = ds_mesh_normalized(g, d, lo, hi);
    *z = g->metric ? d : ds_mesh_metric(g, n); /* metres are their own depth */
    ds_vec3 p;
    if (g->camera) {
        p.x = (2.0f * u - 1.0f) * g->tan_x * *z;
        p.y = (1.0f - 2.0f * v) * g->tan_y * *z;
        p.z = -*z;
    } else {
        p.x = (u - 0.5f) * g->plane_w;
        p.y = (0.5f - v) * g->plane_h;
        p.z = g->depth_scale * n;
    }
    return p;
}

/* The unit normal from the neighbours left/right (l, r) and above/below
 * (a, b) of a vertex (one-sided at the border): (r - l) x (a - b), +Z where
 * that is zero or not finite. */
DS_HD void ds_mesh_normal(ds_vec3 l, ds_vec3 r, ds_vec3 a, ds_vec3 b, float out[3]) {
    const float ex = r.x - l.x, ey = r.y - l.y, ez = r.z - l.z; /* along +u */
    const float fx = a.x - b.x, fy = a.y - b.y, fz = a.z - b.z; /* along -v (up) */
    float nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
    const float len = sqrtf(nx * nx + ny * ny + nz * nz);
    if (len > 0.0f && isfinite(len)) {
        nx /= len;
        ny /= len;
        nz /= len;
    } else {
        nx = 0.0f;
        ny = 0.0f;
        nz = 1.0f;
    }
    out[0] = nx;
    out[1] = ny;
    out[2] = nz;
}

/* The neighbours of vertex (i, j): left, right, above, below, one-sided at the border. */
DS_HD void ds_mesh_neighbours(const ds_mesh_grid *g, int i, int j, int *il, int *ir, int *ja, int *jb) {
    *il = i > 0 ? i - 1 : i;
    *ir = i + 1 < g->cols ? i + 1 : i;
    *ja = j > 0 ? j - 1 : j;
    *jb = j + 1 < g->rows ? j + 1 : j;
}

/* Triangle t: cell t / 2 with corners a (top-left), b (top-right), c
 * (bottom-left), d; (a, c, d) then (a, d, b), counter-clockwise from +Z.
 * Whether it is kept under the tear threshold, given each vertex's metric
 * depth zbuf (rows * cols). */
DS_HD bool ds_mesh_triangle(const ds_mesh_grid *g, const float *zbuf, int64_t t, uint32_t idx[3]) {
    const int64_t cell = t / 2, cx = cell % (g->cols - 1), cy = cell / (g->cols - 1);
    const uint32_t a = (uint32_t)(cy * g->cols + cx), b = a + 1, c = a + (uint32_t)g->cols, d = c + 1;
    idx[0] = a;
    idx[1] = t % 2 ? d : c;
    idx[2] = t % 2 ? b : d;
    if (!(g->tear > 0.0f))
        return true;
    const float z0 = zbuf[idx[0]], z1 = zbuf[idx[1]], z2 = zbuf[idx[2]];
    const float zmin = ds_minf(z0, ds_minf(z1, z2)), zmax = ds_maxf(z0, ds_maxf(z1, z2));
    return !(zmax - zmin > g->tear * zmin);
}

#ifdef __cplusplus
}
#endif

#endif
