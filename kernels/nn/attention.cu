/* attention.cu: multi-head self-attention, flash style (DS_OP_ATTENTION,
 * ds_ref_attention): softmax(q k^T * scale + bias) v per head, with the keys and
 * values streamed through shared memory in tiles of AT_KEYS and an online
 * softmax (a running max and sum per query that rescales what was summed
 * when the max grows), so no T x T matrix exists anywhere.
 *
 * A query belongs to a group of G threads (G a power of two dividing 32,
 * within one warp), each holding AT_DIMS of its head_dim dimensions of q and
 * of the output in registers; a score is the group's partial dot products
 * summed by shuffles. head_dim up to G * AT_DIMS = 128 (G = 8); the op fails
 * above. The optional bias (graph.h's ds_attn_attr: dense, or a table and
 * an index) of the block's queries and the tile's keys is read row by row
 * (coalesced) into the scores' shared array before the tile's scores are
 * computed; the lane that writes a score adds its entry, and the group's
 * running max is then read from the array (a separate kernel instance:
 * the unbiased one keeps its registers). Everything is float, the
 * reference double: measured NMSE in tests/test_cuda_nn_attention.cu. */
#include <math.h>

#include "kernels/common.cuh" /* DS_LAUNCH, DS_DYNAMIC_SHARED, kern_ctx, need_shape */

namespace DS_CUDA_NS {

enum {
    AT_DIMS = 16, /* head dimensions per thread */
    AT_KEYS = 32, /* keys per shared-memory tile */
    AT_MAX_GROUP = 8,
    AT_MAX_BLOCK = 256, /* threads per block: the launch bound, and 36 KiB of shared memory at most */
    AT_MIN_BLOCKS = 3,  /* per SM: caps registers at 80 */
};

static_assert(ATTENTION_MAX_HEAD_DIM == AT_DIMS * AT_MAX_GROUP, "kernels.h's head_dim bound");

/* grid.x: tiles of blockDim.x / G queries; grid.y: (n, head). The launch
 * bound caps registers at 80 (no spills on any CUDA_ARCHS; 64 spill on
 * sm_120); left alone, ptxas takes 95 to 168. Dynamic shared memory: the K
 * and V tiles, (AT_KEYS, G * AT_DIMS) each, zero beyond head_dim and beyond
 * the last key, then the scores (blockDim.x / G, AT_KEYS). */
template <bool BIASED>
static __global__ __launch_bounds__(AT_MAX_BLOCK, AT_MIN_BLOCKS) void attention_kernel(
    const float *qkv /* (N, T, 3, heads, hd) */, float *y /* (N, T, heads, hd) */, int T, int heads, int hd,
    int group, float scale, const float *bias /* (heads, T, T), or (heads, per_head) with index; or NULL */,
    const int *index /* (T, T) or NULL */, int per_head) {
    DS_DYNAMIC_SHARED(float, smem);
    const int hdp = group * AT_DIMS; /* the tile's row length */
    float *ks = smem, *vs = ks + AT_KEYS * hdp, *scores = vs + AT_KEYS * hdp;
    const int C = heads * hd, n = (int)blockIdx.y / heads, h = (int)blockIdx.y % heads;
    const int g = (int)threadIdx.x % group, d0 = g * AT_DIMS;
    const int qi = (int)(blockIdx.x * (blockDim.x / group) + threadIdx.x / group);
    const float *seq = qkv + (int64_t)n * T * 3 * C; /* (T, 3C) */
    float q[AT_DIMS], acc[AT_DIMS];
    DS_UNROLL
    for (int i = 0; i < AT_DIMS; i++) {
        q[i] = qi < T && d0 + i < hd ? seq[(int64_t)qi * 3 * C + h * hd + d0 + i] : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f; /* running max and sum of exp(score - m) */
    for (int j0 = 0; j0 < T; j0 += AT_KEYS) {
        const int nk = T - j0 < AT_KEYS ? T - j0 : AT_KEYS;
        __syncthreads(); /* the previous tile's readers are done */
        for (int e = (int)threadIdx.x; e < AT_KEYS * hdp; e += (int)blockDim.x) {
            const int j = e / hdp, d = e % hdp;
            const bool in = j < nk && d < hd;
            const float *kv = seq + (int64_t)(j0 + (in ? j : 0)) * 3 * C + C + h * hd + (in ? d : 0);
            ks[e] = in ? kv[0] : 0.0f;
            vs[e] = in ? kv[C] : 0.0f;
        }
        /* the bias of the block's queries and the tile's keys; the kernel's
         * parameters re-read here rather than kept in registers */
        DS_NO_UNROLL /* an unrolled gather needs more registers than the launch bound leaves */
        for (int e = (int)threadIdx.x; BIASED && e < (int)(blockDim.x / group) * AT_KEYS; e += (int)blockDim.x) {
            const int q = (int)(blockIdx.x * (blockDim.x / group)) + e / AT_KEYS, j = j0 + e % AT_KEYS;
            const int at = q * T + j; /* T * T and heads * per_head < 2^31: op_attention checks */
            scores[e] = q < T && j < T ? bias[h * per_head + (index ? index[at] : at)] : 0.0f;
        }
        __syncthreads();
        /* the tile's scores of this query, written once by lane j % G, then read by the whole group */
        float *sq = scores + (threadIdx.x / group) * AT_KEYS, mt = m;
        for (int j = 0; j < nk; j++) {
            const float *kr = ks + j * hdp + d0;
            float part = 0.0f;
            DS_UNROLL
            for (int i = 0; i < AT_DIMS; i++)
                part += q[i] * kr[i];
            for (int off = 1; off < group; off <<= 1) /* xor butterfly: the group's lanes agree bit for bit */
                part += __shfl_xor_sync(0xffffffffu, part, off);
            const float sj = part * scale;
            if (BIASED) { /* only the owner reads its bias: the max is taken below */
                if (j % group == g)
                    sq[j] = sj + sq[j];
            } else {
                mt = fmaxf(mt, sj);
                if (j % group == g)
                    sq[j] = sj;
            }
        }
        __syncwarp(0xffffffffu); /* the group's scores are visible to the group */
        for (int j = 0; BIASED && j < nk; j++)
            mt = fmaxf(mt, sq[j]);
        const float corr = expf(m - mt); /* 0 at the first tile (m = -inf) */
        l *= corr;
        DS_UNROLL
        for (int i = 0; i < AT_DIMS; i++)
            acc[i] *= corr;
        for (int j = 0; j < nk; j++) {
            const float p = expf(sq[j] - mt), *vr = vs + j * hdp + d0;
            l += p;
            DS_UNROLL
            for (int i = 0; i < AT_DIMS; i++)
                acc[i] += p * vr[i];
        }
        __syncwarp(0xffffffffu); /* read before the next tile overwrites them */
        m = mt;
    }
    if (qi >= T)
        return;
    float *out = y + ((int64_t)n * T + qi) * C + h * hd + d0;
    DS_UNROLL
    for (int i = 0; i < AT_DIMS; i++)
        if (d0 + i < hd)
            out[i] = acc[i] / l;
}

ds_status op_attention(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, 1, T, C) */
    const int heads = op->node->a.attn.heads;
    const int64_t xs[4] = {d[0], 1, d[2], 3 * d[3]};
    DS_TRY(need_shape("attention", "x", op->x, xs));
    DS_TRY(need_shape("attention", "y", op->y, d));
    if (d[1] != 1 || heads < 1 || d[3] % heads != 0)
        return ds_fail(DS_ERR_SHAPE, "attention: %lld channels in %d heads of a (N, 1, T, C) sequence",
                       (long long)d[3], heads);
    const int64_t hd = d[3] / heads;
    if (hd > ATTENTION_MAX_HEAD_DIM)
        return ds_fail(DS_ERR_SHAPE, "attention: head_dim %lld is above the kernel's maximum of %d",
                       (long long)hd, (int)ATTENTION_MAX_HEAD_DIM);
    if (ds_shape_numel(d) == 0)
        return DS_OK;
    if (d[2] > 0x7fffffff || 3 * d[3] > 0x7fffffff || d[0] * heads > 65535)
        return ds_fail(DS_ERR_SHAPE, "attention: %lld x %lld tokens of %lld channels is too large",
                       (long long)d[0], (long long)d[2], (long long)d[3]);
    int group = 1;
    while (group * AT_DIMS < hd)
        group *= 2;
    const int block = block_size(k, 128);
    DS_TRY(need_warps("attention", block));
    if (block > AT_MAX_BLOCK)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "attention: %d threads per block is above the kernel's %d", block,
                       (int)AT_MAX_BLOCK);
    const int queries = block / group;
    const size_t smem = ((size_t)2 * group * AT_DIMS + (size_t)queries) * AT_KEYS * sizeof(float);
    const int64_t per_head = ds_attn_bias_per_head(op->node);
    if (per_head && (!op->w || (op->node->w[2].name && !op->w2)))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "attention: the node's bias has no device data");
    if (per_head && (d[2] * d[2] > 0x7fffffff || per_head * heads > 0x7fffffff))
        return ds_fail(DS_ERR_SHAPE, "attention: a bias over %lld tokens of %d heads is too large", (long long)d[2],
                       heads);
    const dim3 grid((unsigned)((d[2] + queries - 1) / queries), (unsigned)(d[0] * heads));
    if (per_head)
        return DS_LAUNCH(attention_kernel<true>, grid, block, smem, k->stream, op->x->data, op->y->data, (int)d[2],
                         heads, (int)hd, group, op->node->a.attn.scale, op->w,
                         op->node->w[2].name ? (const int *)op->w2 : (const int *)NULL, (int)per_head);
    return DS_LAUNCH(attention_kernel<false>, grid, block, smem, k->stream, op->x->data, op->y->data, (int)d[2], heads,
                     (int)hd, group, op->node->a.attn.scale, (const float *)NULL, (const int *)NULL, 0);
}

} // namespace DS_CUDA_NS
