/*
 * cpu/sgemm_avx512.c: y (+)= x w^T (w stored (n, k)) or x w (w stored
 * (k, n)) with AVX-512: the GEMM of the linear layers (cpu/fast/linear.c)
 * and of the transposed convolutions (cpu/conv/transpose.c) where the CPU
 * has it. x and w are read as stored, row-major, no copy made at load.
 *
 * Blocked as in GotoBLAS: for each block of NC columns and KC inputs, w's
 * block is packed into panels of 32 columns (KC x 32, 8 KB: one stays in L1
 * while every row tile of x passes it); x is read in place, its KC-wide
 * strip of all rows staying in L2 across the panels. A 6x32 register tile
 * (12 zmm accumulators) sums each strip from zero and adds the sum to y, so
 * every output is y0 + s_1 + s_2 + ..., s_i sums of KC = 64 products: short
 * partial sums, which keep LeViT's ill-conditioned third stage within its
 * float64 bound (bench/RESULTS.md: with sums of 256 it was not).
 */
#include "cpu/blas.h"
#include "cpu/simd_avx512.h"

enum { KC = 64, NR = 32, NC = DS_SGEMM_NC, MR = 8 };

/* buf (panels, KC, NR) = w's outputs [j0, j0 + nc) x inputs [k0, k0 + kc),
 * zero past nc (kc <= KC, nc <= NC). */
static DS_AVX512 void pack(const float *w, int64_t ldw, ds_w_layout layout, int64_t j0, int64_t nc,
                           int64_t k0, int64_t kc, float *buf) {
    for (int64_t p = 0; p < nc; p += NR) {
        float *dst = buf + p * KC; /* panel p / NR: (KC, NR) */
        const int64_t cols = nc - p < NR ? nc - p : NR;
        if (layout == DS_W_KN) { /* rows of w are rows of the panel */
            const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
            const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
            for (int64_t q = 0; q < kc; q++) {
                const float *src = w + (k0 + q) * ldw + j0 + p;
                _mm512_storeu_ps(dst + q * NR, _mm512_maskz_loadu_ps(m0, src));
                _mm512_storeu_ps(dst + q * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
            continue;
        }
        for (int64_t c = 0; c < NR; c++) {
            if (c >= cols) {
                for (int64_t q = 0; q < kc; q++)
                    dst[q * NR + c] = 0.0f;
                continue;
            }
            const float *src = w + (j0 + p + c) * ldw + k0;
            for (int64_t q = 0; q < kc; q++)
                dst[q * NR + c] = src[q];
        }
    }
}

/* y (mr, cols) += x (mr, kc) b (kc, 32), b's rows ldb apart: a packed panel
 * (ldb = NR, zero past cols), or `unpacked` a matrix as stored, read only
 * in its cols columns; `store`: y = instead of +=, plus the bias (at the
 * panel's first column) when there is one; then act. */
static inline __attribute__((always_inline)) DS_AVX512 void
tile(int mr, int unpacked, int64_t kc, const float *x, int64_t ldx, const float *b, int64_t ldb, float *y,
     int64_t ldy, __mmask16 m0, __mmask16 m1, int store, const float *bias, ds_act act) {
    __m512 c0[MR], c1[MR];
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int64_t q = 0; q < kc; q++) {
        const float *bq = b + q * ldb;
        const __m512 b0 = unpacked ? _mm512_maskz_loadu_ps(m0, bq) : _mm512_loadu_ps(bq);
        const __m512 b1 = unpacked ? _mm512_maskz_loadu_ps(m1, bq + 16) : _mm512_loadu_ps(bq + 16);
        for (int r = 0; r < mr; r++) {
            const __m512 a = _mm512_set1_ps(x[r * ldx + q]);
            c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
        }
    }
    const __m512 b0 = store && bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = store && bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    for (int r = 0; r < mr; r++) {
        float *row = y + r * ldy;
        if (!store) {
            c0[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, row), c0[r]);
            c1[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, row + 16), c1[r]);
        } else if (bias) {
            c0[r] = _mm512_add_ps(c0[r], b0);
            c1[r] = _mm512_add_ps(c1[r], b1);
        }
        if (act != DS_ACT_NONE) {
            c0[r] = ds_act16(act, c0[r]);
            c1[r] = ds_act16(act, c1[r]);
        }
        _mm512_mask_storeu_ps(row, m0, c0[r]);
        _mm512_mask_storeu_ps(row + 16, m1, c1[r]);
    }
}

/* Every row tile of x against one panel of up to 32 columns. */
static inline __attribute__((always_inline)) DS_AVX512 void
rows(int unpacked, int64_t m, int64_t kc, const float *x, int64_t ldx, const float *b, int64_t ldb, float *y,
     int64_t ldy, int64_t cols, int store, const float *bias, ds_act act) {
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    int64_t i = 0;
#define TILE(mr) tile(mr, unpacked, kc, x + i * ldx, ldx, b, ldb, y + i * ldy, ldy, m0, m1, store, bias, act)
    for (; i + MR <= m; i += MR)
        TILE(MR);
    switch (m - i) {
    case 7: TILE(7); break;
    case 6: TILE(6); break;
    case 5: TILE(5); break;
    case 4: TILE(4); break;
    case 3: TILE(3); break;
    case 2: TILE(2); break;
    case 1: TILE(1); break;
    default: break;
    }
#undef TILE
}

static DS_AVX512 void rows_times_panel(int64_t m, int64_t kc, const float *x, int64_t ldx,
                                       const float *b, float *y, int64_t ldy, int64_t cols,
                                       int store, const float *bias, ds_act act) {
    rows(0, m, kc, x, ldx, b, NR, y, ldy, cols, store, bias, act);
}

static DS_AVX512 void rows_times_columns(int64_t m, int64_t k, const float *a, int64_t lda,
                                         const float *b, int64_t ldb, float *c, int64_t ldc, int64_t cols) {
    rows(1, m, k, a, lda, b, ldb, c, ldc, cols, 1, NULL, DS_ACT_NONE);
}

DS_AVX512 void ds_sgemm_small_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                     const float *b, int64_t ldb, float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += NR)
        rows_times_columns(m, k, a, lda, b + j, ldb, c + j, ldc, n - j < NR ? n - j : NR);
}

DS_AVX512 void ds_sgemm_avx512(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx,
                               const float *w, int64_t ldw, ds_w_layout layout, float *y, int64_t ldy,
                               int accumulate, const float *bias, ds_act act, float *buf) {
    if (k <= 0) { /* an empty sum: y = act(bias or 0), or act(y) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                const float v = accumulate ? y[i * ldy + j] : bias ? bias[j] : 0.0f;
                y[i * ldy + j] = ds_apply_act(act, v);
            }
        return;
    }
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = n - j0 < NC ? n - j0 : NC;
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            const int64_t kc = k - k0 < KC ? k - k0 : KC;
            pack(w, ldw, layout, j0, nc, k0, kc, buf);
            const int store = !accumulate && k0 == 0;
            for (int64_t p = 0; p < nc; p += NR)
                rows_times_panel(m, kc, x + k0, ldx, buf + p * KC, y + j0 + p, ldy,
                                 nc - p < NR ? nc - p : NR, store, store && bias ? bias + j0 + p : NULL,
                                 k0 + kc == k ? act : DS_ACT_NONE);
        }
    }
}
