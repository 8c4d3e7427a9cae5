/* render_host.cu: ds_scene's frames on a device (render.h): the scene's
 * grid uploaded once, a frame's buffers kept on the device, each frame
 * drawn by the kernels of render.cu and downloaded. The g++ build runs them
 * on the emulator (ds_render_gpu_*_emu), the nvcc build on a GPU
 * (ds_render_gpu_*_cuda). */
#include <new>
#include <string.h>

#include "kernels/common.cuh" /* DS_TRY, cuda_* */
#include "kernels/scene/render.cuh"
#include "scene/render.h" /* ds_render_grid, ds_render_fill_passes */

#if defined(__CUDACC__)
#define DS_RENDER_GPU(name) ds_render_gpu_##name##_cuda
#else
#define DS_RENDER_GPU(name) ds_render_gpu_##name##_emu
#endif

struct ds_render_gpu {
    cudaStream_t stream = NULL;
    int width = 0, height = 0;
    uint8_t *grid_rgb = NULL; /* (grid_h, grid_w, 3) */
    float *z = NULL;          /* (grid_h, grid_w) */
    float *proj = NULL;       /* (vertices, 3) */
    uint64_t *keys = NULL;    /* (H, W) */
    uint8_t *rgb[2] = {NULL, NULL};
    float *inv_depth[2] = {NULL, NULL};
    uint32_t *holes = NULL;   /* (1) */
    uint8_t *frame_host = NULL; /* (H, W, 3), page-locked */
};

namespace DS_CUDA_NS {

static void release(ds_render_gpu *r) {
    if (r->stream)
        cuda_stream_sync(r->stream);
    cuda_free(r->grid_rgb);
    cuda_free(r->z);
    cuda_free(r->proj);
    cuda_free(r->keys);
    for (int k = 0; k < 2; k++) {
        cuda_free(r->rgb[k]);
        cuda_free(r->inv_depth[k]);
    }
    cuda_free(r->holes);
    cuda_free_host(r->frame_host);
    cuda_stream_destroy(r->stream);
}

static ds_status create(ds_render_gpu *r, const ds_render_grid *g, int device) {
    int n = 0;
    char why[256] = "";
    DS_TRY(cuda_device_count(&n, why, sizeof why));
    if (n == 0)
        return ds_fail(DS_ERR_DEVICE, "render: no CUDA device: %s", why[0] ? why : "none found");
    if (device < 0 || device >= n)
        return ds_fail(DS_ERR_DEVICE, "render: no CUDA device %d (%d found)", device, n);
    DS_TRY(cuda_set_device(device));
    const size_t nv = (size_t)g->grid_w * g->grid_h, np = (size_t)g->width * g->height;
    r->width = g->width;
    r->height = g->height;
    DS_TRY(cuda_stream_create(&r->stream));
    DS_TRY(cuda_malloc((void **)&r->grid_rgb, nv * 3));
    DS_TRY(cuda_malloc((void **)&r->z, nv * sizeof(float)));
    DS_TRY(cuda_malloc((void **)&r->proj, nv * 3 * sizeof(float)));
    DS_TRY(cuda_malloc((void **)&r->keys, np * sizeof(uint64_t)));
    for (int k = 0; k < 2; k++) {
        DS_TRY(cuda_malloc((void **)&r->rgb[k], np * 3));
        DS_TRY(cuda_malloc((void **)&r->inv_depth[k], np * sizeof(float)));
    }
    DS_TRY(cuda_malloc((void **)&r->holes, sizeof(uint32_t)));
    DS_TRY(cuda_malloc_host((void **)&r->frame_host, np * 3));
    DS_TRY(cuda_memcpy(r->grid_rgb, g->rgb, nv * 3, cudaMemcpyHostToDevice));
    return cuda_memcpy(r->z, g->z, nv * sizeof(float), cudaMemcpyHostToDevice);
}

static ds_status frame(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride) {
    const size_t np = (size_t)r->width * r->height;
    /* Under the emulator every CUDA thread is a fiber: fewer, each looping
     * more, cost less (as kernels/mesh/mesh_host.cu). */
    const kern_ctx k = {r->stream, cuda_is_emulated() ? 32 : 0};
    DS_TRY(op_render_project(&k, v, r->z, r->proj));
    DS_TRY(cuda_memset_async(r->keys, 0xFF, np * sizeof(uint64_t), r->stream));
    DS_TRY(op_render_raster(&k, v, r->proj, r->keys));
    DS_TRY(op_render_resolve(&k, v, r->proj, r->z, r->grid_rgb, r->keys, r->rgb[0], r->inv_depth[0]));
    int cur = 0;
    const int passes = ds_render_fill_passes(v);
    for (int p = 0; p < passes; p++) {
        uint32_t holes = 0;
        DS_TRY(cuda_memset_async(r->holes, 0, sizeof holes, r->stream));
        DS_TRY(op_render_fill(&k, v, r->rgb[cur], r->inv_depth[cur], r->rgb[!cur], r->inv_depth[!cur], r->holes));
        DS_TRY(cuda_memcpy_async(&holes, r->holes, sizeof holes, cudaMemcpyDeviceToHost, r->stream));
        DS_TRY(cuda_stream_sync(r->stream));
        cur = !cur;
        if (holes == 0)
            break;
    }
    DS_TRY(cuda_memcpy_async(r->frame_host, r->rgb[cur], np * 3, cudaMemcpyDeviceToHost, r->stream));
    DS_TRY(cuda_stream_sync(r->stream));
    for (int y = 0; y < r->height; y++)
        memcpy(out + (size_t)y * stride, r->frame_host + (size_t)y * r->width * 3, (size_t)r->width * 3);
    return DS_OK;
}

} // namespace DS_CUDA_NS

extern "C" ds_status DS_RENDER_GPU(create)(const ds_render_grid *g, int device, ds_render_gpu **out) {
    *out = NULL;
    ds_render_gpu *r = new (std::nothrow) ds_render_gpu();
    if (!r)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "render: out of memory");
    const ds_status s = DS_CUDA_NS::create(r, g, device);
    if (s != DS_OK) {
        DS_CUDA_NS::release(r);
        delete r;
        return s;
    }
    *out = r;
    return DS_OK;
}

extern "C" ds_status DS_RENDER_GPU(frame)(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride) {
    return DS_CUDA_NS::frame(r, v, out, stride);
}

extern "C" void DS_RENDER_GPU(free)(ds_render_gpu *r) {
    if (!r)
        return;
    DS_CUDA_NS::release(r);
    delete r;
}
