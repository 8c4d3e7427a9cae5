/*
 * mesh_host.cuh: the host side of the mesh kernels (kernels/mesh/mesh_host.cu):
 * op_minmax then op_mesh_build (mesh.cuh) of a depth map in device memory,
 * into device buffers kept from one mesh to the next and grown to the
 * largest. One sequence for both callers: the CUDA backend, on the depth
 * map its photo path leaves on the device, and ds_mesh_build's round trip
 * for a depth map in host memory.
 */
#ifndef DS_KERNELS_MESH_HOST_CUH
#define DS_KERNELS_MESH_HOST_CUH

#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_rt.h" /* DS_CUDA_NS, cudaStream_t */
#include "mesh/mesh.h"   /* ds_mesh_grid */

namespace DS_CUDA_NS {

/* The device memory of one mesh; as constructed, empty. */
struct mesh_buffers {
    float *range = NULL;      /* (2) lo, hi of the depth map */
    float *vertices = NULL;   /* (cols * rows, 8) x y z nx ny nz u v */
    uint32_t *indices = NULL; /* (kept triangles, 3) */
    uint32_t *n_tri = NULL;   /* (1) kept triangles */
    void *minmax_ws = NULL, *mesh_ws = NULL;
    size_t vertex_floats = 0, index_count = 0, mesh_ws_bytes = 0; /* capacities */
};

/* The mesh of depth (g->height, g->width), device memory, built on `stream`
 * into b, grown first when g needs more than it holds (nothing is allocated
 * otherwise). Waits for the stream; the triangles kept into *n_triangles. */
ds_status mesh_build_device(mesh_buffers *b, const ds_mesh_grid *g, const float *depth, cudaStream_t stream,
                            uint32_t *n_triangles);

/* b's mesh into host memory: vertices (n_vertices, 8), indices (n_triangles, 3). */
ds_status mesh_read_back(const mesh_buffers *b, int64_t n_vertices, int64_t n_triangles, float *vertices,
                         uint32_t *indices);

/* Frees b's memory and leaves it empty. Errors are ignored (the way out). */
void mesh_buffers_free(mesh_buffers *b);

} // namespace DS_CUDA_NS

#endif
