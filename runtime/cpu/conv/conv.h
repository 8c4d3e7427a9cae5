/*
 * cpu/conv/conv.h: pieces shared by the fast CPU convolution kernels (internal to
 * the CPU backend).
 *
 * ds_fast_conv2d picks one algorithm per node (ds_conv_choose) from the
 * attributes, the weight shape and the output shape only, so that
 * scratch_bytes() and run() always agree. pack() prepares the layout of that
 * algorithm only (the engine packs again, and keeps both, if another input
 * size picks another one); pack_all() every layout, for tests that force one.
 *
 * Every kernel computes y = act(conv(in_act(x)) + bias + res_act(r)), and each
 * output element reads its residual at its own index before writing it, so y
 * may lie on top of r (the planner's in-place contract).
 *
 * `simd` arguments: nonzero selects the AVX2+FMA code (*_avx2.c), which the
 * caller has checked the CPU supports; zero selects the portable C code.
 */
#ifndef DS_CPU_CONV_H
#define DS_CPU_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/ops.h" /* ds_cpu_op, ds_node */

typedef enum ds_conv_algo {
    DS_CONV_GEMM,      /* dense: GEMM on x itself (1x1) or on im2col row tiles */
    DS_CONV_WINOGRAD,  /* dense 3x3, stride 1, dilation 1: F(4x4, 3x3) */
    DS_CONV_DEPTHWISE, /* groups == C == O: direct, vectorized across channels */
    DS_CONV_GROUPED,   /* 1 < groups < C: direct, vectorized across a group's outputs */
} ds_conv_algo;

/* The convolution's sizes, from the node alone. */
typedef struct ds_conv_dims {
    int64_t n, oh, ow, c, o; /* batch, output size, input and output channels */
    int64_t cg, og;          /* channels per group, in and out */
    int64_t k;               /* GEMM depth of one group: kh * kw * cg */
} ds_conv_dims;

/* The table entries (cpu/conv/conv.c, cpu/fast/conv_transpose.c, cpu/fast/maxpool.c). */
void ds_fast_conv2d(const ds_cpu_op *op);
size_t ds_fast_conv2d_scratch(const ds_node *n, int n_threads);
void *ds_fast_conv2d_pack(const ds_node *n, const float *w, int n_threads);
int ds_fast_conv2d_pack_key(const ds_node *n, int n_threads);
void *ds_fast_conv2d_pack_all(const ds_node *n, const float *w, int n_threads);
void ds_fast_conv_transpose(const ds_cpu_op *op);
size_t ds_fast_conv_transpose_scratch(const ds_node *n, int n_threads);
void ds_fast_maxpool(const ds_cpu_op *op);
void ds_fast_maxpool_portable(const ds_cpu_op *op); /* without AVX2, for the tests */
/* One output row (batch nb, row oy) of max-pool. */
void ds_maxpool_row_c(const ds_cpu_op *op, int64_t nb, int64_t oy);
void ds_maxpool_row_avx2(const ds_cpu_op *op, int64_t nb, int64_t oy);

/* One algorithm forced, for the tests and the benchmark: `a` must apply to
 * the node (see ds_conv_applies), the scratch must hold
 * ds_conv2d_scratch_algo bytes and the weights be packed for it. Returns the
 * algorithm that ran: `a`, or another one, or -1 (the reference op) when it
 * could not run `a`, so that a caller that forced it can tell. */
int ds_conv_applies(const ds_node *n, ds_conv_algo a);
size_t ds_conv2d_scratch_algo(const ds_node *n, int n_threads, ds_conv_algo a);
/* simd: the ds_cpu_isa to run (0: the portable C kernels). */
int ds_conv2d_run_algo(const ds_cpu_op *op, ds_conv_algo a, int simd);

/* Needs node->w[0].shape = (O, kh, kw, C/groups), as the model binder fills it. */
ds_conv_dims ds_conv_dims_of(const ds_node *n);
ds_conv_algo ds_conv_choose(const ds_node *n, int n_threads);

/* 1 if the AVX2+FMA kernels run (the CPU has them and DS_CPU_ISA does not say otherwise). */
int ds_cpu_has_avx2_fma(void);

/* Packed weights: one allocation (released with free()), a header then floats;
 * any pointer may be NULL (see ds_fast_conv2d_pack for which are filled). */
typedef struct ds_conv_packed {
    const float *wino;   /* dense 3x3 stride 1: ds_wino_pack */
    const float *direct; /* depthwise or grouped: the direct kernel's order */
    const float *gemm;   /* dense: ds_gemm_pack of the (O, kh*kw*C) weight */
} ds_conv_packed;

/* ---- epilogue over rows of an (rows, O) output block (cpu_conv_epilogue*.c) ---- */
/* y = bias + res_act(r); r may be y itself. bias may be NULL. */
void ds_conv_prefill(float *y, const float *r, const float *bias, size_t rows, size_t o,
                     ds_act res_act, int simd);
/* y = act(y + bias); bias may be NULL. */
void ds_conv_finish(float *y, const float *bias, size_t rows, size_t o, ds_act act, int simd);
void ds_conv_prefill_avx2(float *y, const float *r, const float *bias, size_t rows, size_t o,
                          ds_act res_act);
void ds_conv_finish_avx2(float *y, const float *bias, size_t rows, size_t o, ds_act act);

/* ---- dense GEMM path (cpu/conv/gemm.c) ---- */
void ds_conv_gemm(const ds_cpu_op *op, const ds_conv_packed *p, int simd);
size_t ds_conv_gemm_scratch(const ds_node *n, int n_threads);
/* 1 if the conv is a plain 1x1 stride-1 GEMM on x itself. */
int ds_conv_is_pointwise(const ds_node *n);

/* ---- GEMM on weights packed once (cpu_gemm*.c) ---- */
/* b: (ceil(n/16), k, 16), panels of 16 rows of w (n, k) side by side, zero past n. */
size_t ds_gemm_packed_floats(int64_t n, int64_t k);
void ds_gemm_pack(const float *w, int64_t n, int64_t k, float *b);
/* c (m, n) = act(a (m, k) w^T + bias + res_act(r)) over columns n0 .. n1-1. */
typedef struct ds_gemm_args {
    int64_t m, n, k;
    const float *a; /* (m, k), rows lda apart */
    int64_t lda;
    const float *b; /* ds_gemm_pack of w */
    float *c;       /* (m, n), rows ldc apart */
    int64_t ldc;
    const float *r; /* (m, n) residual, rows ldr apart, or NULL; may be c itself */
    int64_t ldr;
    const float *bias; /* n, or NULL */
    ds_act res_act, act;
    int64_t n0, n1; /* n0 % 16 == 0 */
} ds_gemm_args;
void ds_gemm_packed_avx2(const ds_gemm_args *g);
/* The same, bit for bit, on AVX-512 (cpu/conv/gemm_avx512.c). */
void ds_gemm_packed_avx512(const ds_gemm_args *g);

/* ---- Winograd F(4x4, 3x3) (cpu_conv_winograd*.c) ---- */
enum { DS_WINO_PANEL = 16 }; /* output channels per packed weight panel */
enum { DS_WINO_KBLOCK = 16 }; /* channels summed before adding to the total (accuracy) */
size_t ds_wino_packed_floats(const ds_node *n);
/* u: (36, ceil(O/16), C, 16) = G g G^T per position, zero past O. */
void ds_wino_pack(const ds_node *n, const float *w, float *u);
void ds_conv_winograd(const ds_cpu_op *op, const float *u, int simd);
size_t ds_conv_winograd_scratch(const ds_node *n, int n_threads);

/* One block of 4x4 output tiles and a range of output channels: the unit of
 * work of the three Winograd stages. Tile t (of N * th * tw, row-major) reads
 * the 6x6 input patch at (4 ty - pad_t, 4 tx - pad_l). */
typedef struct ds_wino_block {
    const ds_cpu_op *op;
    int64_t th, tw;     /* tiles down and across */
    int64_t t0, nt;     /* tiles t0 .. t0 + nt - 1 */
    int64_t o0, no;     /* output channels o0 .. o0 + no - 1; o0 % 16 == 0 */
    int64_t ldm;        /* no rounded up to 16 */
    float *v;           /* (36, nt, C) transformed input */
    float *m;           /* (36, nt, ldm) products */
    const float *u;     /* packed weights, see ds_wino_pack */
} ds_wino_block;

/* Block tile t's 6x6 input patch: 1 when it lies wholly inside the input
 * (*base: its first pixel, channel 0), else 0 with src[k] the pixel of patch
 * position k (channel 0), NULL in the padding. */
static inline int ds_wino_patch(const ds_wino_block *b, int64_t t, const float **base,
                                const float *src[36]) {
    const ds_cpu_op *op = b->op;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t tt = b->t0 + t;
    const int64_t nb = tt / (b->th * b->tw), ty = tt / b->tw % b->th, tx = tt % b->tw;
    const int64_t iy0 = ty * 4 - op->node->a.conv.pad_t, ix0 = tx * 4 - op->node->a.conv.pad_l;
    if (iy0 >= 0 && iy0 + 6 <= H && ix0 >= 0 && ix0 + 6 <= W) {
        *base = op->x->data + ((nb * H + iy0) * W + ix0) * C;
        return 1;
    }
    for (int k = 0; k < 36; k++) {
        const int64_t iy = iy0 + k / 6, ix = ix0 + k % 6;
        src[k] = iy >= 0 && iy < H && ix >= 0 && ix < W ? op->x->data + ((nb * H + iy) * W + ix) * C
                                                        : NULL;
    }
    return 0;
}

/* Block tile t's output: the offset in y of its first output of channel
 * o0, and the rows and columns (<= 4) of it that exist. */
static inline int64_t ds_wino_out_at(const ds_wino_block *b, int64_t t, int64_t *rows, int64_t *cols) {
    const ds_cpu_op *op = b->op;
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t tt = b->t0 + t;
    const int64_t nb = tt / (b->th * b->tw), ty = tt / b->tw % b->th, tx = tt % b->tw;
    *rows = OH - ty * 4 < 4 ? OH - ty * 4 : 4;
    *cols = OW - tx * 4 < 4 ? OW - tx * 4 : 4;
    return ((nb * OH + ty * 4) * OW + tx * 4) * O + b->o0;
}

/* Transforms for the points 0, 1, -1, 2, -1/2, inf (one axis; rows of B^T, A^T):
 *   B^T: [1, 3/2, -2, -3/2, 1, 0]  [0, -1, -5/2, -1/2, 1, 0]  [0, 1, 1/2, -5/2, 1, 0]
 *        [0, -1/2, -1, 1/2, 1, 0]  [0, 2, -1, -2, 1, 0]      [0, 1, 3/2, -2, -3/2, 1]
 *   A^T: [1, 1, 1, 1, 1, 0]  [0, 1, -1, 2, -1/2, 0]  [0, 1, 1, 4, 1/4, 0]  [0, 1, -1, 8, -1/8, 1]
 * v = B^T d B for channels c0 .. c1-1 */
void ds_wino_input_c(const ds_wino_block *b, int64_t c0, int64_t c1);
/* m[k] = v[k] u[k] for all 36 positions */
void ds_wino_gemm_c(const ds_wino_block *b);
/* y = act(A^T m A + bias + res_act(r)) for block channels j0 .. j1-1 */
void ds_wino_output_c(const ds_wino_block *b, int64_t j0, int64_t j1);
void ds_wino_input_avx2(const ds_wino_block *b);
void ds_wino_gemm_avx2(const ds_wino_block *b);
void ds_wino_output_avx2(const ds_wino_block *b);
/* The AVX2 stages from channel c0 (input) or block channel j0 (output) on,
 * a multiple of 8: the AVX-512 stages' leftovers. */
void ds_wino_input_avx2_from(const ds_wino_block *b, int64_t c0);
void ds_wino_output_avx2_from(const ds_wino_block *b, int64_t j0);
/* The input and output stages with AVX-512, 16 channels a vector (the same
 * bits as the AVX2 ones). */
void ds_wino_input_avx512(const ds_wino_block *b);
void ds_wino_output_avx512(const ds_wino_block *b);
/* ds_wino_gemm_avx2's result, bit for bit, on AVX-512 */
void ds_wino_gemm_avx512(const ds_wino_block *b);

/* ---- direct kernels (cpu_conv_depthwise*.c, cpu_conv_grouped*.c) ---- */
/* Along one axis: the taps k0..k1-1 of output o that land inside an input of `in`. */
void ds_conv_tap_range(int64_t o, int stride, int pad, int dil, int k, int64_t in, int *k0,
                       int *k1);

size_t ds_depthwise_packed_floats(const ds_node *n);
/* p: (kh, kw, C), the taps of each channel C apart */
void ds_depthwise_pack(const ds_node *n, const float *w, float *p);
void ds_conv_depthwise(const ds_cpu_op *op, const float *p, int simd);
/* One output row (batch nb, row oy); the C version for channels c0 .. c1-1. */
void ds_depthwise_row_c(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy, int64_t c0,
                        int64_t c1);
void ds_depthwise_row_avx2(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy);

enum { DS_GROUP_BLOCK = 8 }; /* output channels per packed block of a group */
size_t ds_grouped_packed_floats(const ds_node *n);
/* p: (groups, ceil(og/8), kh, kw, cg, 8), zero past og */
void ds_grouped_pack(const ds_node *n, const float *w, float *p);
void ds_conv_grouped(const ds_cpu_op *op, const float *p, int simd);
size_t ds_grouped_scratch(const ds_node *n, int n_threads);
/* Padded input columns the AVX2 row kernel reads: (OW-1) stride + (kw-1) dil + 1. */
int64_t ds_grouped_buffer_width(const ds_node *n);
/* One output row (batch nb, row oy) of group g. */
void ds_grouped_row_c(const ds_cpu_op *op, const float *p, int64_t g, int64_t nb, int64_t oy);
/* One output row, every group; buf: (kh, ds_grouped_buffer_width, C) floats. */
void ds_grouped_row_avx2(const ds_cpu_op *op, const float *p, int64_t nb, int64_t oy, float *buf);

#endif
