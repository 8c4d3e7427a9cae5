/*
 * cpu/ops.h: the CPU backend's operations, each in two versions:
 *  - ds_ref_*: the plain reference, single-threaded, written to be read and
 *    trusted; every other implementation (fast CPU, CUDA) is checked against it;
 *  - ds_fast_*: the fast path (the pool's threads, base/pool.h; OpenBLAS sgemm, vector kernels).
 *
 * Layout: activations are NHWC float32, (N, H, W, C) with C fastest. Weights
 * are float32 in the stored layout of params.h: conv (O, kh, kw, I/g),
 * transposed conv (I, kh, kw, O), linear (O, I).
 */
#ifndef DS_CPU_OPS_H
#define DS_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/bilinear.h" /* ds_bilinear_coord */
#include "graph/graph.h"    /* ds_node, ds_act */
#include "graph/tensor.h"   /* ds_tensor, ds_apply_act */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_cpu_ctx {
    int n_threads;
    float *scratch;        /* workspace shared by every op, scratch_bytes long */
    size_t scratch_bytes;
} ds_cpu_ctx;

/* One execution of one node. */
typedef struct ds_cpu_op {
    const ds_node *node;
    const ds_tensor *x;    /* input 0 */
    const ds_tensor *r;    /* input 1 (residual, second operand) or NULL */
    ds_tensor *y;          /* output, shape = node->shape */
    const float *w;        /* weight (stored layout) or NULL */
    const float *b;        /* bias or NULL */
    const void *packed;    /* weights prepared by the fast path's pack(), or NULL */
    ds_cpu_ctx *ctx;
    const float *w2, *w3;  /* the node's weight slots 2 and 3 (graph.h), or NULL */
} ds_cpu_op;

/* An implementation of one op kind. */
typedef struct ds_cpu_kernel {
    void (*run)(const ds_cpu_op *op);
    /* Workspace bytes for this node (NULL: none). */
    size_t (*scratch_bytes)(const ds_node *n, int n_threads);
    /* Prepares weights for this node at its shape (NULL: uses op->w
     * directly). Returns NULL on allocation failure; the result is released
     * with free(). The engine keeps one per weight and pack_key. */
    void *(*pack)(const ds_node *n, const float *w, int n_threads);
    /* Which prepared layout this node needs at its shape (NULL: always the
     * same); < 0: none, the node runs on its weights as stored. */
    int (*pack_key)(const ds_node *n, int n_threads);
} ds_cpu_kernel;

/* Whether kernel k runs node n on a packed copy of its weight (pack, and a
 * pack_key not below 0); the caller checks that the weight has data. */
int ds_cpu_kernel_packs(const ds_cpu_kernel *k, const ds_node *n, int n_threads);

/* The tables, indexed by ds_op. Entries with run == NULL are not supported. */
extern const ds_cpu_kernel ds_cpu_ref_kernels[DS_OP_COUNT];
extern const ds_cpu_kernel ds_cpu_fast_kernels[DS_OP_COUNT];
/* ds_cpu_fast_kernels with bfloat16 linear layers (precision bf16) */
extern const ds_cpu_kernel ds_cpu_fast_bf16_kernels[DS_OP_COUNT];

/* ---- reference implementations (the files of cpu/ref/) ---- */
void ds_ref_conv2d(const ds_cpu_op *op);
void ds_ref_conv_transpose(const ds_cpu_op *op);
void ds_ref_maxpool(const ds_cpu_op *op);
void ds_ref_resize(const ds_cpu_op *op);
void ds_ref_add(const ds_cpu_op *op);
void ds_ref_act(const ds_cpu_op *op);
void ds_ref_groupnorm(const ds_cpu_op *op);
void ds_ref_layernorm(const ds_cpu_op *op);
void ds_ref_linear(const ds_cpu_op *op);
void ds_ref_attention(const ds_cpu_op *op);
size_t ds_ref_attention_scratch(const ds_node *n, int n_threads);
void ds_ref_pos_embed(const ds_cpu_op *op);
void ds_ref_prepend_token(const ds_cpu_op *op);
void ds_ref_readout_cat(const ds_cpu_op *op);
void ds_ref_copy(const ds_cpu_op *op); /* RESHAPE when not aliased, INPUT */
/* w = bias table, b = region labels, w2 = head scales (graph.h, ds_window_attr) */
void ds_ref_window_attention(const ds_cpu_op *op);
size_t ds_ref_window_attention_scratch(const ds_node *n, int n_threads);
void ds_ref_patch_merge(const ds_cpu_op *op);
void ds_ref_levit_attention(const ds_cpu_op *op); /* x: in[0], r: the queries (in[1]) or NULL, w: bias */
size_t ds_ref_levit_attention_scratch(const ds_node *n, int n_threads);
void ds_ref_pos_embed_bicubic(const ds_cpu_op *op);
void ds_ref_drop_token(const ds_cpu_op *op);
void ds_ref_scale(const ds_cpu_op *op);
void ds_ref_qk_rope(const ds_cpu_op *op);
void ds_ref_concat(const ds_cpu_op *op);
void ds_ref_set_token(const ds_cpu_op *op);
void ds_ref_slice(const ds_cpu_op *op);
void ds_ref_constant(const ds_cpu_op *op);

#ifdef __cplusplus
}
#endif

#endif
