/*
 * binding_ref.c: the C side of the Python binding's and the Blender
 * extension's tests. Each command calls the C API as a C embedder would and
 * writes what it returns, for the tests to compare element for element with
 * what the binding returns for the same photo, model and parameters.
 *
 *   binding_ref layout                      sizeof and offsetof of the public structs
 *   binding_ref solve MODEL DEVICE IMAGE OUT [GRID,PLANE|CAMERA,DEPTH_SCALE,FOV,NEAR,FAR,TEAR]...
 *                                            OUT.rgb the decoded photo (RGB8 rows), OUT.depth
 *                                            (H, W) f32 (ds_engine_solve_rgb8); for the k-th
 *                                            mesh (ds_engine_mesh_rgb8): OUT.meshK.vertices
 *                                            (n, 8) f32, .indices (n, 3) u32, .depth; prints
 *                                            "W H", then each mesh's fields on a line
 *   binding_ref focus DEPTH.f32 W H          ds_depth_focus
 *   binding_ref path MOTION STRENGTH FOCUS NEAR FAR FOV T...
 *                                            ds_camera_on_path at each t: position, rotation, focal scale
 *
 * One process, one engine: MODEL is resolved as the CLI's --model
 * (src/model_store.c). Floats are printed with 9 significant digits (exact
 * for float32). Exit status 1 with the library's message on failure.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "src/io/image.h"    /* ds_image_read */
#include "src/model_store.h" /* ds_open_model */

static int failed(const char *what) {
    fprintf(stderr, "binding_ref %s: %s\n", what, ds_last_error());
    return 1;
}

static int write_file(const char *path, const void *data, size_t bytes) {
    FILE *f = fopen(path, "wb");
    const int ok = f && fwrite(data, 1, bytes, f) == bytes;
    if (f && fclose(f) != 0)
        return 0;
    return ok;
}

#define FIELD(T, f) printf(" %s:%zu", #f, offsetof(T, f))

static int layout(void) {
    printf("ds_engine_params %zu", sizeof(ds_engine_params));
    FIELD(ds_engine_params, model_path); FIELD(ds_engine_params, device); FIELD(ds_engine_params, device_index);
    FIELD(ds_engine_params, n_threads); FIELD(ds_engine_params, reference); FIELD(ds_engine_params, profile);
    FIELD(ds_engine_params, log); FIELD(ds_engine_params, log_user); FIELD(ds_engine_params, autotune);
    FIELD(ds_engine_params, precision);
    printf("\nds_model_info %zu", sizeof(ds_model_info));
    FIELD(ds_model_info, arch); FIELD(ds_model_info, arch_name); FIELD(ds_model_info, net_size);
    FIELD(ds_model_info, input_multiple); FIELD(ds_model_info, resize_upper_bound); FIELD(ds_model_info, mean);
    FIELD(ds_model_info, std); FIELD(ds_model_info, n_params); FIELD(ds_model_info, n_threads);
    FIELD(ds_model_info, device); FIELD(ds_model_info, fixed_size);
    FIELD(ds_model_info, resize_lower_bound); FIELD(ds_model_info, depth_resize); FIELD(ds_model_info, quantity);
    FIELD(ds_model_info, max_depth); FIELD(ds_model_info, resize_da3); FIELD(ds_model_info, outputs);
    FIELD(ds_model_info, metric_focal_ref);
    printf("\nds_solve_params %zu", sizeof(ds_solve_params));
    FIELD(ds_solve_params, square); FIELD(ds_solve_params, height); FIELD(ds_solve_params, focal_x);
    FIELD(ds_solve_params, focal_y); FIELD(ds_solve_params, net_output);
    printf("\nds_mesh_params %zu", sizeof(ds_mesh_params));
    FIELD(ds_mesh_params, grid); FIELD(ds_mesh_params, projection); FIELD(ds_mesh_params, depth_scale);
    FIELD(ds_mesh_params, fov_deg); FIELD(ds_mesh_params, near_m); FIELD(ds_mesh_params, far_m);
    FIELD(ds_mesh_params, tear); FIELD(ds_mesh_params, metric);
    printf("\nds_mesh %zu", sizeof(ds_mesh));
    FIELD(ds_mesh, vertices); FIELD(ds_mesh, indices); FIELD(ds_mesh, n_vertices); FIELD(ds_mesh, n_triangles);
    FIELD(ds_mesh, cols); FIELD(ds_mesh, rows); FIELD(ds_mesh, yfov); FIELD(ds_mesh, aspect);
    FIELD(ds_mesh, camera_z); FIELD(ds_mesh, bounds_min); FIELD(ds_mesh, bounds_max);
    printf("\nds_convert_params %zu", sizeof(ds_convert_params));
    FIELD(ds_convert_params, arch); FIELD(ds_convert_params, dtype); FIELD(ds_convert_params, log);
    FIELD(ds_convert_params, log_user);
    printf("\nds_scene_params %zu", sizeof(ds_scene_params));
    FIELD(ds_scene_params, fov_deg); FIELD(ds_scene_params, near_m); FIELD(ds_scene_params, far_m);
    FIELD(ds_scene_params, margin); FIELD(ds_scene_params, tear); FIELD(ds_scene_params, edge_radius);
    FIELD(ds_scene_params, device); FIELD(ds_scene_params, device_index); FIELD(ds_scene_params, n_threads);
    printf("\nds_camera %zu", sizeof(ds_camera));
    FIELD(ds_camera, position); FIELD(ds_camera, rotation); FIELD(ds_camera, focal_scale);
    printf("\nds_path_params %zu", sizeof(ds_path_params));
    FIELD(ds_path_params, motion); FIELD(ds_path_params, strength); FIELD(ds_path_params, focus);
    printf("\n");
    return 0;
}

static ds_device device_of(const char *name) {
    return !strcmp(name, "cpu") ? DS_DEVICE_CPU : !strcmp(name, "cuda-emu") ? DS_DEVICE_CUDA_EMU : DS_DEVICE_AUTO;
}

/* "GRID,PLANE|CAMERA,DEPTH_SCALE,FOV,NEAR,FAR,TEAR" */
static int parse_mesh(const char *spec, ds_mesh_params *mp) {
    char proj[16];
    *mp = ds_mesh_default_params();
    if (sscanf(spec, "%d,%15[A-Z],%f,%f,%f,%f,%f", &mp->grid, proj, &mp->depth_scale, &mp->fov_deg, &mp->near_m,
               &mp->far_m, &mp->tear) != 7) {
        fprintf(stderr, "binding_ref: mesh '%s' is not GRID,PLANE|CAMERA,DEPTH_SCALE,FOV,NEAR,FAR,TEAR\n", spec);
        return 0;
    }
    mp->projection = !strcmp(proj, "CAMERA") ? DS_MESH_CAMERA : DS_MESH_PLANE;
    return 1;
}

static int write_mesh(const char *out, int k, const ds_mesh *m, const float *depth, size_t n) {
    char path[4096];
    int ok = 1;
    snprintf(path, sizeof path, "%s.mesh%d.vertices", out, k);
    ok &= write_file(path, m->vertices, (size_t)m->n_vertices * 8 * sizeof(float));
    snprintf(path, sizeof path, "%s.mesh%d.indices", out, k);
    ok &= write_file(path, m->indices, (size_t)m->n_triangles * 3 * sizeof(uint32_t));
    snprintf(path, sizeof path, "%s.mesh%d.depth", out, k);
    ok &= write_file(path, depth, n * sizeof *depth);
    printf("%lld %lld %d %d %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g\n", (long long)m->n_vertices,
           (long long)m->n_triangles, m->cols, m->rows, (double)m->yfov, (double)m->aspect, (double)m->camera_z,
           (double)m->bounds_min[0], (double)m->bounds_min[1], (double)m->bounds_min[2], (double)m->bounds_max[0],
           (double)m->bounds_max[1], (double)m->bounds_max[2]);
    return ok;
}

/* The photo decoded and the model opened as the CLI does; the depth map
 * (ds_engine_solve_rgb8), then each mesh (ds_engine_mesh_rgb8). */
static int solve(int argc, char **a) {
    ds_image img;
    if (ds_image_read(a[2], 0, &img) != DS_OK)
        return failed("photo");
    ds_engine_params p = ds_engine_default_params();
    p.device = device_of(a[1]);
    ds_engine *e;
    if (ds_open_model(a[0], &p, &e) != DS_OK) {
        ds_image_free(&img);
        return failed("model");
    }
    const char *out = a[3];
    const size_t n = (size_t)img.width * img.height, stride = (size_t)img.width * 3;
    char path[4096];
    float *d = malloc(n * sizeof *d);
    ds_solve_params sp = ds_solve_default_params();
    int rc = !d || ds_engine_solve_rgb8(e, img.rgb, img.width, img.height, stride, &sp, d) != DS_OK;
    if (rc)
        failed("depth");
    printf("%d %d\n", img.width, img.height);
    snprintf(path, sizeof path, "%s.rgb", out);
    rc = rc || !write_file(path, img.rgb, n * 3);
    snprintf(path, sizeof path, "%s.depth", out);
    rc = rc || !write_file(path, d, n * sizeof *d);
    for (int k = 4; k < argc && !rc; k++) {
        ds_mesh_params mp;
        ds_mesh m;
        memset(&m, 0, sizeof m);
        rc = !parse_mesh(a[k], &mp);
        if (!rc && ds_engine_mesh_rgb8(e, img.rgb, img.width, img.height, stride, NULL, &mp, d, &m) != DS_OK)
            rc = failed("mesh");
        if (!rc && !write_mesh(out, k - 4, &m, d, n))
            rc = failed("mesh output");
        ds_mesh_free(&m);
    }
    free(d);
    ds_engine_free(e);
    ds_image_free(&img);
    return rc;
}

static int focus(char **a) {
    const int w = atoi(a[1]), h = atoi(a[2]);
    const size_t n = (size_t)w * h;
    float *d = malloc(n * sizeof *d);
    FILE *f = fopen(a[0], "rb");
    const int ok = d && f && fread(d, sizeof *d, n, f) == n;
    if (f)
        fclose(f);
    if (ok)
        printf("%.9g\n", (double)ds_depth_focus(d, w, h));
    else
        fprintf(stderr, "binding_ref focus: %s: cannot read %zu floats\n", a[0], n);
    free(d);
    return !ok;
}

static int path(int argc, char **a) {
    ds_path_params pp = ds_path_default_params();
    pp.motion = ds_motion_from_name(a[0]);
    pp.strength = strtof(a[1], NULL);
    pp.focus = strtof(a[2], NULL);
    ds_scene_params sp = ds_scene_default_params();
    sp.near_m = strtof(a[3], NULL);
    sp.far_m = strtof(a[4], NULL);
    sp.fov_deg = strtof(a[5], NULL);
    for (int i = 6; i < argc; i++) {
        ds_camera c;
        if (ds_camera_on_path(&pp, &sp, strtof(a[i], NULL), &c) != DS_OK)
            return failed("path");
        for (int k = 0; k < 3; k++)
            printf("%.9g ", (double)c.position[k]);
        for (int k = 0; k < 9; k++)
            printf("%.9g ", (double)c.rotation[k]);
        printf("%.9g\n", (double)c.focal_scale);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    char **a = argv + 2;
    const int n = argc - 2;
    if (!strcmp(cmd, "layout") && n == 0)
        return layout();
    if (!strcmp(cmd, "solve") && n >= 4)
        return solve(n, a);
    if (!strcmp(cmd, "focus") && n == 3)
        return focus(a);
    if (!strcmp(cmd, "path") && n >= 7)
        return path(n, a);
    fprintf(stderr, "usage: binding_ref layout|solve|focus|path ... (see the file's comment)\n");
    return 2;
}
