/*
 * graph.h: the layer graph, built per architecture and per input size.
 *
 * Every activation is a 4-D tensor in NHWC order: (N, H, W, C). Token
 * sequences of the ViT are (N, 1, T, C), so a grid of patch tokens and the
 * (N, gh, gw, C) feature map it unflattens to share one memory layout.
 * Each node produces exactly one value; a value is named by its node index.
 *
 * Weights are referenced, never owned: they point into the mapped GGUF file
 * (or are absent when the graph is only used to list parameters).
 */
#ifndef DS_GRAPH_H
#define DS_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "depthsolve.h" /* ds_status */
#include "base/dtype.h"      /* ds_dtype */
#include "base/shape.h"      /* ds_format_shape, ds_shape_numel_n */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ds_op {
    DS_OP_INPUT = 0,      /* the normalized image, (1, H, W, 3) */
    DS_OP_CONV2D,         /* conv + bias, optional input act, residual, output act */
    DS_OP_CONV_TRANSPOSE, /* ConvTranspose2d + bias, then act (see ds_transpose_out) */
    DS_OP_MAXPOOL,        /* padding counts as -inf */
    DS_OP_RESIZE,         /* bilinear, align_corners true/false */
    DS_OP_ADD,            /* a + b, then act */
    DS_OP_ACT,            /* elementwise activation */
    DS_OP_GROUPNORM,      /* + optional residual, then act */
    DS_OP_LAYERNORM,      /* over C */
    DS_OP_LINEAR,         /* over C: (.., Cin) -> (.., Cout), + bias, residual, act */
    DS_OP_ATTENTION,      /* (N, 1, T, 3C) packed q|k|v -> (N, 1, T, C), optional bias: ds_attn_attr */
    DS_OP_POS_EMBED,      /* (1, 1, 1+G*G, C) weight -> (1, 1, 1+gh*gw, C) resized */
    DS_OP_PREPEND_TOKEN,  /* (1, 1, T, C) -> (1, 1, T+1, C) with a learned token first */
    DS_OP_READOUT_CAT,    /* (1, 1, 1+T, C) -> (1, gh, gw, 2C): [token t, token 0] */
    DS_OP_RESHAPE,        /* same data, new shape (a view) */
    DS_OP_WINDOW_ATTENTION, /* (N, H, W, 3C) packed q|k|v -> (N, H, W, C), attention inside (shifted) windows */
    DS_OP_PATCH_MERGE,    /* (N, H, W, C) -> (N, ceil(H/2), ceil(W/2), 4C): Swin's 2x2 gather */
    DS_OP_LEVIT_ATTENTION, /* LeViT's attention and subsampling attention (ds_levit_attn_attr) */
    DS_OP_POS_EMBED_BICUBIC, /* (1, 1+G*G, C) weight -> (1, 1, 1+gh*gw, C), bicubic by a scale factor (DINOv2) */
    DS_OP_DROP_TOKEN,     /* (N, 1, 1+T, C) -> (N, gh, gw, C): the tokens after token 0 */
    DS_OP_SCALE,          /* y = x * a.scale */
    DS_OP_QK_ROPE,        /* (N, 1, T, 3C) q|k|v -> the same with q and k per head LayerNorm'd (w[0..3], optional) and 2-D RoPE rotated */
    DS_OP_CONCAT,         /* (N, H, W, C0), (N, H, W, C1) -> (N, H, W, C0 + C1) */
    DS_OP_SET_TOKEN,      /* (N, 1, T, C): token 0 replaced by the first C values of w[0] */
    DS_OP_SLICE,          /* (N, H, W, C) -> (N, H, w, c): columns a.slice.w0.., channels a.slice.c0.. */
    DS_OP_CONSTANT,       /* the graph-owned tensor w[0], shaped as the node */
    DS_OP_COUNT
} ds_op;

typedef enum ds_act {
    DS_ACT_NONE = 0,
    DS_ACT_RELU,
    DS_ACT_RELU6,
    DS_ACT_GELU, /* exact: x * 0.5 * (1 + erf(x / sqrt(2))) */
    DS_ACT_HARDSWISH, /* torch's x * clamp(x + 3, 0, 6) / 6 (LeViT) */
    DS_ACT_SIGMOID, /* 1 / (1 + exp(-x)) */
    DS_ACT_EXP,     /* exp(x) */
    DS_ACT_EXP1,    /* exp(x) + 1 (Depth Anything 3's confidences) */
} ds_act;

/* A weight tensor as the engine uses it (converted layout, see convert.h). */
typedef struct ds_tensor_ref {
    const char *name; /* GGUF / state_dict name; NULL if the slot is unused */
    ds_dtype dtype;
    int ndim;
    int64_t shape[4]; /* outermost first */
    const void *data; /* NULL when the graph only declares parameters */
    /* data belongs to the graph: a constant computed for this input size
     * (ds_b_constant), freed with the graph. Backends must not keep copies
     * of it past the prepared size (their caches are keyed by the model's
     * weights, which live as long as the engine). */
    bool graph_owned;
} ds_tensor_ref;

typedef struct ds_conv_attr {
    int kh, kw;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_t, pad_b, pad_l, pad_r; /* zero padding; TF "SAME" is asymmetric */
    int groups;
    ds_act in_act;  /* applied to the input as it is read */
    ds_act res_act; /* applied to the residual (input 1) before it is added */
    ds_act act;     /* applied last: act(conv(in_act(x)) + bias + res_act(r)) */
} ds_conv_attr;

typedef struct ds_pool_attr {
    int kh, kw, stride_h, stride_w;
    int pad_t, pad_b, pad_l, pad_r;
} ds_pool_attr;

typedef struct ds_resize_attr {
    bool align_corners;
} ds_resize_attr;

typedef struct ds_norm_attr {
    int groups; /* GroupNorm only */
    float eps;
    ds_act act; /* GroupNorm: act(norm(x) + residual) */
} ds_norm_attr;

typedef struct ds_linear_attr {
    ds_act act; /* act(x W^T + b + residual), like every op with a residual */
} ds_linear_attr;

/* softmax(q k^T * scale + bias) v per head. The bias is optional (w[0]
 * empty: none) and the same for every item n < N:
 *  - w[0] float32 (heads, T, T): bias[h][i][j] added to the logit of query
 *    i and key j of head h;
 *  - or w[0] float32 (heads, R) with w[2] int32 (T, T): a table per head
 *    that the index picks from, bias[h][i][j] = w0[h][w2[i][j]], every index
 *    in [0, R) (relative position biases: T x T entries of 4 bytes shared
 *    by every head instead of heads x T x T).
 * Either is usually a graph-owned constant (ds_b_constant) for this size. */
typedef struct ds_attn_attr {
    int heads;
    float scale; /* head_dim^-0.5 */
    /* with an index: > 0 when it is ds_grid_rel_index's for a grid of
     * (T - 1) / grid_w x grid_w patches (checked when the node is built),
     * which a kernel may compute in place of reading it */
    int grid_w;
} ds_attn_attr;

/* BEiT's relative position index (timm's gen_relative_position_index) of
 * query i and key j among the T = 1 + gh * gw tokens of a gh x gw grid of
 * patches, token 0 the class token: a row of a table of
 * (2 gh - 1)(2 gw - 1) + 3, the last three for the class token's pairs.
 * Consecutive patch queries of one grid row pick consecutive rows. */
int32_t ds_grid_rel_index(int64_t gh, int64_t gw, int64_t i, int64_t j);
/* The rows of that table: (2 gh - 1)(2 gw - 1) + 3. */
int64_t ds_grid_rel_rows(int64_t gh, int64_t gw);

/* Swin's window attention. The map is rolled by (-shift_h, -shift_w)
 * (torch.roll), cut into win_h x win_w windows (row-major; where the window
 * does not divide the map, the last windows are cut short and their tokens
 * attend among themselves), each window's tokens attend to each other, and
 * the results go back to the tokens' places. Per head h, query i, key j of
 * one window (window coordinates (yi, xi), (yj, xj)):
 *   logit = s_h * dot(q_i, k_j) + table[h][yi-yj+win_h-1][xi-xj+win_w-1]
 *           + (label[i] != label[j] ? -100 : 0)
 * with q, k L2-normalized first (eps 1e-12) when `cosine`, s_h = w[2][h] or
 * `scale`. Weight slots, each optional (NULL data: absent), all float32:
 *   w[0] relative position bias table (heads, 2*win_h-1, 2*win_w-1),
 *   w[1] region labels of the rolled map (H, W) (timm's attn_mask: -100
 *        between tokens of different labels),
 *   w[2] per-head logit scale (heads). */
typedef struct ds_window_attr {
    int heads;
    int win_h, win_w;
    int shift_h, shift_w;
    float scale;  /* when w[2] is absent: head_dim^-0.5 */
    bool cosine;  /* Swin v2: cosine attention */
} ds_window_attr;

typedef struct ds_pos_attr {
    int grid;   /* side of the trained grid (24 for 384 / 16) */
    int gh, gw; /* target grid */
    /* POS_EMBED_BICUBIC: trained-grid cells per output cell along each axis,
     * PyTorch's float coordinate scale for the scale factor the model passes
     * (DINOv2: 1 / ((g + 0.1) / G)); 1 maps the grid onto itself. */
    float scale_h, scale_w;
} ds_pos_attr;

/* LeViT (timm levit.py Attention, AttentionSubsample), tokens (N, 1, T, C):
 *  - in[1] < 0: in[0] (N, 1, T, heads * (2 kd + vd)) holds per head, head
 *    after head, [q (kd) | k (kd) | v (vd)]; queries are the T tokens;
 *  - in[1] >= 0: in[0] (N, 1, Tk, heads * (kd + vd)) holds per head [k | v],
 *    and in[1] (N, 1, Tq, heads * kd) the queries (a subsampled grid).
 * Output (N, 1, Tq, heads * vd), heads concatenated: act(softmax(q k^T * scale
 * + bias[h]) v), bias w[0] (heads, Tq, Tk) (absent: none). */
typedef struct ds_levit_attn_attr {
    int heads;
    int key_dim, val_dim; /* kd, vd: per head */
    int keys;             /* Tk, in[0]'s tokens (scratch sizes are known from the node) */
    float scale;          /* kd^-0.5 */
    ds_act act;           /* on the output: LeViT's Hardswish before proj */
} ds_levit_attn_attr;

/* Where a LeViT attention node finds head h's vectors: token t's q at
 * q[t * q_row + h * q_head + q_off] (q: in[0], or in[1] when it is given),
 * its k and v at in[0][t * kv_row + h * kv_head + k_off or v_off]. */
typedef struct ds_levit_layout {
    int64_t q_row, q_head, q_off;
    int64_t kv_row, kv_head, k_off, v_off;
} ds_levit_layout;
/* QK_ROPE: token 0 sits at (0, 0); token t >= 1 is patch t - 1 of a gh x gw
 * grid, at (row + 1, col + 1), or at (1, 1) when `flat` (Depth Anything 3's
 * global blocks). Per head of hd channels, the first hd/2 rotate by the row
 * and the rest by the column: pairs (j, j + hd/4) of each half by the angle
 * pos * base^(-4j/hd), in float32 as PyTorch forms it. */
typedef struct ds_rope_attr {
    int heads;
    int gh, gw;
    bool flat;
    float base;
    float eps; /* of the per-head LayerNorm of q (w[0], w[1]) and k (w[2], w[3]) when w[0] is set */
} ds_rope_attr;

typedef struct ds_slice_attr {
    int w0, c0; /* first column and channel taken; the node's shape says how many */
} ds_slice_attr;

enum { DS_NODE_MAX_IN = 2, DS_NODE_MAX_W = 4 };

typedef struct ds_node {
    ds_op op;
    const char *name;            /* module path, e.g. "scratch.refinenet4.resConfUnit2.conv1" */
    int in[DS_NODE_MAX_IN];      /* producing nodes; -1 when absent */
    int64_t shape[4];            /* output (N, H, W, C) */
    ds_tensor_ref w[DS_NODE_MAX_W]; /* [0] weight, [1] bias, [2] and [3] as the op says */
    union {
        ds_conv_attr conv;       /* CONV2D, CONV_TRANSPOSE (kh, kw, stride) */
        ds_pool_attr pool;
        ds_resize_attr resize;
        ds_norm_attr norm;       /* GROUPNORM, LAYERNORM */
        ds_linear_attr linear;
        ds_attn_attr attn;
        ds_pos_attr pos;
        ds_window_attr win;      /* WINDOW_ATTENTION */
        ds_act act;              /* ACT, ADD */
        ds_levit_attn_attr levit; /* LEVIT_ATTENTION */
        float scale;             /* SCALE */
        ds_rope_attr rope;       /* QK_ROPE */
        ds_slice_attr slice;     /* SLICE */
    } a;
} ds_node;

/* A named stage output (the names of the reference dumps). */
typedef struct ds_graph_mark {
    const char *name; /* "pretrained_layer1", "scratch_refinenet4", "head_pre_relu" */
    int node;
    bool output; /* a model output beside the depth ("depth_conf", "pose_enc", "sky"): kept by every plan */
} ds_graph_mark;

typedef struct ds_graph {
    ds_node *nodes;
    int n_nodes, cap_nodes;
    int input, output;
    ds_graph_mark *marks;
    int n_marks, cap_marks;
    char **strings; /* names owned by the graph */
    int n_strings, cap_strings;
    void **constants; /* ds_b_constant's tensors, owned by the graph */
    int n_constants, cap_constants;
} ds_graph;

void ds_graph_free(ds_graph *g); /* NULL-safe; leaves *g zeroed */
int64_t ds_shape_numel(const int64_t shape[4]);
const char *ds_op_name(ds_op op);
const char *ds_act_name(ds_act act);
/* Output length of a window of k taps (dilation d, stride s) sliding over
 * `in` padded by pad_a and pad_b: conv and pool output sizes. */
int64_t ds_window_out(int64_t in, int pad_a, int pad_b, int k, int s, int d);
/* ConvTranspose2d's output length before its output_padding: input i feeds
 * output positions i*s - pad_a + t*d (taps t < k), and pad_b more are cropped
 * at the end: (in - 1) * s - pad_a - pad_b + d * (k - 1) + 1. A
 * DS_OP_CONV_TRANSPOSE node's shape adds PyTorch's output_padding to it
 * (0 <= output_padding < max(s, d)), which extends the output at the end. */
int64_t ds_transpose_out(int64_t in, int pad_a, int pad_b, int k, int s, int d);
/* Whether x (N, H, W, C) transpose-convolves by `a` (groups 1) to y
 * (N, OH, OW, O): DS_OK, or DS_ERR_SHAPE naming `call`. */
ds_status ds_conv_transpose_check_shapes(const char *call, const ds_conv_attr *a, const int64_t xs[4],
                                         const int64_t ys[4]);
/* Whether x (N, H, W, C) convolves by `a` to y (N, OH, OW, O), with the
 * residual r (NULL, or the shape of y): DS_OK, or DS_ERR_SHAPE naming `call`. */
ds_status ds_conv_check_shapes(const char *call, const ds_conv_attr *a, const int64_t xs[4],
                               const int64_t ys[4], const int64_t *rs);
/* Multiply-adds of a node (convolutions, linears, attention; 0 for the
 * rest): for profiles and benchmarks. */
double ds_node_macs(const ds_graph *g, const ds_node *n);
/* A DS_OP_LEVIT_ATTENTION node's layout. */
ds_levit_layout ds_levit_layout_of(const ds_node *n);
/* Values per head of an attention node's bias (w[0]): T * T when dense,
 * R when indexed (w[2]); 0 without a bias. */
int64_t ds_attn_bias_per_head(const ds_node *n);
/* The node a mark names, or -1. */
int ds_graph_find_mark(const ds_graph *g, const char *name);

#ifdef __cplusplus
}
#endif

#endif
