/* cpu/ref/vit.c: reference linear layer and multi-head self-attention. */
#include <math.h>

#include "cpu/ops.h"

/* y = act(x W^T + b + r) over the last dimension; W is (O, I). */
void ds_ref_linear(const ds_cpu_op *op) {
    const int64_t I = op->x->shape[3], O = op->y->shape[3];
    const int64_t rows = ds_shape_numel(op->x->shape) / I;
    for (int64_t t = 0; t < rows; t++)
        for (int64_t o = 0; o < O; o++) {
            double acc = op->b ? op->b[o] : 0.0;
            for (int64_t i = 0; i < I; i++)
                acc += (double)op->x->data[t * I + i] * op->w[o * I + i];
            float v = (float)acc;
            if (op->r)
                v += op->r->data[t * O + o];
            op->y->data[t * O + o] = ds_apply_act(op->node->a.linear.act, v);
        }
}

/* softmax(q k^T * scale + bias) v per head. Input channels are (3, heads,
 * head_dim), output channels (heads, head_dim), as timm's Attention
 * reshapes them; the optional bias as graph.h's ds_attn_attr says. */
void ds_ref_attention(const ds_cpu_op *op) {
    const int64_t N = op->x->shape[0], T = op->x->shape[2], C = op->y->shape[3];
    const int heads = op->node->a.attn.heads;
    const int64_t hd = C / heads, per_head = ds_attn_bias_per_head(op->node);
    const double scale = op->node->a.attn.scale;
    const int32_t *index = (const int32_t *)op->w2; /* (T, T), or NULL */
    double *p = (double *)op->ctx->scratch; /* T scores, see ds_ref_attention_scratch */
    for (int64_t n = 0; n < N; n++)
        for (int h = 0; h < heads; h++)
            for (int64_t i = 0; i < T; i++) {
                const float *qkv = op->x->data + n * T * 3 * C;
                const float *q = qkv + i * 3 * C + h * hd;
                const float *bias = op->w ? op->w + h * per_head : NULL; /* this head's T x T or R */
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < T; j++) {
                    const float *k = qkv + j * 3 * C + C + h * hd;
                    double s = 0;
                    for (int64_t d = 0; d < hd; d++)
                        s += (double)q[d] * k[d];
                    p[j] = s * scale;
                    if (bias)
                        p[j] += bias[index ? index[i * T + j] : i * T + j];
                    if (p[j] > mx)
                        mx = p[j];
                }
                for (int64_t j = 0; j < T; j++)
                    sum += (p[j] = exp(p[j] - mx));
                float *y = op->y->data + (n * T + i) * C + h * hd;
                for (int64_t d = 0; d < hd; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < T; j++)
                        acc += p[j] * qkv[j * 3 * C + 2 * C + h * hd + d];
                    y[d] = (float)(acc / sum);
                }
            }
}

size_t ds_ref_attention_scratch(const ds_node *n, int n_threads) {
    (void)n_threads;
    return (size_t)n->shape[2] * sizeof(double);
}
