/* cpu/ref/norm.c: reference GroupNorm and LayerNorm (NHWC), statistics in double. */
#include <math.h>

#include "cpu/ops.h"

/* act(GroupNorm(x) + r): statistics over (H, W, C/groups) per item and group. */
void ds_ref_groupnorm(const ds_cpu_op *op) {
    const ds_norm_attr *a = &op->node->a.norm;
    const int64_t N = op->x->shape[0], HW = op->x->shape[1] * op->x->shape[2];
    const int64_t C = op->x->shape[3], cg = C / a->groups;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < a->groups; g++) {
            const float *x = op->x->data + n * HW * C + g * cg;
            double sum = 0, sq = 0;
            for (int64_t p = 0; p < HW; p++)
                for (int64_t c = 0; c < cg; c++)
                    sum += x[p * C + c];
            double mean = sum / (double)(HW * cg);
            for (int64_t p = 0; p < HW; p++)
                for (int64_t c = 0; c < cg; c++)
                    sq += (x[p * C + c] - mean) * (x[p * C + c] - mean);
            double inv = 1.0 / sqrt(sq / (double)(HW * cg) + a->eps);
            for (int64_t p = 0; p < HW; p++)
                for (int64_t c = 0; c < cg; c++) {
                    int64_t ch = g * cg + c, i = n * HW * C + p * C + ch;
                    float v = (float)(((double)op->x->data[i] - mean) * inv * op->w[ch] + op->b[ch]);
                    if (op->r)
                        v += op->r->data[i];
                    op->y->data[i] = ds_apply_act(a->act, v);
                }
        }
}

/* LayerNorm over C for every position. */
void ds_ref_layernorm(const ds_cpu_op *op) {
    const int64_t C = op->x->shape[3], rows = ds_shape_numel(op->x->shape) / C;
    const float eps = op->node->a.norm.eps;
    for (int64_t t = 0; t < rows; t++) {
        const float *x = op->x->data + t * C;
        double sum = 0, sq = 0;
        for (int64_t c = 0; c < C; c++)
            sum += x[c];
        double mean = sum / (double)C;
        for (int64_t c = 0; c < C; c++)
            sq += (x[c] - mean) * (x[c] - mean);
        double inv = 1.0 / sqrt(sq / (double)C + eps);
        for (int64_t c = 0; c < C; c++)
            op->y->data[t * C + c] = (float)(((double)x[c] - mean) * inv * op->w[c] + op->b[c]);
    }
}
