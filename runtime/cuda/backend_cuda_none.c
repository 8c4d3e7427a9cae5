/* backend_cuda_none.c: ds_backend_cuda in a build without nvcc (or a
 * sanitizer build): the device reports why it cannot run. */
#include "graph/backend.h" /* ds_backend_ops */
#include "base/error.h"   /* ds_fail */
#include "scene/render.h"  /* ds_render_gpu_*_cuda */

static ds_status none_create(const ds_backend_config *cfg, void **state, char *describe,
                             size_t describe_len) {
    (void)cfg;
    (void)describe;
    (void)describe_len;
    *state = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED, "no CUDA device: built without CUDA (no nvcc at build time)");
}

static void none_free(void *state) { (void)state; }

const ds_backend_ops ds_backend_cuda = {.name = "cuda", .create = none_create, .free = none_free};

ds_status ds_render_gpu_create_cuda(const ds_render_grid *g, int device, ds_render_gpu **out) {
    (void)g;
    (void)device;
    *out = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED, "render: no CUDA device: built without CUDA (no nvcc at build time)");
}

ds_status ds_render_gpu_frame_cuda(ds_render_gpu *r, const ds_render_view *v, uint8_t *out, size_t stride) {
    (void)r;
    (void)v;
    (void)out;
    (void)stride;
    return ds_fail(DS_ERR_UNSUPPORTED, "render: no CUDA device: built without CUDA (no nvcc at build time)");
}

void ds_render_gpu_free_cuda(ds_render_gpu *r) { (void)r; }
