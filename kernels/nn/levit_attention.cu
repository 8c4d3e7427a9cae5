/* levit_attention.cu: LeViT's attention (DS_OP_LEVIT_ATTENTION, graph.h;
 * ds_ref_levit_attention): act(softmax(q k^T * scale + bias[h]) v) per head,
 * over head-interleaved q|k|v rows (ds_levit_layout_of), key dim != value
 * dim, the queries optionally a tensor of their own (the subsampling
 * attention). LeViT's sequences are short (196, 49, 16 tokens), so a warp
 * takes one query: its lanes share the keys, keep the scores in shared
 * memory, reduce by shuffles, then share the value dimensions. Everything is
 * float, the reference double: measured NMSE in tests/test_cuda_levit.cu. */
#include <math.h>

#include "graph/tensor.h"     /* ds_apply_act */
#include "kernels/common.cuh" /* DS_LAUNCH, DS_DYNAMIC_SHARED, kern_ctx, need_shape */
#include "kernels/reduce.cuh" /* warp_reduce */

namespace DS_CUDA_NS {

enum { LA_MAX_BLOCK = 256, LA_MAX_SHARED = 48 * 1024 };

struct levit_args {
    int Tq, Tk, heads, kd, vd;
    int64_t q_row, q_head, q_off, kv_row, kv_head, k_off, v_off;
    float scale;
    ds_act act;
};

/* grid.x: blocks of blockDim.x / 32 queries, one per warp; grid.y: (n, head).
 * Dynamic shared memory: the scores, (blockDim.x / 32, Tk). */
static __global__ void levit_attention_kernel(const float *kv /* (N, Tk, kv_row) */,
                                              const float *qs /* (N, Tq, q_row) */,
                                              const float *bias /* (heads, Tq, Tk) or NULL */,
                                              float *y /* (N, Tq, heads * vd) */, levit_args a) {
    DS_DYNAMIC_SHARED(float, smem);
    const int lane = (int)threadIdx.x % 32, warp = (int)threadIdx.x / 32;
    const int n = (int)blockIdx.y / a.heads, h = (int)blockIdx.y % a.heads;
    const int i = (int)blockIdx.x * ((int)blockDim.x / 32) + warp;
    if (i >= a.Tq)
        return; /* the whole warp: no block-wide barrier follows */
    float *p = smem + (int64_t)warp * a.Tk;
    const float *q = qs + ((int64_t)n * a.Tq + i) * a.q_row + h * a.q_head + a.q_off;
    const float *keys = kv + (int64_t)n * a.Tk * a.kv_row + h * a.kv_head;
    const float *brow = bias ? bias + ((int64_t)h * a.Tq + i) * a.Tk : NULL;
    float mx = -INFINITY;
    for (int j = lane; j < a.Tk; j += 32) {
        const float *k = keys + (int64_t)j * a.kv_row + a.k_off;
        float s = 0.0f;
        for (int d = 0; d < a.kd; d++)
            s += q[d] * k[d];
        s = s * a.scale + (brow ? brow[j] : 0.0f);
        p[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = warp_reduce(mx, op_max());
    float sum = 0.0f;
    for (int j = lane; j < a.Tk; j += 32) {
        const float e = expf(p[j] - mx);
        p[j] = e;
        sum += e;
    }
    sum = warp_reduce(sum, op_sum());
    __syncwarp(0xffffffffu); /* every lane's probabilities are visible to the warp */
    float *out = y + ((int64_t)n * a.Tq + i) * a.heads * a.vd + (int64_t)h * a.vd;
    for (int d = lane; d < a.vd; d += 32) {
        const float *v = keys + a.v_off + d;
        float acc = 0.0f;
        for (int j = 0; j < a.Tk; j++)
            acc += p[j] * v[(int64_t)j * a.kv_row];
        out[d] = ds_apply_act(a.act, acc / sum);
    }
}

ds_status op_levit_attention(const kern_ctx *k, const gpu_op *op) {
    const ds_node *node = op->node;
    const ds_levit_attn_attr *at = &node->a.levit;
    const ds_levit_layout l = ds_levit_layout_of(node);
    const int64_t *ys = node->shape; /* (N, 1, Tq, heads * vd) */
    if (at->heads < 1 || at->key_dim < 1 || at->val_dim < 1 || at->keys < 1 ||
        ys[3] != (int64_t)at->heads * at->val_dim)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "levit_attention: %d heads of key dim %d, value dim %d, %d keys "
                       "for %lld output channels", at->heads, at->key_dim, at->val_dim, at->keys, (long long)ys[3]);
    const int64_t xs[4] = {ys[0], 1, at->keys, l.kv_row}, qs[4] = {ys[0], 1, ys[2], l.q_row};
    DS_TRY(need_shape("levit_attention", "x", op->x, xs));
    if (node->in[1] >= 0)
        DS_TRY(need_shape("levit_attention", "the queries", op->r, qs));
    else if (ys[2] != at->keys)
        return ds_fail(DS_ERR_SHAPE, "levit_attention: %lld queries of %d tokens without a query input",
                       (long long)ys[2], at->keys);
    DS_TRY(need_shape("levit_attention", "y", op->y, ys));
    const int block = block_size(k, 128);
    DS_TRY(need_warps("levit_attention", block));
    if (block > LA_MAX_BLOCK)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "levit_attention: %d threads per block is above the kernel's %d",
                       block, LA_MAX_BLOCK);
    const size_t smem = (size_t)(block / 32) * (size_t)at->keys * sizeof(float);
    if (smem > LA_MAX_SHARED)
        return ds_fail(DS_ERR_SHAPE, "levit_attention: %d keys need %zu bytes of shared memory at %d threads, "
                       "above %d", at->keys, smem, block, LA_MAX_SHARED);
    const int64_t tiles = (ys[2] + block / 32 - 1) / (block / 32), rows = ys[0] * at->heads;
    if (ys[0] * ys[2] == 0)
        return DS_OK;
    if (tiles > 0x7fffffff || rows > 65535 || ys[2] > 0x7fffffff)
        return ds_fail(DS_ERR_SHAPE, "levit_attention: %lld queries x %lld heads is too large", (long long)ys[2],
                       (long long)rows);
    const levit_args a = {(int)ys[2], at->keys, at->heads, at->key_dim, at->val_dim, l.q_row, l.q_head, l.q_off,
                          l.kv_row, l.kv_head, l.k_off, l.v_off, at->scale, at->act};
    const float *q = node->in[1] >= 0 ? op->r->data : op->x->data;
    return DS_LAUNCH(levit_attention_kernel, dim3((unsigned)tiles, (unsigned)rows), block, smem, k->stream,
                     op->x->data, q, op->w, op->y->data, a);
}

} // namespace DS_CUDA_NS
