/*
 * cpu/conv/gemm_avx512.c: ds_gemm_packed_avx2 (cpu/fast/gemm_avx2.c) with
 * AVX-512: the same packed 16-column panels, two of them side by side in a
 * 6x32 zmm tile (12 accumulators), K in the same blocks of KC and the same
 * epilogue order (bias, residual, activation), so each output gets the AVX2
 * kernel's bits.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX512

enum { KC = 256 }; /* K per block: gemm_avx2.c's */

enum { FIRST = 1, LAST = 2 };

typedef struct tile_args {
    const float *a; /* mr rows, lda apart */
    int64_t lda, kc;
    const float *b0, *b1; /* kc x 16 panel blocks (b1 unused for one panel) */
    const float *pf0, *pf1; /* what the first tile prefetches, a line a step from each (NULL: none) */
    float *c;             /* mr rows, ldc apart */
    int64_t ldc;
    const float *r; /* residual at the same rows and columns, or NULL */
    int64_t ldr;
    const float *bias;  /* at the tile's first column, or NULL */
    __mmask16 m0, m1;   /* the columns that exist, of each panel */
    int mode;
    ds_act res_act, act;
} tile_args;

ALWAYS_INLINE __m512 finish(const tile_args *t, __mmask16 m, const float *c, const float *r,
                            const float *bias, __m512 v) {
    if (!(t->mode & FIRST)) {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    } else {
        if (bias)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
        if (r)
            v = _mm512_add_ps(v, ds_act16(t->res_act, _mm512_maskz_loadu_ps(m, r)));
    }
    return t->mode & LAST ? ds_act16(t->act, v) : v;
}

/* mr (<= 6) rows by 16 np columns. */
ALWAYS_INLINE void tile(int mr, int np, const tile_args *t) {
    __m512 c0[6], c1[6];
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    const float *a = t->a, *b0 = t->b0, *b1 = t->b1;
#pragma GCC unroll 4
    for (int64_t k = 0; k < t->kc; k++) {
        if (t->pf0)
            _mm_prefetch((const char *)(t->pf0 + 16 * k), _MM_HINT_T0);
        if (t->pf1)
            _mm_prefetch((const char *)(t->pf1 + 16 * k), _MM_HINT_T0);
        const __m512 x0 = _mm512_loadu_ps(b0 + 16 * k);
        const __m512 x1 = np == 2 ? _mm512_loadu_ps(b1 + 16 * k) : x0;
        for (int r = 0; r < mr; r++) {
            const __m512 av = _mm512_set1_ps(a[r * t->lda + k]);
            c0[r] = _mm512_fmadd_ps(av, x0, c0[r]);
            if (np == 2)
                c1[r] = _mm512_fmadd_ps(av, x1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *c = t->c + r * t->ldc;
        const float *res = t->r ? t->r + r * t->ldr : NULL;
        /* R is read before C is written at the same place (C may lie on R) */
        const __m512 v0 = finish(t, t->m0, c, res, t->bias, c0[r]);
        if (np == 2) {
            const __m512 v1 = finish(t, t->m1, c + 16, res ? res + 16 : NULL,
                                     t->bias ? t->bias + 16 : NULL, c1[r]);
            _mm512_mask_storeu_ps(c + 16, t->m1, v1);
        }
        _mm512_mask_storeu_ps(c, t->m0, v0);
    }
}

/* Every row tile against one block of panels; the first also prefetches. */
ALWAYS_INLINE void rows(int np, tile_args *t, int64_t m) {
    const float *a = t->a, *r = t->r, *pf0 = t->pf0, *pf1 = t->pf1;
    float *c = t->c;
    int64_t i = 0;
    for (; i + 6 <= m; i += 6) {
        t->a = a + i * t->lda;
        t->c = c + i * t->ldc;
        t->r = r ? r + i * t->ldr : NULL;
        t->pf0 = i == 0 ? pf0 : NULL;
        t->pf1 = i == 0 ? pf1 : NULL;
        tile(6, np, t);
    }
    t->pf0 = i == 0 ? pf0 : NULL;
    t->pf1 = i == 0 ? pf1 : NULL;
    t->a = a + i * t->lda;
    t->c = c + i * t->ldc;
    t->r = r ? r + i * t->ldr : NULL;
    switch (m - i) {
    case 5: tile(5, np, t); break;
    case 4: tile(4, np, t); break;
    case 3: tile(3, np, t); break;
    case 2: tile(2, np, t); break;
    case 1: tile(1, np, t); break;
    default: break;
    }
    t->a = a;
    t->c = c;
    t->r = r;
    t->pf0 = pf0;
    t->pf1 = pf1;
}

static DS_AVX512 void rows_two(tile_args *t, int64_t m) { rows(2, t, m); }
static DS_AVX512 void rows_one(tile_args *t, int64_t m) { rows(1, t, m); }

/* The first KC-block of panel column j's next KC inputs when streaming:
 * the same panel's next block, else the next pair's first (NULL: none). */
static const float *streamed_next(const ds_gemm_args *g, int64_t k0, int64_t kc, int64_t j) {
    if (j >= g->n1)
        return NULL;
    return g->b + (j / 16 * g->k + (k0 + kc < g->k ? k0 + kc : 0)) * 16;
}

/* The block of kc inputs from k0 of the panels from column j (one or two). */
static DS_AVX512 void block(const ds_gemm_args *g, int64_t k0, int64_t kc, int64_t j, int stream) {
    const int64_t cols = g->n1 - j < 32 ? g->n1 - j : 32;
    tile_args t;
    t.a = g->a + k0;
    t.lda = g->lda;
    t.kc = kc;
    t.b0 = g->b + (j / 16 * g->k + k0) * 16;
    t.b1 = t.b0 + g->k * 16; /* the next panel */
    /* streaming, the blocks the next call reads: this pair's next, or the next pair's first */
    const int64_t nj = k0 + kc < g->k ? j : j + 32;
    t.pf0 = stream ? streamed_next(g, k0, kc, nj) : NULL;
    t.pf1 = stream ? streamed_next(g, k0, kc, nj + 16) : NULL;
    t.c = g->c + j;
    t.ldc = g->ldc;
    t.r = g->r ? g->r + j : NULL;
    t.ldr = g->ldr;
    t.bias = g->bias ? g->bias + j : NULL;
    t.mode = (k0 == 0 ? FIRST : 0) | (k0 + kc == g->k ? LAST : 0);
    t.res_act = g->res_act;
    t.act = g->act;
    t.m0 = ds_lanes16(cols);
    t.m1 = ds_lanes16(cols - 16);
    if (cols > 16)
        rows_two(&t, g->m);
    else
        rows_one(&t, g->m);
}

/* Up to this many rows, each pair of panels is read whole, in memory order,
 * its next blocks prefetched: the weights come from memory, and a few row
 * tiles do too little work on each block to hide that (LeViT's decoder at
 * 7x7 and 4x4). More rows: blocks of KC inputs over all panels. */
enum { STREAM_ROWS = 64 };

DS_AVX512 void ds_gemm_packed_avx512(const ds_gemm_args *g) {
    if (g->m <= STREAM_ROWS) {
        for (int64_t j = g->n0; j < g->n1; j += 32)
            for (int64_t k0 = 0; k0 < g->k; k0 += KC)
                block(g, k0, g->k - k0 < KC ? g->k - k0 : KC, j, 1);
        return;
    }
    for (int64_t k0 = 0; k0 < g->k; k0 += KC)
        for (int64_t j = g->n0; j < g->n1; j += 32)
            block(g, k0, g->k - k0 < KC ? g->k - k0 : KC, j, 0);
}
