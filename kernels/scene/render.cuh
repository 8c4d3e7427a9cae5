/*
 * render.cuh: the op entries of kernels/scene/render.cu, a frame of a scene
 * (ds_scene_render, depthsolve.h) on the GPU, step by step as render_cpu.c:
 *
 *   op_render_project(k, &view, z, proj);
 *   cuda_memset_async(keys, 0xFF, ...);            (DS_RENDER_EMPTY)
 *   op_render_raster(k, &view, proj, keys);
 *   op_render_resolve(k, &view, proj, z, grid_rgb, keys, rgb, inv_depth);
 *   op_render_fill(k, &view, rgb, inv_depth, rgb2, inv_depth2, holes);  (until no holes)
 *
 * All pointers are device memory; render_math.h has the arithmetic.
 */
#ifndef DS_KERNELS_RENDER_CUH
#define DS_KERNELS_RENDER_CUH

#include <stdint.h>

#include "gpu/gpu_rt.h"      /* DS_CUDA_NS */
#include "kernels/kernels.h"     /* kern_ctx */
#include "scene/render_math.h" /* ds_render_view */

namespace DS_CUDA_NS {

/* z (vertices) -> proj (vertices, 3): x, y, depth in the frame. */
ds_status op_render_project(const kern_ctx *k, const ds_render_view *v, const float *z, float *proj);
/* Every drawn triangle's pixels: keys (H, W) <- min(key, depth bits | triangle). */
ds_status op_render_raster(const kern_ctx *k, const ds_render_view *v, const float *proj, uint64_t *keys);
/* keys -> rgb (H, W, 3) sampled from grid_rgb (grid_h, grid_w, 3), and
 * inv_depth (H, W): the inverse depth along the view, 0 where empty. */
ds_status op_render_resolve(const kern_ctx *k, const ds_render_view *v, const float *proj, const float *z,
                            const uint8_t *grid_rgb, const uint64_t *keys, uint8_t *rgb, float *inv_depth);
/* One hole-filling pass (rgb, inv_depth) -> (rgb_out, inv_depth_out); adds
 * the holes it leaves to *holes. */
ds_status op_render_fill(const kern_ctx *k, const ds_render_view *v, const uint8_t *rgb, const float *inv_depth,
                         uint8_t *rgb_out, float *inv_depth_out, uint32_t *holes);

} // namespace DS_CUDA_NS

#endif
