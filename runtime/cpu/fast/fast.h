/*
 * cpu/fast/fast.h: what the fast CPU kernels (the files of cpu/fast/) share: the kernels
 * themselves, for the table in cpu/fast/kernels.c, and the row primitives
 * they are built on. A primitive works on a contiguous run of floats; the
 * kernels split the work over threads and call them. Two sets exist, AVX2+FMA
 * (cpu/fast/vec_avx2.c) and portable C (cpu/fast/vec.c); ds_vec() picks one
 * once, from what the CPU supports.
 */
#ifndef DS_CPU_FAST_H
#define DS_CPU_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/ops.h" /* ds_cpu_op, ds_node, ds_act */

typedef struct ds_vec_ops {
    /* y[i] = act(a[i] + b[i] + c[i]), b and c optional (NULL); y may be a, b or c. */
    void (*add_act)(float *y, const float *a, const float *b, const float *c, size_t n,
                    ds_act act);
    /* y[i] = erf(x[i]), y may be x (the GELU's erf, exposed to be tested). */
    void (*erf)(float *y, const float *x, size_t n);
    /* s[i] = exp(s[i] - max(s)); returns the sum of the new s (n >= 1). */
    float (*exp_sum)(float *s, size_t n);
    /* y[i] *= a */
    void (*scale)(float *y, size_t n, float a);
    /* LayerNorm of one row of n: y = (x - mean) / sqrt(var + eps) * w + b, y may be x. */
    void (*layernorm)(float *y, const float *x, const float *w, const float *b, size_t n,
                      float eps);
    /* sum[k] += x[p*n + k] and sq[k] += x[p*n + k]^2 over p < pixels: GroupNorm
     * statistics per channel, in double. */
    void (*chan_stats)(double *sum, double *sq, const float *x, size_t pixels, size_t n);
    /* y[k] = act((x[k] - mean[k]) * scale[k] + shift[k] + r[k]), r optional; y may be x or r. */
    void (*norm_apply)(float *y, const float *x, const float *r, const float *mean,
                       const float *scale, const float *shift, size_t n, ds_act act);
    /* Bilinear blend of four rows, in the reference's operation order:
     * y = (1-fy)*((1-fx)*p00 + fx*p01) + fy*((1-fx)*p10 + fx*p11). */
    void (*bilinear)(float *y, const float *p00, const float *p01, const float *p10,
                     const float *p11, float fx, float fy, size_t n);
} ds_vec_ops;

/* The set for this CPU (AVX2+FMA when it has them and the ISA chosen is avx2, cpu/isa.h). */
const ds_vec_ops *ds_vec(void);
/* Each set on its own, for the tests; ds_vec_avx2() is NULL without AVX2+FMA. */
const ds_vec_ops *ds_vec_portable(void);
const ds_vec_ops *ds_vec_avx2(void);
/* For tests: nonzero makes ds_vec() answer the portable set, and so every
 * kernel take its portable path, until called again with 0. */
void ds_vec_force_portable(int on);
/* The AVX2 set's table (cpu/fast/vec_avx2.c); only valid where the CPU has AVX2+FMA. */
extern const ds_vec_ops ds_vec_avx2_ops;

/* Attention in AVX2+FMA (cpu/fast/attention_avx2.c), over one item's (T, 3C)
 * packed q|k|v, in blocks of DS_ATTENTION_BLOCK queries. First
 * ds_attention_pack_avx2 copies q, k and v of the tokens of block b into
 * `shared` (ds_attention_avx2_shared_floats); once every block is there, the
 * task of head h and block b writes its queries' hd channels into y (rows of
 * stride C, from query DS_ATTENTION_BLOCK * b, channel h * hd), with
 * ds_attention_avx2_floats(T) floats of its own workspace. `bias` is head
 * h's part of the node's bias, (T, T), or its table when `index` (T, T) is
 * given (graph.h's ds_attn_attr; grid_w > 0: the index is that grid's, and
 * is computed, not read); NULL: none. */
enum { DS_ATTENTION_BLOCK = 64 };
size_t ds_attention_avx2_shared_floats(int64_t T, int64_t C, int heads);
size_t ds_attention_avx2_floats(int64_t T);
void ds_attention_pack_avx2(const float *qkv, int64_t T, int64_t C, int heads, float scale,
                            int64_t b, float *shared);
/* Its k and v part alone; the same with AVX-512 (cpu/fast/attention_avx512.c), the same floats. */
void ds_attention_pack_kv_avx2(const float *qkv, int64_t T, int64_t C, int heads, int64_t b, float *shared);
void ds_attention_pack_avx512(const float *qkv, int64_t T, int64_t C, int heads, float scale,
                              int64_t b, float *shared);
void ds_attention_task_avx2(const float *shared, int64_t T, int64_t C, int heads, int h, int64_t b,
                            const float *bias, const int32_t *index, int grid_w, float *y, float *ws);
/* Gathers with AVX-512 (cpu/fast/gather_avx512.c). Row t lies at
 * base + (pos ? pos[t] : t) * stride; hd floats of it are read.
 * dst (n, hd) = the n rows times scale. */
void ds_rows_gather_avx512(const float *base, const int64_t *pos, int64_t stride, int64_t n, int64_t hd,
                           float scale, float *dst);
/* dst (hd, ld): dst[d * ld + t] = float d of row t times scale, t < n (the
 * rest of each dst row untouched). */
void ds_rows_gather_transposed_avx512(const float *base, const int64_t *pos, int64_t stride, int64_t n,
                                      int64_t hd, float scale, float *dst, int64_t ld);
/* dst (n, hd) = each row times scale / max(its L2 norm, eps) (F.normalize
 * then a scale; the norm summed in double). */
void ds_rows_gather_normalized_avx512(const float *base, const int64_t *pos, int64_t stride, int64_t n,
                                      int64_t hd, double eps, float scale, float *dst);
/* Swin window attention's row work with AVX-512 (cpu/fast/window_attention_avx512.c). */
/* Scores s (bq, T) of queries q0.. of a window tw tokens wide: each key row
 * plus its run of the flipped bias table (bw wide; NULL: none), plus the
 * region mask where label (T, NULL: unmasked) differs from the query's; then
 * exp(s - row max) in place and inv[i] = 1 / the row's sum. tmp: T floats. */
void ds_window_softmax_avx512(float *s, int64_t bq, int64_t T, int64_t q0, int64_t tw, const float *flip,
                              int64_t bw, int win_h, int win_w, const float *label, float *inv, float *tmp);
/* y[pos[i] * C + d] = out[i * hd + d] * inv[i]. */
void ds_window_scatter_avx512(const float *out, int64_t bq, int64_t hd, const float *inv, float *y,
                              const int64_t *pos, int64_t C);
/* The same task with AVX-512 (cpu/fast/attention_avx512.c), the same bits. */
void ds_attention_task_avx512(const float *shared, int64_t T, int64_t C, int heads, int h, int64_t b,
                              const float *bias, const int32_t *index, int grid_w, float *y, float *ws);
/* What both tasks start from: head h's packed q^T of block b (hd, QMAX),
 * its k (T, hd) and v panels (hd16 / 16, T, 16) in `shared`; in ws the
 * scores st (T, nq) (holding the bias, transposed, when there is one), the
 * column max mx (nq, set to -inf) and sums (nq). */
typedef struct ds_attention_view {
    int64_t hd, q0, bq, nq; /* head size; the block's first query, queries, bq rounded up to 16 */
    const float *qt, *k, *vp;
    float *st, *mx, *sum;
} ds_attention_view;
ds_attention_view ds_attention_task_begin(const float *shared, int64_t T, int64_t C, int heads, int h,
                                          int64_t b, const float *bias, const int32_t *index, int grid_w,
                                          float *ws);

/* 1 if the kernels that have AVX-512 versions run them: the engine picked
 * avx512 (cpu/isa.h) and the tests did not force the portable set. */
int ds_fast_avx512(void);

/* Threads for a loop of `work` floats: 1 when splitting costs more than it saves. */
int ds_fast_threads(const ds_cpu_op *op, double work);
/* Threads for `tasks` tasks that each need `per_thread` floats of the
 * op's scratch: at most what the scratch holds, at least 1. Give it to
 * ds_parallel_for; a task's `thread` (< it) picks its workspace,
 * op->ctx->scratch + thread * per_thread. */
int ds_fast_scratch_threads(const ds_cpu_op *op, size_t per_thread, int64_t tasks);

/* ---- the kernels ---- */
void ds_fast_linear(const ds_cpu_op *op);
size_t ds_fast_linear_scratch(const ds_node *n, int n_threads);
void *ds_fast_linear_pack(const ds_node *n, const float *w, int n_threads);
int ds_fast_linear_pack_key(const ds_node *n, int n_threads);
/* The linear of precision bf16: W rounded to bfloat16 at load, x as it is
 * read, float32 sums (cpu/sgemm_bf16_avx512.c). */
void ds_fast_linear_bf16(const ds_cpu_op *op);
size_t ds_fast_linear_bf16_scratch(const ds_node *n, int n_threads);
void *ds_fast_linear_bf16_pack(const ds_node *n, const float *w, int n_threads);
int ds_fast_linear_bf16_pack_key(const ds_node *n, int n_threads);
void ds_fast_attention(const ds_cpu_op *op);
size_t ds_fast_attention_scratch(const ds_node *n, int n_threads);
void ds_fast_layernorm(const ds_cpu_op *op);
void ds_fast_groupnorm(const ds_cpu_op *op);
size_t ds_fast_groupnorm_scratch(const ds_node *n, int n_threads);
void ds_fast_resize(const ds_cpu_op *op);
void ds_fast_pos_embed(const ds_cpu_op *op);
void ds_fast_add(const ds_cpu_op *op);
void ds_fast_act(const ds_cpu_op *op);
void ds_fast_copy(const ds_cpu_op *op);
void ds_fast_prepend_token(const ds_cpu_op *op);
void ds_fast_readout_cat(const ds_cpu_op *op);
void ds_fast_window_attention(const ds_cpu_op *op);
size_t ds_fast_window_attention_scratch(const ds_node *n, int n_threads);
void ds_fast_patch_merge(const ds_cpu_op *op);
void ds_fast_levit_attention(const ds_cpu_op *op);
size_t ds_fast_levit_attention_scratch(const ds_node *n, int n_threads);
void ds_fast_pos_embed_bicubic(const ds_cpu_op *op);
void ds_fast_drop_token(const ds_cpu_op *op);
void ds_fast_scale(const ds_cpu_op *op);
void ds_fast_qk_rope(const ds_cpu_op *op);
size_t ds_fast_qk_rope_scratch(const ds_node *n, int n_threads);
void ds_fast_concat(const ds_cpu_op *op);
void ds_fast_set_token(const ds_cpu_op *op);
void ds_fast_slice(const ds_cpu_op *op);
void ds_fast_constant(const ds_cpu_op *op);

#endif
