/*
 * builder.h: builds a ds_graph while declaring the parameters each layer
 * needs, the way the PyTorch module tree declares them.
 *
 * The architecture descriptions (the files of model/) call these functions in forward
 * order. Each parameterized layer is declared to a binder with its PyTorch
 * name, PyTorch weight shape, and what the converter must fold into it
 * (BatchNorm, weight standardization). Two binders exist:
 *  - the converter's, which records the declarations (convert.c), and
 *  - the runtime's, which looks the converted tensors up in a GGUF file.
 * So one description serves the checkpoint check, the conversion and the
 * inference graph.
 *
 * Errors are sticky: after the first failure every call returns -1 and
 * b->status keeps the first error, so descriptions read as straight code.
 */
#ifndef DS_BUILDER_H
#define DS_BUILDER_H

#include "graph/graph.h" /* ds_graph, ds_node, ds_act, ds_tensor_ref */

typedef int ds_val; /* a node index, or -1 after a failure */

typedef enum ds_param_kind {
    DS_PARAM_CONV = 0, /* <name>.weight (O, I/g, kh, kw) [+ <name>.bias] [+ folded BatchNorm] */
    DS_PARAM_CONV_T,   /* <name>.weight (I, O, kh, kw) + <name>.bias */
    DS_PARAM_LINEAR,   /* <name>.weight (O, I) + <name>.bias */
    DS_PARAM_NORM,     /* <name>.weight (C) + <name>.bias (C) */
    DS_PARAM_TENSOR,   /* the tensor called <name> itself (pos_embed, cls_token) */
    DS_PARAM_BUFFER,   /* a buffer the model computes (<name> itself): checked, never stored */
    DS_PARAM_BATCHNORM, /* a BatchNorm of its own, <name>.weight, .bias, running stats (unused ones:
                           every BatchNorm in use is folded into its conv or linear) */
} ds_param_kind;

typedef struct ds_param_decl {
    ds_param_kind kind;
    const char *name;    /* module path; for DS_PARAM_TENSOR the full tensor name */
    int ndim;
    int64_t shape[4];    /* PyTorch shape of <name>.weight (or of the tensor) */
    bool has_bias;       /* the checkpoint holds <name>.bias */
    const char *bn;      /* BatchNorm2d module folded into this conv, or NULL */
    float bn_eps;
    float ws_eps;        /* > 0: weight standardization folded (timm StdConv2d) */
    bool unused;         /* in every checkpoint, but not needed for depth: dropped */
    const char *row_scale; /* a tensor (O) that multiplies the layer's output (layer scale,
                              DINOv2's ls1.gamma, BEiT's gamma_1): folded into the weight's
                              rows and the bias */
    const char *weight_name; /* "<name>.weight", or <name> for DS_PARAM_TENSOR and _BUFFER */
    const char *bias_name;   /* "<name>.bias" if the layer has a (possibly folded) bias */
    /* DS_PARAM_BUFFER: the values the architecture computes (numel of shape;
     * int64 buffers as exact floats), which a checkpoint's copy must equal */
    const float *expect;
    bool is_int64;
} ds_param_decl;

typedef struct ds_param_binder {
    void *ctx;
    /* Fills `weight` and `bias` (bias->name NULL when there is none) with the
     * converted tensors the layer uses; not called for unused declarations
     * unless `declare_unused` is set. */
    ds_status (*bind)(void *ctx, const ds_param_decl *decl, ds_tensor_ref *weight,
                      ds_tensor_ref *bias);
    bool declare_unused;
} ds_param_binder;

typedef struct ds_builder {
    ds_graph *g;
    const ds_param_binder *binder;
    ds_status status;
} ds_builder;

void ds_builder_init(ds_builder *b, ds_graph *g, const ds_param_binder *binder);

/* A name owned by the graph: ds_b_name(b, "pretrained.layer%d.%d", i, j). */
const char *ds_b_name(ds_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const int64_t *ds_b_shape(const ds_builder *b, ds_val v); /* (N, H, W, C) */
ds_status ds_b_error(ds_builder *b, ds_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

ds_val ds_b_input(ds_builder *b, int h, int w);

typedef struct ds_conv_spec {
    const char *name;   /* module path of the conv */
    int out;            /* output channels */
    int k;              /* square kernel */
    int stride;
    int dilation;       /* 0 or 1: none */
    int pad;            /* symmetric zero padding, as PyTorch's padding= */
    bool same;          /* TF "SAME" padding for the actual input size (pad ignored) */
    bool depthwise;     /* groups = input channels */
    int groups;         /* 0 or 1: dense */
    bool bias;          /* the checkpoint has <name>.bias */
    const char *bn;     /* BatchNorm2d folded into this conv, or NULL */
    float bn_eps;
    float ws_eps;       /* weight standardization eps (timm StdConv2d), 0 if none */
    ds_act in_act, res_act, act;
    int output_padding; /* ConvTranspose2d only: extra rows and columns at the end */
} ds_conv_spec;

/* act(conv(in_act(x)) + bias + res_act(residual)); residual may be -1. */
ds_val ds_b_conv(ds_builder *b, ds_val x, const ds_conv_spec *s, ds_val residual);
/* ConvTranspose2d with kernel == stride and no padding, with bias. */
ds_val ds_b_conv_transpose(ds_builder *b, ds_val x, const char *name, int out, int k);
/* ConvTranspose2d (groups 1): kernel s->k, stride, padding s->pad, dilation,
 * output_padding; <name>.weight (I, O, k, k), bias and BatchNorm (s->bn)
 * folded as ds_b_conv's; then act. in_act, res_act, same, groups: unused. */
ds_val ds_b_conv_transpose2d(ds_builder *b, ds_val x, const ds_conv_spec *s);
/* MaxPool2d; `same` selects TF "SAME" padding (pad ignored). Padding is -inf. */
ds_val ds_b_maxpool(ds_builder *b, ds_val x, int k, int stride, int pad, bool same);
/* Bilinear resize to (h, w). */
ds_val ds_b_resize(ds_builder *b, ds_val x, int h, int w, bool align_corners);
ds_val ds_b_add(ds_builder *b, ds_val x, ds_val y, ds_act act);
ds_val ds_b_act(ds_builder *b, ds_val x, ds_act act);
/* act(GroupNorm(x) + residual); residual may be -1. */
ds_val ds_b_groupnorm(ds_builder *b, ds_val x, const char *name, int groups, float eps,
                      ds_val residual, ds_act act);
ds_val ds_b_layernorm(ds_builder *b, ds_val x, const char *name, float eps);
/* act(x W^T + b + residual) over the last dimension; residual may be -1. */
ds_val ds_b_linear(ds_builder *b, ds_val x, const char *name, int out, ds_act act,
                   ds_val residual);
/* act(BatchNorm1d <bn>(x W^T) + residual): timm's LinearNorm, a Linear without
 * bias whose BatchNorm the converter folds into a weight and a bias. */
ds_val ds_b_linear_bn(ds_builder *b, ds_val x, const char *name, const char *bn, float bn_eps, int out,
                      ds_act act, ds_val residual);
/* LeViT's attention (graph.h, ds_levit_attn_attr): qkv, or kv and the queries
 * q (q >= 0: the subsampling attention), bias (heads, Tq, Tk) or an empty ref. */
ds_val ds_b_levit_attention(ds_builder *b, ds_val kv, ds_val q, int heads, int key_dim, int val_dim,
                            const ds_tensor_ref *bias, ds_act act);
/* ds_b_linear for a layer whose checkpoint has no <name>.bias: no bias, or
 * `bias` (Cout), a constant the description assembled (Swin v2's
 * [q_bias | 0 | v_bias]). */
ds_val ds_b_linear_bias(ds_builder *b, ds_val x, const char *name, int out, const ds_tensor_ref *bias,
                        ds_act act, ds_val residual);
/* x + scale * (x' W^T + b) with the residual x and the per-channel tensor
 * <scale> (layer scale), folded into the stored weight and bias; no act. */
ds_val ds_b_linear_scaled(ds_builder *b, ds_val x, const char *name, int out, const char *scale,
                          ds_val residual);
/* Multi-head self-attention on packed (1, 1, T, 3C) q|k|v. */
ds_val ds_b_attention(ds_builder *b, ds_val qkv, int heads);
/* The same with an additive bias on the scaled logits (graph.h, ds_attn_attr):
 * `bias` float32 (heads, T, T) and index NULL, or `bias` a table (heads, R)
 * and `index` int32 (T, T) into it; usually constants of this input size
 * (ds_b_constant, ds_b_constant_i32) that nodes may share. The index's
 * entries are checked against R. grid_w > 0: the index is the relative
 * position index of a (T - 1) / grid_w x grid_w grid (ds_grid_rel_index),
 * checked entry by entry when it has data; 0: any index. */
ds_val ds_b_attention_bias(ds_builder *b, ds_val qkv, int heads, const ds_tensor_ref *bias,
                           const ds_tensor_ref *index, int grid_w);
/* Window attention (graph.h, ds_window_attr) on a (N, H, W, 3C) map; the
 * table, labels and head scales are the description's constants, or NULL. */
ds_val ds_b_window_attention(ds_builder *b, ds_val qkv, const ds_window_attr *a, const ds_tensor_ref *table,
                             const ds_tensor_ref *labels, const ds_tensor_ref *head_scale);
/* (N, H, W, C) -> (N, ceil(H/2), ceil(W/2), 4C): channels [x(2i, 2j), x(2i+1, 2j),
 * x(2i, 2j+1), x(2i+1, 2j+1)], zero past an odd edge (Swin's PatchMerging). */
ds_val ds_b_patch_merge(ds_builder *b, ds_val x);
/* The position embedding <name> (1, 1 + grid^2, C) resized to a gh x gw grid. */
ds_val ds_b_pos_embed(ds_builder *b, const char *name, int grid, int channels, int gh, int gw);
/* The position embedding <name> (1, 1 + grid^2, C) resized bicubically to a
 * gh x gw grid as DINOv2 does it: F.interpolate with the scale factor
 * (g + offset) / grid, whose coordinate mapping is not in / out; the
 * embedding as stored when gh = gw = grid. */
ds_val ds_b_pos_embed_bicubic(ds_builder *b, const char *name, int grid, int channels, int gh, int gw,
                              double offset);
/* (1, 1, 1 + gh*gw, C) -> (1, gh, gw, C): the patch tokens as a map, token 0 left out. */
ds_val ds_b_drop_token(ds_builder *b, ds_val x, int gh, int gw);
/* x * s. */
ds_val ds_b_scale(ds_builder *b, ds_val x, float s);
/* Prepends the learned token <name> (1, 1, C) to the sequence. */
ds_val ds_b_prepend_token(ds_builder *b, ds_val x, const char *name);
/* (1, 1, 1+gh*gw, C) -> (1, gh, gw, 2C): each patch token, then token 0. */
ds_val ds_b_readout_cat(ds_builder *b, ds_val x, int gh, int gw);
ds_val ds_b_reshape(ds_builder *b, ds_val x, int64_t n, int64_t h, int64_t w, int64_t c);

/* A float32 tensor the graph owns, computed by the description for this
 * input size (a relative position bias gathered for the grid, a mask):
 * zeroed, 64-byte aligned, freed with the graph. Fills *out (graph_owned)
 * for a node's weight slot and returns the data to fill, or NULL after a
 * failure (sticky, as every call). */
float *ds_b_constant(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape);
/* The same for an int32 tensor (an index). */
int32_t *ds_b_constant_i32(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape);

/* Declares parameters the description reads itself while it builds (a
 * table it gathers into a ds_b_constant, a position-bias MLP, q and v
 * biases) and fills *w (and *bias when has_bias) with them; their data is
 * NULL when the graph only lists
 * parameters (the converter), so check it before computing from it. */
void ds_b_param(ds_builder *b, ds_param_kind kind, const char *name, int ndim, const int64_t *shape,
                bool has_bias, ds_tensor_ref *w, ds_tensor_ref *bias);

/* The q|k|v bias [q_bias | 0 | v_bias] of the attention module <attn>
 * (BEiT, Swin v2: the k bias is a zero buffer, not stored), dim values
 * each: a constant of the graph in *out, built from the declared
 * <attn>.q_bias and <attn>.v_bias; out, or NULL after a failure. */
const ds_tensor_ref *ds_b_qkv_bias(ds_builder *b, const char *attn, int dim, ds_tensor_ref *out);

/* Whether the binder lists parameters (the converter, synth): then buffers
 * are declared, with the values a checkpoint's copy must have. */
bool ds_b_lists_params(const ds_builder *b);
/* A buffer checkpoints hold and the engine recomputes (Swin's
 * relative_position_index, attn_mask): a checkpoint's copy, when present,
 * must equal `expect` (int64 buffers as exact floats, graph-owned); nothing
 * is stored. Only declared when ds_b_lists_params(). */
void ds_b_buffer(ds_builder *b, const char *name, int ndim, const int64_t *shape, bool is_int64,
                 const float *expect);

/* Parameters every checkpoint holds that depth does not use (a classifier
 * head, a final norm whose output no hook reads): accepted and dropped. */
void ds_b_unused(ds_builder *b, ds_param_kind kind, const char *name, int ndim,
                 const int64_t *shape, bool has_bias);

void ds_b_mark(ds_builder *b, const char *stage_name, ds_val v);
void ds_b_output(ds_builder *b, ds_val v);

/* ---- Depth Anything 3 ---- */
/* QK-norm and 2-D RoPE on packed (1, 1, 1 + gh*gw, 3C) q|k|v (graph.h,
 * DS_OP_QK_ROPE); q_norm and k_norm the per-head LayerNorms (head_dim), or
 * both NULL for the rotation alone. */
ds_val ds_b_qk_rope(ds_builder *b, ds_val qkv, const ds_rope_attr *attr, const char *q_norm, const char *k_norm);
/* (N, H, W, C0), (N, H, W, C1) -> (N, H, W, C0 + C1). */
ds_val ds_b_concat(ds_builder *b, ds_val x, ds_val y);
/* Token 0 of (N, 1, T, C) replaced by row 0 of the tensor <name>, stored as (1, stored, C). */
ds_val ds_b_set_token(ds_builder *b, ds_val x, const char *name, int stored);
/* Columns w0 .. w0+w-1 and channels c0 .. c0+c-1 of (N, H, W, C). */
ds_val ds_b_slice(ds_builder *b, ds_val x, int w0, int w, int c0, int c);
/* A (1, h, w, c) value the description computes into *data (ds_b_constant). */
ds_val ds_b_constant_value(ds_builder *b, const char *name, int64_t h, int64_t w, int64_t c, float **data);
/* A model output beside the depth, under its reference name: a mark that
 * every plan keeps (ds_graph_mark.output). */
void ds_b_output_named(ds_builder *b, const char *name, ds_val v);

#endif
