/* backend_cuda_emu_none.c: ds_backend_cuda_emu and the emulated renderer in
 * a build without the CUDA headers they are compiled against. */
#include "graph/backend.h" /* ds_backend_ops */
#include "base/error.h"   /* ds_fail */
#include "scene/render.h"  /* ds_render_gpu_*_emu */

static ds_status none_create(const ds_backend_config *cfg, void **state, char *describe,
                             size_t describe_len) {
    (void)cfg;
    (void)describe;
    (void)describe_len;
    *state = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED,
                   "cuda-emu: built without the CUDA headers (no CUDA_HOME/include/cuda_runtime.h)");
}

static void none_free(void *state) { (void)state; }

const ds_backend_ops ds_backend_cuda_emu = {.name = "cuda-emu", .create = none_create,
                                            .free = none_free};

ds_status ds_render_gpu_create_emu(const ds_render_grid *g, int device, ds_render_gpu **out) {
    (void)g;
    (void)device;
    *out = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED,
                   "render: cuda-emu: built without the CUDA headers (no CUDA_HOME/include/cuda_runtime.h)");
}

ds_status ds_render_gpu_frame_emu(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride) {
    (void)r;
    (void)v;
    (void)out;
    (void)stride;
    return ds_fail(DS_ERR_UNSUPPORTED,
                   "render: cuda-emu: built without the CUDA headers (no CUDA_HOME/include/cuda_runtime.h)");
}

void ds_render_gpu_free_emu(ds_render_gpu *r) { (void)r; }
