/*
 * cuda/backend_photo.cu: the photo path on the device (backend.h,
 * ds_backend_photo): a photo uploaded, resized and normalized into the
 * network's input, the forward pass, the depth map resized back to the
 * photo; at once or queued, and the mesh built from the depth map where
 * it lies.
 */
#include <string.h>

#include "base/error.h"               /* DS_TRY */
#include "cuda/backend_internal.h"    /* cuda_state, cuda_shape, queue_slot, CUDA_CHECK */
#include "gpu/gpu_rt.h"               /* cuda_* */
#include "kernels/kernels.h"          /* op_preprocess_rgb8, op_resize_bicubic, op_resize_bilinear_map */
#include "kernels/mesh/mesh_host.cuh" /* mesh_build_device, mesh_read_back */
#include "mesh/mesh.h"                /* ds_mesh_grid, ds_mesh_vertex_count */

namespace DS_CUDA_NS {

/* Bytes of a photo of `height` rows of `stride` bytes, the last row only as wide as the photo. */
static size_t photo_bytes(int width, int height, size_t stride) {
    return stride * (size_t)(height - 1) + (size_t)width * 3;
}

/* On the compute stream: the photo already on the device (rgb_dev) resized
 * and normalized into the network's input, the forward pass, and the
 * depth map resized back to width x height into depth_dev. */
static ds_status photo_to_depth(cuda_state *c, cuda_shape *sh, cudaGraphExec_t forward, const uint8_t *rgb_dev,
                                int width, int height, size_t stride, float *depth_dev) {
    const ds_graph *g = sh->shape.graph;
    const kern_ctx k = {c->stream, 0};
    rgb_norm norm;
    memcpy(norm.mean, c->mean, sizeof norm.mean);
    memcpy(norm.std, c->std, sizeof norm.std);
    DS_TRY(op_preprocess_rgb8(&k, rgb_dev, width, height, stride, sh->shape.w, sh->shape.h, &norm, 1,
                              device_value(c, sh, g->input)));
    CUDA_CHECK(cuda_graph_launch(forward, c->stream));
    if (c->depth_resize == DS_DEPTH_RESIZE_BILINEAR_ALIGNED)
        return op_resize_bilinear_map(&k, device_value(c, sh, g->output), sh->shape.w, sh->shape.h, depth_dev,
                                      width, height, 1);
    return op_resize_bicubic(&k, device_value(c, sh, g->output), sh->shape.w, sh->shape.h, depth_dev, width,
                             height);
}

/* Upload the photo, then photo_to_depth into c->depth_dev, all queued on the stream. */
static ds_status depth_on_device(cuda_state *c, cuda_shape *sh, const uint8_t *rgb, int width, int height,
                                 size_t stride) {
    cudaGraphExec_t forward = NULL;
    DS_TRY(forward_of(c, sh, &forward));
    const size_t rgb_bytes = photo_bytes(width, height, stride);
    DS_TRY(grow_pair((void **)&c->rgb_dev, (void **)&c->rgb_host, &c->rgb_cap, rgb_bytes, 1));
    DS_TRY(grow_pair((void **)&c->depth_dev, (void **)&c->depth_host, &c->depth_cap, (size_t)width * height,
                     sizeof(float)));
    memcpy(c->rgb_host, rgb, rgb_bytes);
    CUDA_CHECK(cuda_memcpy_async(c->rgb_dev, c->rgb_host, rgb_bytes, cudaMemcpyHostToDevice, c->stream));
    return photo_to_depth(c, sh, forward, c->rgb_dev, width, height, stride, c->depth_dev);
}

/* The photo's depth map, downloaded. */
ds_status cu_solve_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                               size_t stride, float *depth) {
    cuda_state *c = (cuda_state *)state;
    const size_t n = (size_t)width * (size_t)height;
    DS_TRY(depth_on_device(c, (cuda_shape *)prepared, rgb, width, height, stride));
    CUDA_CHECK(cuda_memcpy_async(c->depth_host, c->depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost,
                                 c->stream));
    CUDA_CHECK(cuda_stream_sync(c->stream));
    memcpy(depth, c->depth_host, n * sizeof(float));
    return DS_OK;
}

/* The photo path, queued: upload (copy_in), resizes and network (stream),
 * download of the photo-sized depth map (copy_out). */
ds_status cu_submit_rgb8(void *state, void *prepared, int slot, const uint8_t *rgb, int width, int height,
                                size_t stride) {
    cuda_state *c = (cuda_state *)state;
    cuda_shape *sh = (cuda_shape *)prepared;
    queue_slot &q = c->slots[slot];
    const size_t rgb_bytes = photo_bytes(width, height, stride), n = (size_t)width * height;
    cudaGraphExec_t forward = NULL;
    DS_TRY(forward_of(c, sh, &forward));
    DS_TRY(queue_ready(c));
    DS_TRY(grow_pair((void **)&q.rgb_dev, (void **)&q.rgb_host, &q.rgb_cap, rgb_bytes, 1));
    DS_TRY(grow_pair((void **)&q.depth_dev, (void **)&q.depth_host, &q.depth_cap, n, sizeof(float)));
    memcpy(q.rgb_host, rgb, rgb_bytes);
    CUDA_CHECK(cuda_memcpy_async(q.rgb_dev, q.rgb_host, rgb_bytes, cudaMemcpyHostToDevice, c->copy_in));
    CUDA_CHECK(cuda_event_record(q.uploaded, c->copy_in));
    CUDA_CHECK(cuda_stream_wait_event(c->stream, q.uploaded));
    DS_TRY(photo_to_depth(c, sh, forward, q.rgb_dev, width, height, stride, q.depth_dev));
    CUDA_CHECK(cuda_event_record(q.computed, c->stream));
    CUDA_CHECK(cuda_stream_wait_event(c->copy_out, q.computed));
    CUDA_CHECK(cuda_memcpy_async(q.depth_host, q.depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost, c->copy_out));
    CUDA_CHECK(cuda_event_record(q.downloaded, c->copy_out));
    q.out_n = n;
    q.photo = true;
    return DS_OK;
}

/* The photo's mesh, built from the depth map where the network left it;
 * the depth map downloaded too when asked for (queued before the mesh, so
 * the one wait of mesh_build_device covers both). */
ds_status cu_mesh_rgb8(void *state, void *prepared, const uint8_t *rgb, int width, int height,
                              size_t stride, const ds_mesh_grid *grid, float *depth, ds_backend_mesh *out) {
    cuda_state *c = (cuda_state *)state;
    const size_t n = (size_t)width * (size_t)height;
    DS_TRY(depth_on_device(c, (cuda_shape *)prepared, rgb, width, height, stride));
    if (depth)
        CUDA_CHECK(cuda_memcpy_async(c->depth_host, c->depth_dev, n * sizeof(float), cudaMemcpyDeviceToHost,
                                     c->stream));
    uint32_t kept = 0;
    c->mesh_vertices = c->mesh_triangles = 0;
    DS_TRY(mesh_build_device(&c->mesh, grid, c->depth_dev, c->stream, &kept));
    if (depth)
        memcpy(depth, c->depth_host, n * sizeof(float));
    c->mesh_vertices = ds_mesh_vertex_count(grid);
    c->mesh_triangles = kept;
    out->vertices = c->mesh.vertices;
    out->indices = c->mesh.indices;
    out->n_vertices = c->mesh_vertices;
    out->n_triangles = c->mesh_triangles;
    out->device = c->device;
    out->stream = (void *)c->stream;
    return DS_OK;
}

ds_status cu_read_mesh(void *state, float *vertices, uint32_t *indices) {
    const cuda_state *c = (const cuda_state *)state;
    return mesh_read_back(&c->mesh, c->mesh_vertices, c->mesh_triangles, vertices, indices);
}
} // namespace DS_CUDA_NS
