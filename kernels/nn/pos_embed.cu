/* pos_embed.cu: the ViT's position embedding at the input's grid
 * (DS_OP_POS_EMBED, ds_ref_pos_embed): the class entry as stored, then the
 * trained G x G grid resized bilinearly (align_corners false) to gh x gw. */
#include "base/bilinear.h" /* ds_bilinear_coord */
#include "kernels/common.cuh"   /* DS_LAUNCH, kern_ctx, need_shape */

namespace DS_CUDA_NS {

/* grid.x: blocks of a grid-stride loop over the output elements (t, c), c fastest. */
static __global__ void pos_embed_kernel(const float *w /* (1 + G*G, C) */, float *y /* (1 + gh*gw, C) */,
                                        int64_t C, int64_t G, int64_t gh, int64_t gw) {
    const int64_t total = (1 + gh * gw) * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % C, t = i / C;
        if (t == 0) {
            y[i] = w[c];
            continue;
        }
        const int64_t oy = (t - 1) / gw, ox = (t - 1) % gw;
        int64_t y0, y1, x0, x1;
        float fy, fx;
        ds_bilinear_coord(oy, G, gh, false, &y0, &y1, &fy);
        ds_bilinear_coord(ox, G, gw, false, &x0, &x1, &fx);
        const float *grid = w + C + c; /* (G, G, C) */
        const float p00 = grid[(y0 * G + x0) * C], p01 = grid[(y0 * G + x1) * C];
        const float p10 = grid[(y1 * G + x0) * C], p11 = grid[(y1 * G + x1) * C];
        y[i] = (1.0f - fy) * ((1.0f - fx) * p00 + fx * p01) + fy * ((1.0f - fx) * p10 + fx * p11);
    }
}

ds_status op_pos_embed(const kern_ctx *k, const gpu_op *op) {
    const ds_pos_attr *a = &op->node->a.pos;
    const int64_t C = op->node->shape[3]; /* the output is (1, 1, 1 + gh*gw, C) */
    const int64_t want[4] = {1, 1, 1 + (int64_t)a->gh * a->gw, C};
    if (a->grid < 1 || a->gh < 1 || a->gw < 1)
        return ds_fail(DS_ERR_SHAPE, "pos_embed: grid %d to %dx%d is empty", a->grid, a->gh, a->gw);
    DS_TRY(need_shape("pos_embed", "y", op->y, want));
    if (!op->w)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "pos_embed: the embedding weight is missing");
    const int64_t n = ds_shape_numel(want);
    if (n == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    return DS_LAUNCH(pos_embed_kernel, grid_1d(n, block), block, 0, k->stream, op->w, op->y->data, C,
                     (int64_t)a->grid, (int64_t)a->gh, (int64_t)a->gw);
}

} // namespace DS_CUDA_NS
