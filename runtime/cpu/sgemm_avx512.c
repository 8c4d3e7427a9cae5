/*
 * cpu/sgemm_avx512.c: y (+)= x w^T (w stored (n, k)) or x w (w stored
 * (k, n)) with AVX-512: the GEMM of the linear layers (cpu/fast/linear.c)
 * and of the transposed convolutions (cpu/fast/conv_transpose.c) where the CPU
 * has it. x is read in place; w as stored (packed on the way) or packed
 * whole into panels once, at load (ds_sgemm_pack_panels_avx512).
 *
 * Blocked as in GotoBLAS: for each block of NC columns and KC = 192 inputs,
 * w's block is packed into panels of 32 columns (KC x 32, 24 KB: one stays
 * in L1 while every row tile of x passes it; (n, k) weights through 16x16
 * register transposes, a scalar copy cost a tenth of the time); x is read
 * in place. A 6x32 register tile keeps its running sum in 12 zmm and sums
 * each run of SUB = 64 products in 12 more from zero, so every output is
 * y0 + (s_1 + s_2 + ...), s_i sums of 64 products: short partial sums, which
 * keep LeViT's ill-conditioned third stage within its float64 bound
 * (bench/RESULTS.md: with sums of 256 it was not), while y is read and
 * written once per 192 inputs, not per 64 (from L3 at DINOv2-L's 1370 rows:
 * the loads of y were a fifth of the time). KC = 192 ran 5% faster than 256
 * at ViT fc1 shapes, 128 and 160 slower (bench/RESULTS.md).
 *
 * Each tile prefetches the rows of y it will add to (from L3 they stalled
 * its epilogue), and on packed panels the first tile of each panel
 * prefetches the panel that comes next. With few rows (STREAM_ROWS) the
 * work on a block of w is too short to hide its coming from memory: the
 * panels are then read whole, one after another, in memory order.
 */
#include "cpu/blas.h"
#include "cpu/sgemm_tile_avx512.h"

enum { KC = DS_SGEMM_KC, SUB = 64, NR = 32, NC = DS_SGEMM_NC, MR = 6, STREAM_ROWS = 256 };

/* dst (kc, 16), rows NR apart = src (16, kc) transposed: 16 of w's (n, k)
 * rows, ld apart, of which the first `cols` are read, the rest zero
 * (kc <= 16). */
static inline __attribute__((always_inline)) DS_AVX512 void transpose16(const float *src, int64_t ld,
                                                                        int64_t cols, int64_t kc,
                                                                        float *dst) {
    const __mmask16 km = ds_lanes16(kc);
    __m512 r[16];
    for (int c = 0; c < 16; c++)
        r[c] = c < cols ? _mm512_maskz_loadu_ps(km, src + c * ld) : _mm512_setzero_ps();
    ds_transpose16(r);
    for (int q = 0; q < kc; q++)
        _mm512_storeu_ps(dst + q * NR, r[q]);
}

/* buf (panels, rows, NR) = w's outputs [j0, j0 + nc) x inputs [k0, k0 + kc),
 * zero past nc; panels `rows` >= kc rows long. */
static DS_AVX512 void pack(const float *w, int64_t ldw, ds_w_layout layout, int64_t j0, int64_t nc,
                           int64_t k0, int64_t kc, float *buf, int64_t rows) {
    for (int64_t p = 0; p < nc; p += NR) {
        float *dst = buf + p * rows; /* panel p / NR: (rows, NR) */
        const int64_t cols = nc - p < NR ? nc - p : NR;
        if (layout == DS_W_KN) { /* rows of w are rows of the panel */
            const __mmask16 m0 = ds_lanes16(cols);
            const __mmask16 m1 = ds_lanes16(cols - 16);
            for (int64_t q = 0; q < kc; q++) {
                const float *src = w + (k0 + q) * ldw + j0 + p;
                _mm512_storeu_ps(dst + q * NR, _mm512_maskz_loadu_ps(m0, src));
                _mm512_storeu_ps(dst + q * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
            continue;
        }
        for (int64_t h = 0; h < NR; h += 16) { /* 16 columns a half panel */
            if (h >= cols) {
                for (int64_t q = 0; q < kc; q++)
                    _mm512_storeu_ps(dst + q * NR + h, _mm512_setzero_ps());
                continue;
            }
            for (int64_t q0 = 0; q0 < kc; q0 += 16)
                transpose16(w + (j0 + p + h) * ldw + k0 + q0, ldw, cols - h, kc - q0 < 16 ? kc - q0 : 16,
                            dst + q0 * NR + h);
        }
    }
}

/* y (mr, cols) = act(from + x (mr, kc) b (kc, 32) + bias), summed in runs of
 * SUB products (above); from (rows ldf apart): y itself (accumulating), a
 * residual, or NULL (nothing); bias (at the panel's first column) or NULL.
 * b's rows are ldb apart: a packed panel (ldb = NR, zero past cols), or
 * `unpacked` a matrix as stored, read only in its cols columns. */
static inline __attribute__((always_inline)) DS_AVX512 void
tile(int mr, int unpacked, int64_t kc, const float *x, int64_t ldx, const float *b, int64_t ldb, float *y,
     int64_t ldy, __mmask16 m0, __mmask16 m1, const float *from, int64_t ldf, const float *bias, ds_act act,
     const float *pf) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        c0[r] = c1[r] = _mm512_setzero_ps();
        if (from) {
            _mm_prefetch((const char *)(from + r * ldf), _MM_HINT_T0);
            _mm_prefetch((const char *)(from + r * ldf + 16), _MM_HINT_T0);
        }
    }
    for (int64_t q0 = 0; q0 < kc; q0 += SUB) {
        const int64_t qe = kc - q0 < SUB ? kc : q0 + SUB;
        __m512 p0[MR], p1[MR];
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++)
            p0[r] = p1[r] = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int64_t q = q0; q < qe; q++) {
            const float *bq = b + q * ldb;
            if (pf) { /* the next panel rows, two lines a step */
                _mm_prefetch((const char *)(pf + q * NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + q * NR + 16), _MM_HINT_T0);
            }
            const __m512 b0 = unpacked ? _mm512_maskz_loadu_ps(m0, bq) : _mm512_loadu_ps(bq);
            const __m512 b1 = unpacked ? _mm512_maskz_loadu_ps(m1, bq + 16) : _mm512_loadu_ps(bq + 16);
#pragma GCC unroll 8
            for (int r = 0; r < mr; r++) {
                const __m512 a = _mm512_set1_ps(x[r * ldx + q]);
                p0[r] = _mm512_fmadd_ps(a, b0, p0[r]);
                p1[r] = _mm512_fmadd_ps(a, b1, p1[r]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm512_add_ps(c0[r], p0[r]);
            c1[r] = _mm512_add_ps(c1[r], p1[r]);
        }
    }
    ds_sgemm_tile_store(mr, c0, c1, y, ldy, m0, m1, from, ldf, bias, act);
}

/* Every row tile of x against one panel of up to 32 columns. */
static inline __attribute__((always_inline)) DS_AVX512 void
rows(int unpacked, int64_t m, int64_t kc, const float *x, int64_t ldx, const float *b, int64_t ldb, float *y,
     int64_t ldy, int64_t cols, const float *from, int64_t ldf, const float *bias, ds_act act, const float *pf) {
    const __mmask16 m0 = ds_lanes16(cols);
    const __mmask16 m1 = ds_lanes16(cols - 16);
    int64_t i = 0;
#define TILE(mr)                                                                                       \
    tile(mr, unpacked, kc, x + i * ldx, ldx, b, ldb, y + i * ldy, ldy, m0, m1, from ? from + i * ldf : NULL, \
         ldf, bias, act, i == 0 ? pf : NULL)
    for (; i + MR <= m; i += MR)
        TILE(MR);
    switch (m - i) {
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

/* Every row tile against one panel; the first tile also prefetches pf's
 * kc x NR floats (the panel that comes next, or NULL). */
static DS_AVX512 void rows_times_panel(int64_t m, int64_t kc, const float *x, int64_t ldx, const float *b,
                                       float *y, int64_t ldy, int64_t cols, const float *from, int64_t ldf,
                                       const float *bias, ds_act act, const float *pf) {
    rows(0, m, kc, x, ldx, b, NR, y, ldy, cols, from, ldf, bias, act, pf);
}

static DS_AVX512 void rows_times_columns(int64_t m, int64_t k, const float *a, int64_t lda,
                                         const float *b, int64_t ldb, float *c, int64_t ldc, int64_t cols) {
    rows(1, m, k, a, lda, b, ldb, c, ldc, cols, NULL, 0, NULL, DS_ACT_NONE, NULL);
}

DS_AVX512 void ds_sgemm_small_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                     const float *b, int64_t ldb, float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += NR)
        rows_times_columns(m, k, a, lda, b + j, ldb, c + j, ldc, n - j < NR ? n - j : NR);
}

/* The blocked product over panels: those of block (j0, k0) packed into buf
 * on the way, or, with `panels`, taken from w packed whole (panel height kp).
 * The first block adds r and the bias, the others y. */
static DS_AVX512 void blocked(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx, const float *w,
                              int64_t ldw, ds_w_layout layout, const float *panels, int64_t kp, float *y,
                              int64_t ldy, const float *r, int64_t ldr, const float *bias, ds_act act,
                              float *buf) {
    if (k <= 0) { /* an empty sum: y = act(r + bias) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                const float v = (r ? r[i * ldr + j] : 0.0f) + (bias ? bias[j] : 0.0f);
                y[i * ldy + j] = ds_apply_act(act, v);
            }
        return;
    }
    if (panels && m <= STREAM_ROWS) { /* each panel whole, in the order it lies in memory */
        for (int64_t p = 0; p < n; p += NR)
            for (int64_t k0 = 0; k0 < k; k0 += KC) {
                const int64_t kc = k - k0 < KC ? k - k0 : KC;
                const float *from = k0 > 0 ? y + p : r ? r + p : NULL;
                const float *b = panels + p * kp + k0 * NR;
                const float *next = k0 + KC < k ? b + kc * NR : p + NR < n ? panels + (p + NR) * kp : NULL;
                rows_times_panel(m, kc, x + k0, ldx, b, y + p, ldy, n - p < NR ? n - p : NR, from, k0 > 0 ? ldy : ldr,
                                 k0 == 0 && bias ? bias + p : NULL, k0 + kc == k ? act : DS_ACT_NONE, next);
            }
        return;
    }
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = n - j0 < NC ? n - j0 : NC;
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            const int64_t kc = k - k0 < KC ? k - k0 : KC;
            const float *b = panels ? panels + j0 * kp + k0 * NR : buf; /* this block's first panel */
            const int64_t rows = panels ? kp : KC;                      /* its panels' height */
            if (!panels)
                pack(w, ldw, layout, j0, nc, k0, kc, buf, KC);
            const float *from = k0 > 0 ? y + j0 : r ? r + j0 : NULL; /* rows added to the sums */
            for (int64_t p = 0; p < nc; p += NR) {
                /* the panel that comes next, from w packed at load (a packed
                 * block is in cache): the block's next, else the next block's first */
                const float *next = !panels                 ? NULL
                                    : p + NR < nc           ? b + (p + NR) * rows
                                    : k0 + KC < k           ? panels + j0 * kp + (k0 + KC) * NR
                                    : j0 + NC < n           ? panels + (j0 + NC) * kp
                                                            : NULL;
                rows_times_panel(m, kc, x + k0, ldx, b + p * rows, y + j0 + p, ldy, nc - p < NR ? nc - p : NR,
                                 from ? from + p : NULL, k0 > 0 ? ldy : ldr,
                                 k0 == 0 && bias ? bias + j0 + p : NULL, k0 + kc == k ? act : DS_ACT_NONE, next);
            }
        }
    }
}

DS_AVX512 void ds_sgemm_avx512(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx,
                               const float *w, int64_t ldw, ds_w_layout layout, float *y, int64_t ldy,
                               const float *r, int64_t ldr, const float *bias, ds_act act, float *buf) {
    blocked(m, n, k, x, ldx, w, ldw, layout, NULL, 0, y, ldy, r, ldr, bias, act, buf);
}

size_t ds_sgemm_panels_floats(int64_t n, int64_t k) { return (size_t)((n + NR - 1) / NR * NR) * (size_t)k; }

DS_AVX512 void ds_sgemm_pack_panels_avx512(const float *w, int64_t n, int64_t k, float *panels) {
    pack(w, k, DS_W_NK, 0, n, 0, k, panels, k);
}

DS_AVX512 void ds_sgemm_panels_avx512(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx,
                                      const float *panels, int64_t kp, float *y, int64_t ldy, const float *r,
                                      int64_t ldr, const float *bias, ds_act act) {
    blocked(m, n, k, x, ldx, NULL, 0, DS_W_NK, panels, kp, y, ldy, r, ldr, bias, act, NULL);
}
