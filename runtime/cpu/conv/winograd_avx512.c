/*
 * cpu/conv/winograd_avx512.c: the Winograd GEMM of winograd_avx2.c with
 * AVX-512: a 6x32 register tile over two adjacent 16-column weight panels
 * (12 accumulators, enough to keep both FMA pipes busy; a 6x16 tile of one
 * zmm per row would leave them waiting on FMA latency). Each output sums its
 * channels in the same order as the AVX2 kernel (blocks of DS_WINO_KBLOCK,
 * each block's sum added to the total), so the two give the same bits. The
 * input and output transforms stay the AVX2 ones.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx512.h"

/* c (mr, 16 * np) (+)= a (mr, n) [b0 b1] (n, 16 each) for the n channels from
 * k0, np (1 or 2) panels; b1 = b0 + panel_floats. `add` adds to c. */
static inline __attribute__((always_inline)) DS_AVX512 void
block(int mr, int np, int64_t k0, int64_t n, const float *a, int64_t lda, const float *b0,
      int64_t panel_floats, float *c, int64_t ldc, int add) {
    __m512 c0[6], c1[6];
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    const float *b1 = b0 + panel_floats;
#pragma GCC unroll 16
    for (int64_t k = k0; k < k0 + n; k++) {
        __m512 x0 = _mm512_loadu_ps(b0 + 16 * k);
        __m512 x1 = np == 2 ? _mm512_loadu_ps(b1 + 16 * k) : x0;
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + k]);
            c0[r] = _mm512_fmadd_ps(av, x0, c0[r]);
            if (np == 2)
                c1[r] = _mm512_fmadd_ps(av, x1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *row = c + r * ldc;
        if (add) {
            c0[r] = _mm512_add_ps(_mm512_loadu_ps(row), c0[r]);
            if (np == 2)
                c1[r] = _mm512_add_ps(_mm512_loadu_ps(row + 16), c1[r]);
        }
        _mm512_storeu_ps(row, c0[r]);
        if (np == 2)
            _mm512_storeu_ps(row + 16, c1[r]);
    }
}

/* c (mr, 16 np) = a (mr, kc) b, in blocks of DS_WINO_KBLOCK channels (the
 * full blocks unrolled, as in the AVX2 kernel). */
static inline __attribute__((always_inline)) DS_AVX512 void
kernel(int mr, int np, int64_t kc, const float *a, int64_t lda, const float *b,
       int64_t panel_floats, float *c, int64_t ldc) {
    int64_t k0 = 0;
    for (; k0 + DS_WINO_KBLOCK <= kc; k0 += DS_WINO_KBLOCK)
        block(mr, np, k0, DS_WINO_KBLOCK, a, lda, b, panel_floats, c, ldc, k0 > 0);
    if (k0 < kc)
        block(mr, np, k0, kc - k0, a, lda, b, panel_floats, c, ldc, k0 > 0);
}

/* Rows of 6 tiles by np panels. */
static inline __attribute__((always_inline)) DS_AVX512 void
rows_times_panels(int np, int64_t nt, int64_t C, const float *v, const float *u, float *m,
                  int64_t ldm) {
    const int64_t pf = C * DS_WINO_PANEL;
    int64_t t = 0;
    for (; t + 6 <= nt; t += 6)
        kernel(6, np, C, v + t * C, C, u, pf, m + t * ldm, ldm);
    switch (nt - t) {
    case 5: kernel(5, np, C, v + t * C, C, u, pf, m + t * ldm, ldm); break;
    case 4: kernel(4, np, C, v + t * C, C, u, pf, m + t * ldm, ldm); break;
    case 3: kernel(3, np, C, v + t * C, C, u, pf, m + t * ldm, ldm); break;
    case 2: kernel(2, np, C, v + t * C, C, u, pf, m + t * ldm, ldm); break;
    case 1: kernel(1, np, C, v + t * C, C, u, pf, m + t * ldm, ldm); break;
    default: break;
    }
}

static DS_AVX512 void two_panels(int64_t nt, int64_t C, const float *v, const float *u, float *m,
                                 int64_t ldm) {
    rows_times_panels(2, nt, C, v, u, m, ldm);
}

static DS_AVX512 void one_panel(int64_t nt, int64_t C, const float *v, const float *u, float *m,
                                int64_t ldm) {
    rows_times_panels(1, nt, C, v, u, m, ldm);
}

DS_AVX512 void ds_wino_gemm_avx512(const ds_wino_block *b) {
    const int64_t C = b->op->x->shape[3], O = b->op->y->shape[3];
    const int64_t panels = (O + DS_WINO_PANEL - 1) / DS_WINO_PANEL;
    for (int k = 0; k < 36; k++)
        for (int64_t j = 0; j < b->ldm; j += 2 * DS_WINO_PANEL) {
            /* panels of one position lie C * 16 floats apart */
            const float *u =
                b->u + ((k * panels + (b->o0 + j) / DS_WINO_PANEL) * C) * DS_WINO_PANEL;
            const float *v = b->v + k * b->nt * C;
            float *m = b->m + k * b->nt * b->ldm + j;
            if (j + DS_WINO_PANEL < b->ldm)
                two_panels(b->nt, C, v, u, m, b->ldm);
            else
                one_panel(b->nt, C, v, u, m, b->ldm);
        }
}
