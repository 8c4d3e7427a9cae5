/*
 * mesh.h: the layout of a mesh (ds_mesh_build), shared by the C API, the
 * kernels of kernels/mesh/mesh.cu and their reference in tests: everything the
 * kernels need, worked out once on the host from the parameters.
 */
#ifndef DS_MESH_H
#define DS_MESH_H

#include <stdint.h>

#include "depthsolve.h" /* ds_mesh_params, ds_status */

#ifdef __cplusplus
extern "C" {
#endif

/* Passed by value to the kernels: plain fields only. */
typedef struct ds_mesh_grid {
    int width, height;      /* the depth map (W, H) */
    int cols, rows;         /* vertices along x and y */
    float u0, du, v0, dv;   /* UV of vertex (i, j): (u0 + i du, v0 + j dv) */
    int camera;             /* 1: DS_MESH_CAMERA, 0: DS_MESH_PLANE */
    float plane_w, plane_h; /* plane: size in metres */
    float depth_scale;      /* plane: displacement at n = 1 */
    float tan_x, tan_y;     /* camera: half extents of the view at distance 1 */
    float inv_near, inv_far;
    float tear;             /* <= 0: no tearing */
    int metric;             /* the depth map holds metres: z = d (ds_mesh_params.metric) */
} ds_mesh_grid;

/* Checks the parameters and the size; DS_ERR_INVALID_ARGUMENT with a
 * one-line message otherwise. */
ds_status ds_mesh_plan(const ds_mesh_params *p, int width, int height, ds_mesh_grid *g);

static inline int64_t ds_mesh_vertex_count(const ds_mesh_grid *g) { return (int64_t)g->cols * g->rows; }
static inline int64_t ds_mesh_triangle_count(const ds_mesh_grid *g) {
    return 2 * (int64_t)(g->cols - 1) * (g->rows - 1);
}

/* The view a mesh of g fills (ds_mesh's cols, rows, yfov, aspect, camera_z). */
typedef struct ds_mesh_view {
    int cols, rows;
    float yfov, aspect, camera_z;
} ds_mesh_view;

ds_mesh_view ds_mesh_view_of(const ds_mesh_grid *g);
/* Its view and the bounds of its vertex positions into m (vertices filled). */
void ds_mesh_describe(const ds_mesh_grid *g, ds_mesh *m);
/* Host arrays for the vertices (n_vertices, 8) and indices (n_triangles, 3),
 * malloc'd and released by ds_mesh_free; the counts set. m is left empty on
 * failure. */
ds_status ds_mesh_alloc(ds_mesh *m, int64_t n_vertices, int64_t n_triangles);

/* The mesh of g from depth (host memory) on the CPU's cores (mesh_cpu.c):
 * what ds_mesh_build returns, before its view and bounds. */
ds_status ds_mesh_build_cpu(const ds_mesh_grid *g, const float *depth, ds_mesh *out);

#ifdef __cplusplus
}
#endif

#endif
