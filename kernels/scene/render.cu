/* render.cu: a frame of a scene on the GPU (render.cuh), thread for thread
 * the loops of runtime/scene/render_cpu.c over the steps of render_math.h: one
 * thread a vertex, a triangle, a pixel. The z-buffer is a 64-bit atomic
 * minimum (depth bits, triangle), so the frame does not depend on the order
 * the triangles are drawn in and equals the C path's. */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, block_size, grid_1d */
#include "kernels/scene/render.cuh"

namespace DS_CUDA_NS {

/* Grid-stride launches: about what a large GPU holds resident. */
static const int64_t RENDER_MAX_BLOCKS = 1024;

static unsigned blocks_for(int64_t n, int block) {
    const unsigned g = grid_1d(n, block);
    return g < RENDER_MAX_BLOCKS ? g : (unsigned)RENDER_MAX_BLOCKS;
}

static __global__ void render_project_kernel(ds_render_view v, const float *z /* (vertices) */,
                                             float *proj /* (vertices, 3) */) {
    const int64_t n = (int64_t)v.grid_w * v.grid_h, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride)
        ds_rd_project(&v, (int)(k % v.grid_w), (int)(k / v.grid_w), z[k], proj + k * 3);
}

static __global__ void render_raster_kernel(ds_render_view v, const float *proj /* (vertices, 3) */,
                                            unsigned long long *keys /* (H, W) */) {
    const int64_t n = ds_rd_triangle_count(&v), stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) {
        const int quads_per_row = v.grid_w - 1, half = (int)(k % 2);
        const int i = (int)(k / 2 % quads_per_row), j = (int)(k / 2 / quads_per_row);
        const uint32_t t = ds_rd_triangle_id(i, j, half);
        int64_t idx[3];
        int gx[3], gy[3];
        ds_rd_quad_triangle(&v, i, j, half, idx, gx, gy);
        const float *pv[3] = {proj + idx[0] * 3, proj + idx[1] * 3, proj + idx[2] * 3};
        ds_rd_setup s;
        if (!ds_rd_setup_triangle(&v, pv, gx, gy, &s))
            continue;
        for (int y = s.y0; y <= s.y1; y++)
            for (int x = s.x0; x <= s.x1; x++) {
                float lambda[3];
                if (ds_rd_barycentric(pv, idx, s.inv_area2, x, y, lambda))
                    atomicMin(keys + (int64_t)y * v.out_w + x, (unsigned long long)ds_rd_key(pv, lambda, t));
            }
    }
}

static __global__ void render_resolve_kernel(ds_render_view v, const float *proj, const float *z,
                                             const uint8_t *grid_rgb, const uint64_t *keys /* (H, W) */,
                                             uint8_t *rgb /* (H, W, 3) */, float *inv_depth /* (H, W) */) {
    const int64_t n = (int64_t)v.out_w * v.out_h, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) {
        const uint64_t key = keys[k];
        if (key == DS_RENDER_EMPTY) {
            inv_depth[k] = 0.0f;
            rgb[k * 3] = rgb[k * 3 + 1] = rgb[k * 3 + 2] = 0;
        } else {
            const int x = (int)(k % v.out_w), y = (int)(k / v.out_w);
            inv_depth[k] = ds_rd_resolve(&v, proj, z, grid_rgb, key, x, y, rgb + k * 3);
        }
    }
}

static __global__ void render_fill_kernel(ds_render_view v, const uint8_t *rgb, const float *inv_depth,
                                          uint8_t *rgb_out, float *inv_depth_out, uint32_t *holes /* (1) */) {
    const int64_t n = (int64_t)v.out_w * v.out_h, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += stride) {
        if (inv_depth[k] > 0.0f) {
            rgb_out[k * 3] = rgb[k * 3];
            rgb_out[k * 3 + 1] = rgb[k * 3 + 1];
            rgb_out[k * 3 + 2] = rgb[k * 3 + 2];
            inv_depth_out[k] = inv_depth[k];
            continue;
        }
        inv_depth_out[k] = ds_rd_fill(&v, rgb, inv_depth, (int)(k % v.out_w), (int)(k / v.out_w), rgb_out + k * 3);
        if (!(inv_depth_out[k] > 0.0f))
            atomicAdd(holes, 1u);
    }
}

ds_status op_render_project(const kern_ctx *k, const ds_render_view *v, const float *z, float *proj) {
    const int block = block_size(k, 256);
    return DS_LAUNCH(render_project_kernel, blocks_for((int64_t)v->grid_w * v->grid_h, block), block, 0, k->stream,
                     *v, z, proj);
}

ds_status op_render_raster(const kern_ctx *k, const ds_render_view *v, const float *proj, uint64_t *keys) {
    const int block = block_size(k, 256);
    return DS_LAUNCH(render_raster_kernel, blocks_for(ds_rd_triangle_count(v), block), block, 0, k->stream, *v,
                     proj, (unsigned long long *)keys);
}

ds_status op_render_resolve(const kern_ctx *k, const ds_render_view *v, const float *proj, const float *z,
                            const uint8_t *grid_rgb, const uint64_t *keys, uint8_t *rgb, float *inv_depth) {
    const int block = block_size(k, 256);
    return DS_LAUNCH(render_resolve_kernel, blocks_for((int64_t)v->out_w * v->out_h, block), block, 0, k->stream,
                     *v, proj, z, grid_rgb, keys, rgb, inv_depth);
}

ds_status op_render_fill(const kern_ctx *k, const ds_render_view *v, const uint8_t *rgb, const float *inv_depth,
                         uint8_t *rgb_out, float *inv_depth_out, uint32_t *holes) {
    const int block = block_size(k, 256);
    return DS_LAUNCH(render_fill_kernel, blocks_for((int64_t)v->out_w * v->out_h, block), block, 0, k->stream,
                     *v, rgb, inv_depth, rgb_out, inv_depth_out, holes);
}

} // namespace DS_CUDA_NS
