/* groupnorm.cu: act(GroupNorm(x) + r) (DS_OP_GROUPNORM, ds_ref_groupnorm):
 * statistics over (H, W, C / groups) per item and group, two passes in float
 * with block reductions. */
#include <math.h>

#include "graph/tensor.h" /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, kern_ctx, need_shape */
#include "kernels/reduce.cuh" /* block_reduce */

namespace DS_CUDA_NS {

/* grid.x: groups, grid.y: batch items; the block's threads stride over the
 * group's HW * cg values. */
static __global__ void groupnorm_kernel(const float *x /* (N, HW, C) */, const float *w /* (C) */,
                                        const float *b /* (C) */, const float *r /* (N, HW, C) or NULL */,
                                        float *y /* (N, HW, C) */, int64_t HW, int C, int cg, float eps,
                                        ds_act act) {
    __shared__ float scratch[32];
    const int64_t base = (int64_t)blockIdx.y * HW * C + (int64_t)blockIdx.x * cg, count = HW * cg;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
        s += x[base + i / cg * C + i % cg];
    const float mean = block_reduce(s, scratch, op_sum(), 0.0f) / (float)count;
    float q = 0.0f;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
        const float d = x[base + i / cg * C + i % cg] - mean;
        q += d * d;
    }
    /* every read of x is before this barrier-protected sum, so y may be x */
    const float inv = 1.0f / sqrtf(block_reduce(q, scratch, op_sum(), 0.0f) / (float)count + eps);
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
        const int64_t at = base + i / cg * C + i % cg;
        const int ch = (int)(blockIdx.x * cg + i % cg);
        float v = (x[at] - mean) * inv * w[ch] + b[ch];
        if (r)
            v += r[at];
        y[at] = ds_apply_act(act, v);
    }
}

ds_status op_groupnorm(const kern_ctx *k, const gpu_op *op) {
    const int64_t *s = op->node->shape; /* (N, H, W, C) */
    const ds_norm_attr *a = &op->node->a.norm;
    DS_TRY(need_shape("groupnorm", "x", op->x, s));
    DS_TRY(need_shape("groupnorm", "y", op->y, s));
    if (op->r)
        DS_TRY(need_shape("groupnorm", "r", op->r, s));
    if (!op->w || !op->b)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "groupnorm: weight or bias is missing");
    if (a->groups < 1 || s[3] % a->groups != 0 || s[0] > 65535 || s[3] > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "groupnorm: %lld channels in %d groups", (long long)s[3], a->groups);
    if (ds_shape_numel(s) == 0)
        return DS_OK;
    const int block = block_size(k, 256);
    DS_TRY(need_warps("groupnorm", block));
    const dim3 grid((unsigned)a->groups, (unsigned)s[0]);
    return DS_LAUNCH(groupnorm_kernel, grid, block, 0, k->stream, op->x->data, op->w, op->b,
                     op->r ? op->r->data : NULL, op->y->data, s[1] * s[2], (int)s[3],
                     (int)(s[3] / a->groups), a->eps, a->act);
}

} // namespace DS_CUDA_NS
