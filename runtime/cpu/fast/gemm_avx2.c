/*
 * cpu/fast/gemm_avx2.c: C = act(A B + bias + res_act(R)) with B packed once in
 * panels of 16 columns (ds_gemm_pack), for the convolutions whose GEMM is
 * small in one dimension (1x1 convs with K or N in the tens or hundreds):
 * there OpenBLAS's per-call packing, its separate beta pass and our separate
 * epilogue pass cost as much as the multiply.
 *
 * A 6x16 register tile accumulates over K in blocks of KC (A rows and the B
 * panel block stay in L1/L2), then adds, in registers, the previous blocks'
 * sums; the first block adds bias and residual, the last applies act, so
 * each element of C is written once per block and R is read before C is
 * written at the same place (C may lie on top of R).
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX2

enum { KC = 256 }; /* K per block */

enum { FIRST = 1, LAST = 2 };

typedef struct tile_args {
    const float *a; /* mr rows, lda apart */
    int64_t lda, kc;
    const float *b; /* kc x 16 panel block */
    float *c;       /* mr rows, ldc apart */
    int64_t ldc;
    const float *r; /* residual at the same rows and columns, or NULL */
    int64_t ldr;
    const float *bias;    /* at the panel's first column, or NULL */
    __m256i mask0, mask1; /* the panel's columns that exist */
    int mode;
    ds_act res_act, act;
} tile_args;

ALWAYS_INLINE __m256 load_cols(const float *p, __m256i mask, int full) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

ALWAYS_INLINE void finish(const tile_args *t, int full, const float *c_in, const float *r,
                          float *c_out, __m256 a, __m256 b) {
    if (!(t->mode & FIRST)) {
        a = _mm256_add_ps(a, load_cols(c_in, t->mask0, full));
        b = _mm256_add_ps(b, load_cols(c_in + 8, t->mask1, full));
    } else {
        if (t->bias) {
            a = _mm256_add_ps(a, load_cols(t->bias, t->mask0, full));
            b = _mm256_add_ps(b, load_cols(t->bias + 8, t->mask1, full));
        }
        if (r) {
            a = _mm256_add_ps(a, ds_act8(t->res_act, load_cols(r, t->mask0, full)));
            b = _mm256_add_ps(b, ds_act8(t->res_act, load_cols(r + 8, t->mask1, full)));
        }
    }
    if (t->mode & LAST) {
        a = ds_act8(t->act, a);
        b = ds_act8(t->act, b);
    }
    if (full) {
        _mm256_storeu_ps(c_out, a);
        _mm256_storeu_ps(c_out + 8, b);
    } else {
        _mm256_maskstore_ps(c_out, t->mask0, a);
        _mm256_maskstore_ps(c_out + 8, t->mask1, b);
    }
}

/* mr (<= 6) rows by 16 columns; `full`: all 16 columns exist. */
ALWAYS_INLINE void tile(int mr, int full, const tile_args *t) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm256_setzero_ps();
    const float *a = t->a, *b = t->b;
#pragma GCC unroll 4
    for (int64_t k = 0; k < t->kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b + 16 * k), b1 = _mm256_loadu_ps(b + 16 * k + 8);
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * t->lda + k);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    float sum[6][16]; /* through memory, so that c0 and c1 stay registers above */
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(sum[r], c0[r]);
        _mm256_storeu_ps(sum[r] + 8, c1[r]);
    }
    for (int r = 0; r < mr; r++)
        finish(t, full, t->c + r * t->ldc, t->r ? t->r + r * t->ldr : NULL, t->c + r * t->ldc,
               _mm256_loadu_ps(sum[r]), _mm256_loadu_ps(sum[r] + 8));
}

ALWAYS_INLINE void rows(int full, tile_args *t, int64_t m) {
    int64_t i = 0;
    const float *a = t->a, *r = t->r;
    float *c = t->c;
    for (; i + 6 <= m; i += 6) {
        t->a = a + i * t->lda;
        t->c = c + i * t->ldc;
        t->r = r ? r + i * t->ldr : NULL;
        tile(6, full, t);
    }
    t->a = a + i * t->lda;
    t->c = c + i * t->ldc;
    t->r = r ? r + i * t->ldr : NULL;
    switch (m - i) {
    case 5: tile(5, full, t); break;
    case 4: tile(4, full, t); break;
    case 3: tile(3, full, t); break;
    case 2: tile(2, full, t); break;
    case 1: tile(1, full, t); break;
    default: break;
    }
    t->a = a;
    t->c = c;
    t->r = r;
}

DS_AVX2 void ds_gemm_packed_avx2(const ds_gemm_args *g) {
    for (int64_t k0 = 0; k0 < g->k; k0 += KC) {
        const int64_t kc = g->k - k0 < KC ? g->k - k0 : KC;
        for (int64_t j = g->n0; j < g->n1; j += 16) {
            const int64_t cols = g->n - j < 16 ? g->n - j : 16;
            tile_args t;
            t.a = g->a + k0;
            t.lda = g->lda;
            t.kc = kc;
            t.b = g->b + (j / 16 * g->k + k0) * 16;
            t.c = g->c + j;
            t.ldc = g->ldc;
            t.r = g->r ? g->r + j : NULL;
            t.ldr = g->ldr;
            t.bias = g->bias ? g->bias + j : NULL;
            t.mode = (k0 == 0 ? FIRST : 0) | (k0 + kc == g->k ? LAST : 0);
            t.res_act = g->res_act;
            t.act = g->act;
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            t.mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols), lane);
            t.mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols - 8), lane);
            if (cols == 16)
                rows(1, &t, g->m);
            else
                rows(0, &t, g->m);
        }
    }
}
