/* window_attention.cu: Swin's window attention (DS_OP_WINDOW_ATTENTION,
 * ds_ref_window_attention; geometry in graph/window.h) read and written in
 * place in the (N, H, W, C) maps: each query and key finds its token
 * through the roll and the window, so no partitioned copy exists. Flash
 * style: a window's keys and values stream through shared memory in tiles
 * of WA_KEYS with an online softmax (running max and sum per query).
 *
 * A query belongs to a group of G threads (a power of two dividing 32,
 * within one warp), each holding WA_DIMS of its head_dim dimensions of q
 * and of the output in registers; a score is the group's partial dot
 * products summed by xor shuffles (the lanes agree bit for bit), then the
 * head's bias-table entry and the region mask are added. Cosine attention
 * normalizes q in registers (the group's sum of squares) and scales each
 * key's score by its inverse norm, computed once per tile. head_dim up to
 * G * WA_DIMS = 128. Everything is float, the reference double: measured
 * NMSE in tests/test_cuda_nn_attention.cu. */
#include <math.h>

#include "graph/window.h"     /* ds_window_*: windows, rolled coordinates, bias index */
#include "kernels/common.cuh" /* DS_LAUNCH, DS_DYNAMIC_SHARED, kern_ctx, need_shape */

namespace DS_CUDA_NS {

enum {
    WA_DIMS = 16, /* head dimensions per thread */
    WA_KEYS = 32, /* keys per shared-memory tile */
    WA_MAX_GROUP = 8,
    WA_MAX_BLOCK = 256, /* threads per block: the launch bound */
    WA_MIN_BLOCKS = 2,  /* per SM: caps registers at 128 (at 80, as attention.cu, the masks and
                         * the table make sm_75 spill) */
};

static_assert(WINDOW_ATTENTION_MAX_HEAD_DIM == WA_DIMS * WA_MAX_GROUP, "kernels.h's head_dim bound");

/* The rolled position (r * W + c) of token t of window (wy, wx), tw wide
 * (int: the op checks that a map's elements fit). */
static __device__ int rolled_of(const ds_window_attr &a, int W, int wy, int wx, int tw, int t) {
    return (wy * a.win_h + t / tw) * W + wx * a.win_w + t % tw;
}

/* The map position of a rolled position. */
static __device__ int map_of(const ds_window_attr &a, int H, int W, int rolled) {
    return (rolled / W + a.shift_h) % H * W + (rolled % W + a.shift_w) % W;
}

/* grid.x: tiles of blockDim.x / G queries of a window; grid.y: (n, window, head).
 * Dynamic shared memory: the K and V tiles (WA_KEYS, G * WA_DIMS) each, zero
 * beyond head_dim and the window's last key; the tile's inverse key norms,
 * labels and bias-table offsets (WA_KEYS each); the scores (blockDim.x / G,
 * WA_KEYS). A score's table entry is the query's offset plus the key's:
 * ds_window_bias_index split in two, no division in the score loop. */
static __global__ __launch_bounds__(WA_MAX_BLOCK, WA_MIN_BLOCKS) void window_attention_kernel(
    const float *qkv /* (N, H, W, 3, heads, hd) */, float *y /* (N, H, W, heads, hd) */,
    const float *table /* (heads, 2 win_h - 1, 2 win_w - 1) or NULL */, const float *labels /* (H, W) or NULL */,
    const float *head_scale /* (heads) or NULL */, ds_window_attr a, int H, int W, int hd, int group) {
    DS_DYNAMIC_SHARED(float, smem);
    const int hdp = group * WA_DIMS; /* the tile's row length */
    float *ks = smem, *vs = ks + WA_KEYS * hdp, *kinv = vs + WA_KEYS * hdp, *klab = kinv + WA_KEYS;
    int *koff = (int *)(klab + WA_KEYS);
    float *scores = klab + 2 * WA_KEYS;
    const int C = a.heads * hd, nwx = (int)ds_window_count(W, a.win_w);
    const int nw = nwx * (int)ds_window_count(H, a.win_h);
    const int h = (int)blockIdx.y % a.heads, win = (int)blockIdx.y / a.heads % nw;
    const int n = (int)blockIdx.y / (a.heads * nw), wy = win / nwx, wx = win % nwx;
    const int tw = (int)ds_window_len(W, wx, a.win_w), T = (int)ds_window_len(H, wy, a.win_h) * tw;
    if ((int)(blockIdx.x * (blockDim.x / group)) >= T)
        return; /* a tile past a window cut short: the whole block leaves */
    const int g = (int)threadIdx.x % group, d0 = g * WA_DIMS;
    const int qi = (int)(blockIdx.x * (blockDim.x / group) + threadIdx.x / group);
    const bool active = qi < T;
    const float *map = qkv + (int64_t)n * H * W * 3 * C; /* (H * W, 3C) */
    const int rq = rolled_of(a, W, wy, wx, tw, active ? qi : 0), pq = map_of(a, H, W, rq);
    float q[WA_DIMS], acc[WA_DIMS], ss = 0.0f;
    DS_UNROLL
    for (int i = 0; i < WA_DIMS; i++) {
        q[i] = active && d0 + i < hd ? map[pq * 3 * C + h * hd + d0 + i] : 0.0f;
        ss += q[i] * q[i];
        acc[i] = 0.0f;
    }
    float f = head_scale ? head_scale[h] : a.scale;
    if (a.cosine) {
        for (int off = 1; off < group; off <<= 1)
            ss += __shfl_xor_sync(0xffffffffu, ss, off);
        f /= fmaxf(sqrtf(ss), (float)DS_WINDOW_COSINE_EPS);
    }
    DS_UNROLL
    for (int i = 0; i < WA_DIMS; i++)
        q[i] *= f;
    const int bw = 2 * a.win_w - 1;
    const int qoff = ((active ? qi : 0) / tw + a.win_h - 1) * bw + (active ? qi : 0) % tw + a.win_w - 1;
    const float lq = labels ? labels[rq] : 0.0f;
    const float *bias = table ? table + h * (2 * a.win_h - 1) * bw : NULL;
    float m = -INFINITY, l = 0.0f; /* running max and sum of exp(score - m) */
    for (int j0 = 0; j0 < T; j0 += WA_KEYS) {
        const int nk = T - j0 < WA_KEYS ? T - j0 : WA_KEYS;
        __syncthreads(); /* the previous tile's readers are done */
        for (int e = (int)threadIdx.x; e < WA_KEYS * hdp; e += (int)blockDim.x) {
            const int j = e / hdp, d = e % hdp;
            const bool in = j < nk && d < hd;
            const int pk = map_of(a, H, W, rolled_of(a, W, wy, wx, tw, j0 + (in ? j : 0)));
            const float *kv = map + pk * 3 * C + C + h * hd + (in ? d : 0);
            ks[e] = in ? kv[0] : 0.0f;
            vs[e] = in ? kv[C] : 0.0f;
        }
        for (int j = (int)threadIdx.x; j < nk; j += (int)blockDim.x) {
            klab[j] = labels ? labels[rolled_of(a, W, wy, wx, tw, j0 + j)] : 0.0f;
            kinv[j] = 1.0f;
            koff[j] = -((j0 + j) / tw * bw + (j0 + j) % tw);
        }
        __syncthreads();
        if (a.cosine) { /* the same branch for every thread */
            for (int j = (int)threadIdx.x; j < nk; j += (int)blockDim.x) {
                float s = 0.0f;
                for (int d = 0; d < hd; d++)
                    s += ks[j * hdp + d] * ks[j * hdp + d];
                kinv[j] = 1.0f / fmaxf(sqrtf(s), (float)DS_WINDOW_COSINE_EPS);
            }
            __syncthreads();
        }
        /* the tile's scores of this query, written once by lane j % G, then read by the whole group */
        float *sq = scores + (threadIdx.x / group) * WA_KEYS, mt = m;
        for (int j = 0; j < nk; j++) {
            const float *kr = ks + j * hdp + d0;
            float part = 0.0f;
            DS_UNROLL
            for (int i = 0; i < WA_DIMS; i++)
                part += q[i] * kr[i];
            for (int off = 1; off < group; off <<= 1)
                part += __shfl_xor_sync(0xffffffffu, part, off);
            float sj = part * kinv[j];
            if (bias)
                sj += bias[qoff + koff[j]];
            if (klab[j] != lq)
                sj += DS_WINDOW_MASK_VALUE;
            mt = fmaxf(mt, sj);
            if (j % group == g)
                sq[j] = sj;
        }
        __syncwarp(0xffffffffu); /* the group's scores are visible to the group */
        const float corr = expf(m - mt); /* 0 at the first tile (m = -inf) */
        l *= corr;
        DS_UNROLL
        for (int i = 0; i < WA_DIMS; i++)
            acc[i] *= corr;
        for (int j = 0; j < nk; j++) {
            const float p = expf(sq[j] - mt), *vr = vs + j * hdp + d0;
            l += p;
            DS_UNROLL
            for (int i = 0; i < WA_DIMS; i++)
                acc[i] += p * vr[i];
        }
        __syncwarp(0xffffffffu); /* read before the next tile overwrites them */
        m = mt;
    }
    if (!active)
        return;
    float *out = y + (int64_t)n * H * W * C + pq * C + h * hd + d0;
    DS_UNROLL
    for (int i = 0; i < WA_DIMS; i++)
        if (d0 + i < hd)
            out[i] = acc[i] / l;
}

/* The optional constants must have the shapes graph.h gives them. */
static ds_status need_constants(const gpu_op *op, const ds_window_attr *a) {
    const ds_node *n = op->node;
    const int64_t side_h = 2 * a->win_h - 1, side_w = 2 * a->win_w - 1;
    const bool table_ok = !op->w || (n->w[0].ndim == 3 && n->w[0].shape[0] == a->heads &&
                                     n->w[0].shape[1] == side_h && n->w[0].shape[2] == side_w);
    const bool labels_ok = !op->b || (n->w[1].ndim == 2 && n->w[1].shape[0] == n->shape[1] &&
                                      n->w[1].shape[1] == n->shape[2]);
    const bool scale_ok = !op->w2 || (n->w[2].ndim == 1 && n->w[2].shape[0] == a->heads);
    if (!table_ok || !labels_ok || !scale_ok)
        return ds_fail(DS_ERR_SHAPE, "window_attention: the %s does not fit %d heads, a %dx%d window, a %lldx%lld map",
                       !table_ok ? "bias table" : (!labels_ok ? "label map" : "head scale"), a->heads, a->win_h,
                       a->win_w, (long long)n->shape[1], (long long)n->shape[2]);
    return DS_OK;
}

ds_status op_window_attention(const kern_ctx *k, const gpu_op *op) {
    const int64_t *d = op->node->shape; /* (N, H, W, C) */
    const ds_window_attr *a = &op->node->a.win;
    const int64_t xs[4] = {d[0], d[1], d[2], 3 * d[3]};
    DS_TRY(need_shape("window_attention", "x", op->x, xs));
    DS_TRY(need_shape("window_attention", "y", op->y, d));
    if (a->heads < 1 || d[3] % a->heads != 0 || a->win_h < 1 || a->win_w < 1 || a->shift_h < 0 ||
        a->shift_w < 0)
        return ds_fail(DS_ERR_SHAPE, "window_attention: %lld channels in %d heads, window %dx%d, shift %d,%d",
                       (long long)d[3], a->heads, a->win_h, a->win_w, a->shift_h, a->shift_w);
    DS_TRY(need_constants(op, a));
    const int64_t hd = d[3] / a->heads;
    if (hd > WINDOW_ATTENTION_MAX_HEAD_DIM)
        return ds_fail(DS_ERR_SHAPE, "window_attention: head_dim %lld is above the kernel's maximum of %d",
                       (long long)hd, (int)WINDOW_ATTENTION_MAX_HEAD_DIM);
    if (ds_shape_numel(d) == 0)
        return DS_OK;
    const int64_t windows = ds_window_count(d[1], a->win_h) * ds_window_count(d[2], a->win_w);
    if (d[1] * d[2] * 3 * d[3] > 0x7fffffff || d[0] * windows * a->heads > 65535)
        return ds_fail(DS_ERR_SHAPE, "window_attention: a %lldx%lldx%lldx%lld map is too large for the kernel",
                       (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3]);
    int group = 1;
    while (group * WA_DIMS < hd)
        group *= 2;
    const int block = block_size(k, 128);
    DS_TRY(need_warps("window_attention", block));
    if (block > WA_MAX_BLOCK)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "window_attention: %d threads per block is above the kernel's %d",
                       block, (int)WA_MAX_BLOCK);
    const int queries = block / group;
    const int64_t tokens = (int64_t)a->win_h * a->win_w; /* of a whole window */
    const size_t smem = ((size_t)2 * group * WA_DIMS + 3 + (size_t)queries) * WA_KEYS * sizeof(float);
    return DS_LAUNCH(window_attention_kernel, dim3((unsigned)((tokens + queries - 1) / queries),
                                                   (unsigned)(d[0] * windows * a->heads)),
                     block, smem, k->stream, op->x->data, op->y->data, op->w, op->b, op->w2, *a, (int)d[1],
                     (int)d[2], (int)hd, group);
}

} // namespace DS_CUDA_NS
