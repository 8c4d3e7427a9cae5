/* cpu/ref/levit.c: reference LeViT attention (DS_OP_LEVIT_ATTENTION, graph.h),
 * softmax(q k^T * scale + bias) v per head, then act; double accumulation. */
#include <math.h>

#include "cpu/ops.h"

void ds_ref_levit_attention(const ds_cpu_op *op) {
    const ds_levit_attn_attr *a = &op->node->a.levit;
    const ds_levit_layout l = ds_levit_layout_of(op->node);
    const int64_t N = op->y->shape[0], Tq = op->y->shape[2], Tk = op->x->shape[2];
    const int64_t C = op->y->shape[3]; /* heads * vd */
    const float *bias = op->w;         /* (heads, Tq, Tk) or NULL */
    double *p = (double *)op->ctx->scratch; /* Tk scores, see ds_ref_levit_attention_scratch */
    for (int64_t n = 0; n < N; n++) {
        const float *kv = op->x->data + n * Tk * l.kv_row;
        const float *qs = op->r ? op->r->data + n * Tq * l.q_row : kv;
        for (int h = 0; h < a->heads; h++)
            for (int64_t i = 0; i < Tq; i++) {
                const float *q = qs + i * l.q_row + h * l.q_head + l.q_off;
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < Tk; j++) {
                    const float *k = kv + j * l.kv_row + h * l.kv_head + l.k_off;
                    double s = 0;
                    for (int d = 0; d < a->key_dim; d++)
                        s += (double)q[d] * k[d];
                    p[j] = s * a->scale + (bias ? bias[((int64_t)h * Tq + i) * Tk + j] : 0.0);
                    if (p[j] > mx)
                        mx = p[j];
                }
                for (int64_t j = 0; j < Tk; j++)
                    sum += (p[j] = exp(p[j] - mx));
                float *y = op->y->data + (n * Tq + i) * C + (int64_t)h * a->val_dim;
                for (int d = 0; d < a->val_dim; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < Tk; j++)
                        acc += p[j] * kv[j * l.kv_row + h * l.kv_head + l.v_off + d];
                    y[d] = ds_apply_act(a->act, (float)(acc / sum));
                }
            }
    }
}

size_t ds_ref_levit_attention_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    return (size_t)n->a.levit.keys * sizeof(double);
}
