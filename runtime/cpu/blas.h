/*
 * cpu/blas.h: OpenBLAS as the CPU kernels use it: single-threaded, inside our
 * own tasks. Its OpenMP build takes its thread count from the calling
 * thread's OpenMP setting, and would start an OpenMP team (threads that spin
 * at every barrier) from each of our workers for a large call. And our own
 * sgemm for AVX-512 engines, whose speed does not follow OpenBLAS's CPU
 * detection (OPENBLAS_CORETYPE).
 */
#ifndef DS_CPU_BLAS_H
#define DS_CPU_BLAS_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h" /* ds_act */

/* Makes OpenBLAS single-threaded on the calling thread (once per thread);
 * call before any cblas_* call, on the thread that makes it. */
void ds_blas_serial(void);

/* y (m, n) = act(r + x (m, k) w^T + bias) for w stored (n, k) (DS_W_NK), or
 * with x w for w stored (k, n) (DS_W_KN). r (m, n) may be NULL, or y itself
 * (accumulating: ldr = ldy), or a residual; bias (n) may be NULL. Rows
 * ld* floats apart; buf:
 * DS_SGEMM_BUF_FLOATS floats of the caller's thread. AVX-512: call only when
 * the engine picked it (cpu/isa.h). */
typedef enum ds_w_layout { DS_W_NK, DS_W_KN } ds_w_layout;
enum { DS_SGEMM_KC = 192, DS_SGEMM_NC = 256, DS_SGEMM_BUF_FLOATS = DS_SGEMM_KC * DS_SGEMM_NC };
void ds_sgemm_avx512(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx, const float *w,
                     int64_t ldw, ds_w_layout layout, float *y, int64_t ldy, const float *r, int64_t ldr,
                     const float *bias, ds_act act, float *buf);
/* The same product for w stored (n, k) and packed once, whole, into panels
 * of 32 outputs (ds_sgemm_pack_panels_avx512, ds_sgemm_panels_floats of
 * them): what the linear layers of an AVX-512 engine run on, with no
 * packing per call. ds_sgemm_panels_avx512 reads panels from the one of
 * output 0 of this product on, each kp (the packed k) rows high, and its
 * first k rows; the same sums as ds_sgemm_avx512, the same bits. */
size_t ds_sgemm_panels_floats(int64_t n, int64_t k);
void ds_sgemm_pack_panels_avx512(const float *w, int64_t n, int64_t k, float *panels);
void ds_sgemm_panels_avx512(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx, const float *panels,
                            int64_t kp, float *y, int64_t ldy, const float *r, int64_t ldr, const float *bias,
                            ds_act act);
/* c (m, n) = a (m, k) b (k, n), all as stored, row-major, nothing packed:
 * for small products whose operands are in cache (Swin's windows). Each
 * output sums k in runs of 64 products. AVX-512, as above. */
void ds_sgemm_small_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                           int64_t ldb, float *c, int64_t ldc);

/* The same product with bfloat16 operands and float32 sums, on AVX512-BF16
 * (call only where ds_cpu_has_avx512_bf16()): w stored (n, k) rounded once
 * into panels of 32 outputs by (k + 1) / 2 input pairs
 * (ds_sgemm_bf16_pack_panels, ds_sgemm_bf16_panels_bytes of them);
 * ds_sgemm_bf16_panels reads them from output 0 of this product on, each kp
 * pairs high, and rounds x into buf (DS_SGEMM_BF16_BUF_WORDS of the
 * caller's thread) a block at a time. Both round to nearest even. */
enum { DS_SGEMM_BF16_KCP = 192, DS_SGEMM_BF16_MC = 576, DS_SGEMM_BF16_BUF_WORDS = DS_SGEMM_BF16_KCP * DS_SGEMM_BF16_MC };
size_t ds_sgemm_bf16_panels_bytes(int64_t n, int64_t k);
void ds_sgemm_bf16_pack_panels(const float *w, int64_t n, int64_t k, uint32_t *panels);
void ds_sgemm_bf16_panels(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx, const uint32_t *panels,
                          int64_t kp, float *y, int64_t ldy, const float *r, int64_t ldr, const float *bias,
                          ds_act act, uint32_t *buf);

#endif
