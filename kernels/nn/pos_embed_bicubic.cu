/* pos_embed_bicubic.cu: DINOv2's position embedding at the input's grid
 * (DS_OP_POS_EMBED_BICUBIC, ds_ref_pos_embed_bicubic): the class entry as
 * stored, then the trained G x G grid resized bicubically to gh x gw with
 * PyTorch's taps for the node's coordinate scales (base/bicubic.h). */
#include "base/bicubic.h" /* ds_bicubic_taps */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (t, c), c fastest. */
static __global__ void pos_embed_bicubic_kernel(const float *w /* (1 + G*G, C) */, float *y /* (1 + gh*gw, C) */,
                                                int64_t C, int64_t G, int64_t gh, int64_t gw, float scale_h,
                                                float scale_w) {
    const int64_t total = (1 + gh * gw) * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, t = i / C;
        if (t == 0) {
            y[i] = w[c];
            continue;
        }
        int64_t iy[4], ix[4];
        float wy[4], wx[4];
        ds_bicubic_taps((t - 1) / gw, G, scale_h, iy, wy);
        ds_bicubic_taps((t - 1) % gw, G, scale_w, ix, wx);
        const float *grid = w + C + c; /* (G, G, C) */
        float v = 0.0f;
        DS_UNROLL
        for (int j = 0; j < 4; j++) {
            const float *r = grid + iy[j] * G * C;
            v += wy[j] * (wx[0] * r[ix[0] * C] + wx[1] * r[ix[1] * C] + wx[2] * r[ix[2] * C] + wx[3] * r[ix[3] * C]);
        }
        y[i] = v;
    }
}

ds_status op_pos_embed_bicubic(const kern_ctx *k, const gpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->node->shape[3]; /* the output is (1, 1, 1 + gh*gw, C) */
    const int64_t want[4] = {1, 1, 1 + (int64_t)a->gh * a->gw, C};
    if (a->grid < 1 || a->gh < 1 || a->gw < 1 || !(a->scale_h > 0.0f) || !(a->scale_w > 0.0f))
        return ds_fail(DS_ERR_SHAPE, "pos_embed_bicubic: grid %d to %dx%d (scales %g, %g) is empty", a->grid,
                       a->gh, a->gw, (double)a->scale_h, (double)a->scale_w);
    DS_TRY(need_shape("pos_embed_bicubic", "y", op->y, want));
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "pos_embed_bicubic: the embedding weight is missing");
    const int64_t n = ds_shape_numel(want);
    const int block = block_size(k, 256);
    return DS_LAUNCH(pos_embed_bicubic_kernel, grid_1d(n, block), block, 0, k->stream, op->w, op->y->data, C,
                     (int64_t)a->grid, (int64_t)a->gh, (int64_t)a->gw, a->scale_h, a->scale_w);
}

} // namespace DS_CUDA_NS
