/* mesh_host.cu: ds_mesh_build's device round trip for callers with the
 * depth map in host memory: upload, op_minmax, op_mesh_build, download.
 * The g++ build is the CPU path (ds_mesh_build_emu), the nvcc build the GPU
 * one (ds_mesh_build_cuda). */
#include <stdlib.h>
#include <string.h>

#include "common.cuh" /* DS_TRY, cuda_* */
#include "mesh.cuh"   /* op_mesh_build */

#if defined(__CUDACC__)
#define DS_MESH_BUILD_HOST ds_mesh_build_cuda
#else
#define DS_MESH_BUILD_HOST ds_mesh_build_emu
#endif

namespace DS_CUDA_NS {

struct mesh_dev {
    cudaStream_t stream = NULL;
    float *depth = NULL, *range = NULL, *vertices = NULL;
    uint32_t *indices = NULL, *n_tri = NULL;
    void *minmax_ws = NULL, *mesh_ws = NULL;
};

static void release(mesh_dev *d) {
    cuda_free(d->depth);
    cuda_free(d->range);
    cuda_free(d->vertices);
    cuda_free(d->indices);
    cuda_free(d->n_tri);
    cuda_free(d->minmax_ws);
    cuda_free(d->mesh_ws);
    cuda_stream_destroy(d->stream);
}

static ds_status build(mesh_dev *d, const ds_mesh_grid *g, const float *depth, ds_mesh *out) {
    const size_t npix = (size_t)g->width * g->height, nv = (size_t)ds_mesh_vertex_count(g);
    const size_t nt = (size_t)ds_mesh_triangle_count(g);
    /* Under the emulator each CUDA thread is a fiber: fewer threads, each
     * doing more of the grid-stride loops, cost less (1920x1080 measured
     * 1.2 s for op_minmax at 256 threads a block, 0.14 s at 32). */
    kern_ctx k = {NULL, cuda_is_emulated() ? 32 : 0};
    DS_TRY(cuda_stream_create(&d->stream));
    k.stream = d->stream;
    DS_TRY(cuda_malloc((void **)&d->depth, npix * sizeof(float)));
    DS_TRY(cuda_malloc((void **)&d->range, 2 * sizeof(float)));
    DS_TRY(cuda_malloc((void **)&d->vertices, nv * 8 * sizeof(float)));
    DS_TRY(cuda_malloc((void **)&d->indices, (nt ? nt : 1) * 3 * sizeof(uint32_t)));
    DS_TRY(cuda_malloc((void **)&d->n_tri, sizeof(uint32_t)));
    DS_TRY(cuda_malloc(&d->minmax_ws, op_minmax_workspace_bytes()));
    DS_TRY(cuda_malloc(&d->mesh_ws, op_mesh_workspace_bytes(g, k.block)));
    DS_TRY(cuda_memcpy_async(d->depth, depth, npix * sizeof(float), cudaMemcpyHostToDevice, d->stream));
    DS_TRY(op_minmax(&k, d->depth, (int64_t)npix, d->minmax_ws, d->range));
    DS_TRY(op_mesh_build(&k, g, d->depth, d->range, d->mesh_ws, d->vertices, d->indices, d->n_tri));
    uint32_t kept = 0;
    DS_TRY(cuda_memcpy_async(&kept, d->n_tri, sizeof kept, cudaMemcpyDeviceToHost, d->stream));
    DS_TRY(cuda_stream_sync(d->stream));
    out->vertices = (float *)malloc(nv * 8 * sizeof(float));
    out->indices = (uint32_t *)malloc(((size_t)kept ? kept : 1) * 3 * sizeof(uint32_t));
    if (!out->vertices || !out->indices)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "mesh: out of memory for %zu vertices", nv);
    out->n_vertices = (int64_t)nv;
    out->n_triangles = kept;
    DS_TRY(cuda_memcpy(out->vertices, d->vertices, nv * 8 * sizeof(float), cudaMemcpyDeviceToHost));
    return kept ? cuda_memcpy(out->indices, d->indices, (size_t)kept * 3 * sizeof(uint32_t), cudaMemcpyDeviceToHost)
                : DS_OK;
}

} // namespace DS_CUDA_NS

extern "C" ds_status DS_MESH_BUILD_HOST(const ds_mesh_grid *g, const float *depth, ds_mesh *out) {
    using namespace DS_CUDA_NS;
    memset(out, 0, sizeof *out);
    mesh_dev d;
    const ds_status s = build(&d, g, depth, out);
    release(&d);
    if (s != DS_OK)
        ds_mesh_free(out);
    return s;
}
