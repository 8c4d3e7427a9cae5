/* engine/mesh.c: a photo to its mesh through the engine (ds_engine_mesh_rgb8
 * and its device variant). A backend with a device meshes the depth map
 * where the network left it (backend.h, photo->mesh_rgb8); the CPU solves,
 * then runs ds_mesh_build on the host depth map. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h" /* ds_engine_backend, ds_engine_prepare_network */
#include "base/error.h"           /* ds_fail */
#include "mesh/mesh.h"            /* ds_mesh_plan, ds_mesh_describe, ds_mesh_alloc */

/* The checks of both variants, the grid and the network size; *mp the
 * parameters with the model's quantity (metres for a metric model).
 * fov_deg 0 asks for the model's estimate: *estimate set when the model
 * estimates the camera (the field of view is then known after the run),
 * else the default field of view. */
static ds_status check(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                       const ds_solve_params *solve, const ds_mesh_params *params, const void *out,
                       ds_mesh_params *mp, ds_mesh_grid *g, int *net_w, int *net_h, bool *estimate) {
    *estimate = false;
    if (!e || !rgb || !out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: NULL engine, photo or output");
    DS_TRY(ds_engine_input_size(e, width, height, solve, net_w, net_h));
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: stride %zu < 3 x width %d", stride, width);
    if (!params)
        return ds_mesh_plan(NULL, width, height, g); /* says so */
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    *mp = *params;
    mp->metric = info.quantity == DS_DEPTH_METRIC || info.quantity == DS_DEPTH_RELATIVE; /* depth: z = d */
    if (mp->fov_deg == 0.0f) {
        *estimate = (info.outputs & DS_OUTPUT_CAMERA) != 0;
        mp->fov_deg = ds_mesh_default_params().fov_deg; /* the estimate replaces it after the run */
    }
    return ds_mesh_plan(mp, width, height, g);
}

/* The photo's depth map and mesh on the backend's device (backend.h, photo->mesh_rgb8). */
static ds_status mesh_on_device(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride, int nw,
                                int nh, const ds_mesh_grid *g, float *depth_out, ds_backend_mesh *dev) {
    void *state, *prepared;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    DS_TRY(ds_engine_prepare_network(e, nh, nw, &prepared));
    return b->photo->mesh_rgb8(state, prepared, rgb, width, height, stride, g, depth_out, dev);
}

/* Whether the backend meshes on its device (not Depth Anything 3's photo path: on the host). */
static bool meshes_on_device(const ds_engine *e) {
    void *state;
    ds_model_info info;
    return ds_engine_backend(e, &state)->photo != NULL && ds_engine_model_info(e, &info) == DS_OK && !info.resize_da3;
}

/* Solve, then ds_mesh_build on the host depth map (into depth_out when given),
 * with the field of view along the long side the model estimated if asked. */
static ds_status mesh_on_host(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                              const ds_solve_params *solve, const ds_mesh_params *params, bool estimate,
                              float *depth_out, ds_mesh *out) {
    float *depth = depth_out ? depth_out : malloc((size_t)width * height * sizeof *depth);
    if (!depth)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "mesh: out of memory for a %dx%d depth map", width, height);
    ds_extras ex = {0};
    ds_mesh_params p = *params;
    ds_status s = ds_engine_solve_rgb8_ex(e, rgb, width, height, stride, solve, depth, estimate ? &ex : NULL);
    if (s == DS_OK && estimate && ex.has_camera)
        p.fov_deg = width >= height ? ex.camera.fov_x_deg : ex.camera.fov_y_deg;
    if (s == DS_OK)
        s = ds_mesh_build(depth, width, height, &p, out);
    if (depth != depth_out)
        free(depth);
    return s;
}

ds_status ds_engine_mesh_rgb8(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                              const ds_solve_params *solve, const ds_mesh_params *params, float *depth_out,
                              ds_mesh *out) {
    if (out)
        memset(out, 0, sizeof *out);
    ds_mesh_params mp;
    ds_mesh_grid g;
    int nw, nh;
    bool estimate;
    DS_TRY(check(e, rgb, width, height, stride, solve, params, out, &mp, &g, &nw, &nh, &estimate));
    if (!meshes_on_device(e) || estimate)
        return mesh_on_host(e, rgb, width, height, stride, solve, &mp, estimate, depth_out, out);
    ds_backend_mesh dev;
    DS_TRY(mesh_on_device(e, rgb, width, height, stride, nw, nh, &g, depth_out, &dev));
    DS_TRY(ds_mesh_alloc(out, dev.n_vertices, dev.n_triangles));
    void *state;
    const ds_status s = ds_engine_backend(e, &state)->photo->read_mesh(state, out->vertices, out->indices);
    if (s != DS_OK) {
        ds_mesh_free(out);
        return s;
    }
    ds_mesh_describe(&g, out);
    return DS_OK;
}

ds_status ds_engine_mesh_rgb8_device(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                                     const ds_solve_params *solve, const ds_mesh_params *params,
                                     float *depth_out, ds_mesh_device *out) {
    if (out)
        memset(out, 0, sizeof *out);
    ds_mesh_params mp;
    ds_mesh_grid g;
    int nw, nh;
    bool estimate;
    DS_TRY(check(e, rgb, width, height, stride, solve, params, out, &mp, &g, &nw, &nh, &estimate));
    if (!meshes_on_device(e) || estimate) { /* a camera-estimating model meshes on the host */
        ds_model_info info;
        DS_TRY(ds_engine_model_info(e, &info));
        return ds_fail(DS_ERR_UNSUPPORTED, "mesh: the %s backend has no device memory (ds_engine_mesh_rgb8 "
                       "gives the mesh in host memory)", info.device);
    }
    ds_backend_mesh dev;
    DS_TRY(mesh_on_device(e, rgb, width, height, stride, nw, nh, &g, depth_out, &dev));
    const ds_mesh_view view = ds_mesh_view_of(&g);
    out->vertices = dev.vertices;
    out->indices = dev.indices;
    out->n_vertices = dev.n_vertices;
    out->n_triangles = dev.n_triangles;
    out->cols = view.cols;
    out->rows = view.rows;
    out->yfov = view.yfov;
    out->aspect = view.aspect;
    out->camera_z = view.camera_z;
    out->device = dev.device;
    out->stream = dev.stream;
    return DS_OK;
}
