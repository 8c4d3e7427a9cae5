/* mesh.cu: the photo -> mesh kernels: vertices (position, normal, UV) from
 * the depth map sampled bilinearly, then the triangles, with the torn ones
 * dropped by a stable compaction (count per tile, scan of the counts, write). */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, block_size, grid_1d */
#include "kernels/mesh/mesh.cuh"   /* op_mesh_build */
#include "mesh/mesh_math.h"      /* ds_mesh_position, ds_mesh_normal, ds_mesh_triangle */

namespace DS_CUDA_NS {

enum { MESH_TRI_PER_THREAD = 4 };
/* Blocks of the grid-stride launches: at 256 threads, about what a large GPU
 * holds resident (132 SMs x 2048 threads); more only adds emulated fibers. */
static const int64_t MESH_MAX_BLOCKS = 1024;

/* grid.x: blocks of a grid-stride loop over the vertices (j, i), i fastest. */
static __global__ void mesh_vertices_kernel(const float *depth /* (H, W) */, const float *range /* (2) */,
                                            ds_mesh_grid g, float *vert /* (rows * cols, 8) */,
                                            float *zbuf /* (rows * cols) */) {
    const float lo = range[0], hi = range[1];
    const int64_t total = (int64_t)g.cols * g.rows, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += stride) {
        const int i = (int)(k % g.cols), j = (int)(k / g.cols);
        int il, ir, ja, jb;
        ds_mesh_neighbours(&g, i, j, &il, &ir, &ja, &jb);
        float z, zn;
        const ds_vec3 p = ds_mesh_position(depth, &g, lo, hi, i, j, &z);
        const ds_vec3 l = ds_mesh_position(depth, &g, lo, hi, il, j, &zn);
        const ds_vec3 r = ds_mesh_position(depth, &g, lo, hi, ir, j, &zn);
        const ds_vec3 a = ds_mesh_position(depth, &g, lo, hi, i, ja, &zn);
        const ds_vec3 b = ds_mesh_position(depth, &g, lo, hi, i, jb, &zn);
        float *o = vert + k * 8;
        o[0] = p.x;
        o[1] = p.y;
        o[2] = p.z;
        ds_mesh_normal(l, r, a, b, o + 3);
        o[6] = ds_mesh_u(&g, i);
        o[7] = ds_mesh_v(&g, j);
        zbuf[k] = z;
    }
}

/* Exclusive prefix sum of v over the block; the block's total into *total.
 * `scratch`: 32 values of shared memory. blockDim.x a multiple of 32. */
static __device__ uint32_t block_exclusive_scan(uint32_t v, uint32_t *scratch, uint32_t *total) {
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    uint32_t incl = v;
    for (int off = 1; off < 32; off <<= 1) {
        const uint32_t n = __shfl_up_sync(0xffffffffu, incl, off);
        if (lane >= (unsigned)off)
            incl += n;
    }
    __syncthreads(); /* a previous call may still read scratch */
    if (lane == 31)
        scratch[warp] = incl;
    __syncthreads();
    uint32_t w = lane < warps ? scratch[lane] : 0, wincl = w;
    for (int off = 1; off < 32; off <<= 1) {
        const uint32_t n = __shfl_up_sync(0xffffffffu, wincl, off);
        if (lane >= (unsigned)off)
            wincl += n;
    }
    /* every warp scanned the warp totals; lane `warp` holds this warp's inclusive offset */
    const uint32_t warp_incl = __shfl_sync(0xffffffffu, wincl, (int)warp);
    const uint32_t warp_w = __shfl_sync(0xffffffffu, w, (int)warp);
    *total = __shfl_sync(0xffffffffu, wincl, 31);
    return warp_incl - warp_w + incl - v;
}

/* grid.x: blocks of a grid-stride loop over tiles of blockDim.x *
 * MESH_TRI_PER_THREAD triangles; kept triangles per tile into count. */
static __global__ void mesh_tile_count_kernel(const float *zbuf /* (rows * cols) */, ds_mesh_grid g,
                                              int64_t n_tri, int64_t n_tiles, uint32_t *count /* (n_tiles) */) {
    __shared__ uint32_t scratch[32];
    const int64_t tile_len = (int64_t)blockDim.x * MESH_TRI_PER_THREAD;
    for (int64_t tile = blockIdx.x; tile < n_tiles; tile += gridDim.x) {
        uint32_t kept = 0, idx[3], total;
        for (int q = 0; q < MESH_TRI_PER_THREAD; q++) {
            const int64_t t = tile * tile_len + (int64_t)threadIdx.x * MESH_TRI_PER_THREAD + q;
            kept += t < n_tri && ds_mesh_triangle(&g, zbuf, t, idx);
        }
        block_exclusive_scan(kept, scratch, &total);
        if (threadIdx.x == 0)
            count[tile] = total;
    }
}

/* One block: count (n_tiles) -> exclusive offsets in place; the sum into *n_kept. */
static __global__ void mesh_tile_scan_kernel(uint32_t *count /* (n_tiles) */, int64_t n_tiles,
                                             uint32_t *n_kept /* (1) */) {
    __shared__ uint32_t scratch[32];
    const int64_t chunk = (n_tiles + blockDim.x - 1) / blockDim.x;
    const int64_t begin = (int64_t)threadIdx.x * chunk, end = begin + chunk < n_tiles ? begin + chunk : n_tiles;
    uint32_t sum = 0, total;
    for (int64_t i = begin; i < end; i++)
        sum += count[i];
    uint32_t run = block_exclusive_scan(sum, scratch, &total);
    for (int64_t i = begin; i < end; i++) {
        const uint32_t c = count[i];
        count[i] = run;
        run += c;
    }
    if (threadIdx.x == 0)
        *n_kept = total;
}

/* As mesh_tile_count_kernel; writes the kept triangles of each tile at its offset. */
static __global__ void mesh_tile_write_kernel(const float *zbuf /* (rows * cols) */, ds_mesh_grid g,
                                              int64_t n_tri, int64_t n_tiles,
                                              const uint32_t *offset /* (n_tiles) */,
                                              uint32_t *indices /* (kept, 3) */) {
    __shared__ uint32_t scratch[32];
    const int64_t tile_len = (int64_t)blockDim.x * MESH_TRI_PER_THREAD;
    for (int64_t tile = blockIdx.x; tile < n_tiles; tile += gridDim.x) {
        const int64_t first = tile * tile_len + (int64_t)threadIdx.x * MESH_TRI_PER_THREAD;
        uint32_t kept = 0, idx[3], total;
        for (int q = 0; q < MESH_TRI_PER_THREAD; q++)
            kept += first + q < n_tri && ds_mesh_triangle(&g, zbuf, first + q, idx);
        uint32_t at = offset[tile] + block_exclusive_scan(kept, scratch, &total);
        for (int q = 0; q < MESH_TRI_PER_THREAD; q++)
            if (first + q < n_tri && ds_mesh_triangle(&g, zbuf, first + q, idx)) {
                indices[(int64_t)at * 3 + 0] = idx[0];
                indices[(int64_t)at * 3 + 1] = idx[1];
                indices[(int64_t)at * 3 + 2] = idx[2];
                at++;
            }
    }
}

static int64_t tiles_of(const ds_mesh_grid *g, int block) {
    const int64_t len = (int64_t)block * MESH_TRI_PER_THREAD;
    return (ds_mesh_triangle_count(g) + len - 1) / len;
}

size_t op_mesh_workspace_bytes(const ds_mesh_grid *g, int block) {
    block = block > 0 ? block : 256;
    return (size_t)ds_mesh_vertex_count(g) * sizeof(float) + (size_t)tiles_of(g, block) * sizeof(uint32_t) + 256;
}

ds_status op_mesh_build(const kern_ctx *k, const ds_mesh_grid *g, const float *depth, const float *range,
                        void *workspace, float *vertices, uint32_t *indices, uint32_t *n_triangles) {
    if (!g || !depth || !range || !workspace || !vertices || !n_triangles || g->cols < 1 || g->rows < 1)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: missing buffer or empty grid");
    const int block = block_size(k, 256);
    DS_TRY(need_warps("mesh", block));
    const int64_t nv = ds_mesh_vertex_count(g), nt = ds_mesh_triangle_count(g), tiles = tiles_of(g, block);
    if (nt > 0 && !indices)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh: missing index buffer");
    float *zbuf = (float *)workspace;
    /* after zbuf, aligned to 256 bytes */
    uint32_t *count = (uint32_t *)(((uintptr_t)(zbuf + nv) + 255) & ~(uintptr_t)255);
    const unsigned vertex_blocks = (unsigned)(grid_1d(nv, block) < MESH_MAX_BLOCKS ? grid_1d(nv, block) : MESH_MAX_BLOCKS);
    DS_TRY(DS_LAUNCH(mesh_vertices_kernel, vertex_blocks, block, 0, k->stream, depth, range, *g, vertices, zbuf));
    if (nt == 0)
        return cuda_memset_async(n_triangles, 0, sizeof *n_triangles, k->stream);
    const unsigned tile_blocks = (unsigned)(tiles < MESH_MAX_BLOCKS ? tiles : MESH_MAX_BLOCKS);
    DS_TRY(DS_LAUNCH(mesh_tile_count_kernel, tile_blocks, block, 0, k->stream, zbuf, *g, nt, tiles, count));
    DS_TRY(DS_LAUNCH(mesh_tile_scan_kernel, 1, block, 0, k->stream, count, tiles, n_triangles));
    return DS_LAUNCH(mesh_tile_write_kernel, tile_blocks, block, 0, k->stream, zbuf, *g, nt, tiles,
                     (const uint32_t *)count, indices);
}

} // namespace DS_CUDA_NS
