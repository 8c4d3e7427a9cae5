/*
 * mesh.cuh: the op entry of kernels/mesh/mesh.cu, the photo -> mesh kernels
 * (ds_mesh_build, depthsolve.h, says what they compute). The CUDA backend
 * calls it on the depth map already in device memory, after op_minmax:
 *
 *   op_minmax(k, depth, W * H, minmax_ws, range);
 *   op_mesh_build(k, &grid, depth, range, mesh_ws, vertices, indices, n_triangles);
 *
 * All pointers are device memory. `grid` comes from ds_mesh_plan (mesh.h).
 */
#ifndef DS_KERNELS_MESH_CUH
#define DS_KERNELS_MESH_CUH

#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_rt.h"  /* DS_CUDA_NS */
#include "kernels/kernels.h" /* kern_ctx */
#include "mesh/mesh.h"    /* ds_mesh_grid */

namespace DS_CUDA_NS {

/* Workspace bytes of op_mesh_build at `block` threads per block (0: the op's choice). */
size_t op_mesh_workspace_bytes(const ds_mesh_grid *g, int block);

/* depth (H, W) and range (2: lo, hi) -> vertices (cols * rows, 8) and the
 * kept triangles, compacted in order, into indices (at most
 * ds_mesh_triangle_count, 3); their count into *n_triangles (1). */
ds_status op_mesh_build(const kern_ctx *k, const ds_mesh_grid *g, const float *depth, const float *range,
                        void *workspace, float *vertices, uint32_t *indices, uint32_t *n_triangles);

} // namespace DS_CUDA_NS

#endif
