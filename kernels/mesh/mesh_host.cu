/* mesh_host.cu: the host side of the mesh kernels (mesh_host.cuh): the
 * call sequence into device buffers grown to the largest mesh, and reading
 * a mesh back. */
#include <stdlib.h>
#include <string.h>

#include "kernels/common.cuh"    /* DS_TRY, cuda_*, kern_ctx */
#include "kernels/mesh/mesh.cuh"      /* op_mesh_build, op_mesh_workspace_bytes */
#include "kernels/mesh/mesh_host.cuh" /* mesh_buffers */

namespace DS_CUDA_NS {

/* Threads per block of the mesh ops. Under the emulator each CUDA thread
 * is a fiber: fewer threads, each doing more of the grid-stride loops, cost
 * less (1920x1080 measured 1.2 s for op_minmax at 256 threads a block,
 * 0.14 s at 32). 0: the ops' own choice. */
static int mesh_block(void) { return cuda_is_emulated() ? 32 : 0; }

/* *p holds at least `need` items of `size` bytes; reallocated (contents
 * lost) only when it holds fewer. */
static ds_status grow(void **p, size_t *cap, size_t need, size_t size) {
    if (*p && need <= *cap)
        return DS_OK;
    DS_TRY(cuda_free(*p));
    *p = NULL;
    *cap = 0;
    DS_TRY(cuda_malloc(p, need * size));
    *cap = need;
    return DS_OK;
}

/* *p holds `bytes`, whatever the grid: allocated once. */
static ds_status alloc_once(void **p, size_t bytes) { return *p ? DS_OK : cuda_malloc(p, bytes); }

static ds_status reserve(mesh_buffers *b, const ds_mesh_grid *g, int block) {
    const size_t nv = (size_t)ds_mesh_vertex_count(g), nt = (size_t)ds_mesh_triangle_count(g);
    DS_TRY(alloc_once((void **)&b->range, 2 * sizeof(float)));
    DS_TRY(alloc_once((void **)&b->n_tri, sizeof(uint32_t)));
    DS_TRY(alloc_once(&b->minmax_ws, op_minmax_workspace_bytes()));
    DS_TRY(grow((void **)&b->vertices, &b->vertex_floats, nv * 8, sizeof(float)));
    DS_TRY(grow((void **)&b->indices, &b->index_count, (nt ? nt : 1) * 3, sizeof(uint32_t)));
    return grow(&b->mesh_ws, &b->mesh_ws_bytes, op_mesh_workspace_bytes(g, block), 1);
}

ds_status mesh_build_device(mesh_buffers *b, const ds_mesh_grid *g, const float *depth, cudaStream_t stream,
                            uint32_t *n_triangles) {
    const kern_ctx k = {stream, mesh_block()};
    DS_TRY(reserve(b, g, k.block));
    DS_TRY(op_minmax(&k, depth, (int64_t)g->width * g->height, b->minmax_ws, b->range));
    DS_TRY(op_mesh_build(&k, g, depth, b->range, b->mesh_ws, b->vertices, b->indices, b->n_tri));
    DS_TRY(cuda_memcpy_async(n_triangles, b->n_tri, sizeof *n_triangles, cudaMemcpyDeviceToHost, stream));
    return cuda_stream_sync(stream);
}

ds_status mesh_read_back(const mesh_buffers *b, int64_t n_vertices, int64_t n_triangles, float *vertices,
                         uint32_t *indices) {
    DS_TRY(cuda_memcpy(vertices, b->vertices, (size_t)n_vertices * 8 * sizeof(float), cudaMemcpyDeviceToHost));
    return n_triangles ? cuda_memcpy(indices, b->indices, (size_t)n_triangles * 3 * sizeof(uint32_t),
                                     cudaMemcpyDeviceToHost)
                       : DS_OK;
}

void mesh_buffers_free(mesh_buffers *b) {
    cuda_free(b->range);
    cuda_free(b->vertices);
    cuda_free(b->indices);
    cuda_free(b->n_tri);
    cuda_free(b->minmax_ws);
    cuda_free(b->mesh_ws);
    *b = mesh_buffers();
}

} // namespace DS_CUDA_NS
