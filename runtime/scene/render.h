/*
 * render.h: the insides of ds_scene (depthsolve.h): the scene's grid on the
 * host, the frame's view (render_math.h), and the two ways a frame is drawn:
 * the plain C path (render_cpu.c) and the CUDA kernels (kernels/scene/render.cu,
 * on a GPU or under the emulator, through kernels/scene/render_host.cu).
 */
#ifndef DS_RENDER_H
#define DS_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "depthsolve.h"  /* ds_status, ds_camera */
#include "scene/render_math.h" /* ds_render_view */

#ifdef __cplusplus
extern "C" {
#endif

/* The scene's grid, host memory: what every frame reads. */
typedef struct ds_render_grid {
    int width, height, margin; /* the photo and its mirrored border */
    int grid_w, grid_h;        /* width + 2 margin, height + 2 margin */
    float src_f;               /* the photo camera's focal length, pixels */
    uint8_t *rgb;              /* (grid_h, grid_w, 3) */
    float *z;                  /* (grid_h, grid_w): metric depth of each vertex */
    float z_near, z_far;       /* the smallest and largest of them */
} ds_render_grid;

/* Depth ramps made steps: inverse depth q (h, w) in place, where it spans
 * more than threshold x its largest value within radius (render_edges.c). */
ds_status ds_render_sharpen(float *q, int w, int h, int radius, float threshold);

/* The view of one frame from the camera: the fields of render_math.h. */
void ds_render_view_for(const ds_render_grid *g, const ds_camera *cam, float tear, ds_render_view *v);

/* Plain C frames: buffers kept between frames, freed by ds_render_cpu_free. */
typedef struct ds_render_cpu {
    float *proj;        /* (vertices, 3): x, y, depth in the frame */
    uint64_t *keys;     /* (H, W): nearest depth bits, triangle */
    uint8_t *rgb[2];    /* (H, W, 3): resolved, then the hole-filling passes */
    float *inv_depth[2]; /* (H, W): inverse depth along the view, > 0 where drawn */
    int n_threads;
} ds_render_cpu;

ds_status ds_render_cpu_init(ds_render_cpu *r, const ds_render_grid *g, int n_threads);
void ds_render_cpu_free(ds_render_cpu *r);
/* One frame into out (H rows of `stride` bytes). */
void ds_render_cpu_frame(ds_render_cpu *r, const ds_render_grid *g, const ds_render_view *v, uint8_t *out,
                         size_t stride);

/* Hole-filling passes a frame may need: each reaches fill_reach further. */
int ds_render_fill_passes(const ds_render_view *v);

/* The CUDA kernels' frames (kernels/scene/render_host.cu): the grid uploaded
 * once, the frame's buffers on the device, the frame downloaded. emu: the
 * g++ build on the emulator, cuda: the nvcc build (DS_ERR_UNSUPPORTED
 * where it was not built). */
typedef struct ds_render_gpu ds_render_gpu;
ds_status ds_render_gpu_create_emu(const ds_render_grid *g, int device, ds_render_gpu **out);
ds_status ds_render_gpu_frame_emu(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride);
void ds_render_gpu_free_emu(ds_render_gpu *r);
ds_status ds_render_gpu_create_cuda(const ds_render_grid *g, int device, ds_render_gpu **out);
ds_status ds_render_gpu_frame_cuda(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride);
void ds_render_gpu_free_cuda(ds_render_gpu *r);

#ifdef __cplusplus
}
#endif

#endif
