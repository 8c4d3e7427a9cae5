/*
 * cpu/conv/winograd_avx2.c: the Winograd stages of cpu/conv/winograd_c.c with
 * AVX2+FMA, 8 channels per vector; leftover channels go to the C versions.
 * The GEMM is a 6x16 register-tile kernel over the packed weight panels.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx2.h"

#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define FMA _mm256_fmadd_ps
#define FNMA _mm256_fnmadd_ps
#define SET1 _mm256_set1_ps

/* t = B^T d over 6 vectors (see cpu/conv/conv.h for the matrices) */
static inline DS_AVX2 void bt6(const __m256 d[6], __m256 t[6]) {
    const __m256 half = SET1(0.5f), one5 = SET1(1.5f), two = SET1(2.0f);
    __m256 e = SUB(d[4], d[2]), f = SUB(d[3], d[1]);
    __m256 a = FNMA(one5, d[3], e), b = _mm256_fmsub_ps(one5, d[2], f);
    t[0] = FNMA(one5, f, ADD(SUB(d[0], d[2]), e));
    t[1] = SUB(a, b);
    t[2] = ADD(a, b);
    t[3] = FMA(half, f, e);
    t[4] = FNMA(two, f, e);
    t[5] = FNMA(one5, e, SUB(SUB(d[5], d[3]), f));
}

/* o = A^T m over 6 vectors */
static inline DS_AVX2 void at6(const __m256 m[6], __m256 o[4]) {
    __m256 s12 = ADD(m[1], m[2]), d12 = SUB(m[1], m[2]);
    o[0] = ADD(ADD(ADD(m[0], s12), m[3]), m[4]);
    o[1] = FNMA(SET1(0.5f), m[4], FMA(SET1(2.0f), m[3], d12));
    o[2] = FMA(SET1(0.25f), m[4], FMA(SET1(4.0f), m[3], s12));
    o[3] = ADD(FNMA(SET1(0.125f), m[4], FMA(SET1(8.0f), m[3], d12)), m[5]);
}

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX2

/* One tile's channels 0 .. C8-1. A patch wholly inside the input reads from
 * `base` (rows rs apart, pixels cs apart); one that reaches into the padding
 * reads src[], NULL meaning zero. in_act and `inside` are compile-time
 * constants of the inlined copies. */
ALWAYS_INLINE void input_tile(ds_act in_act, int inside, const float *base, int64_t rs, int64_t cs,
                              const float *const src[36], int64_t c0, int64_t C8, float *v, int64_t vk,
                              const float *next) {
    for (int64_t c = c0; c < C8; c += 8) {
        __m256 r[6][6];
        for (int i = 0; next && i < 6; i++) /* the columns the next tile adds */
            for (int j = 2; j < 6; j++)
                _mm_prefetch((const char *)(next + i * rs + j * cs + c), _MM_HINT_T0);
        for (int i = 0; i < 6; i++) {
            __m256 d[6];
            for (int j = 0; j < 6; j++) {
                const float *p = inside ? base + i * rs + j * cs : src[i * 6 + j];
                d[j] = inside || p ? ds_act8(in_act, _mm256_loadu_ps(p + c)) : _mm256_setzero_ps();
            }
            bt6(d, r[i]);
        }
        for (int j = 0; j < 6; j++) {
            __m256 col[6], out[6];
            for (int i = 0; i < 6; i++)
                col[i] = r[i][j];
            bt6(col, out);
            for (int i = 0; i < 6; i++)
                _mm256_storeu_ps(v + (i * 6 + j) * vk + c, out[i]);
        }
    }
}

ALWAYS_INLINE void input_block(ds_act in_act, const ds_wino_block *b, int64_t c0) {
    const int64_t W = b->op->x->shape[2], C = b->op->x->shape[3];
    const int64_t vk = b->nt * C; /* stride between positions in v */
    for (int64_t t = 0; t < b->nt; t++) {
        const float *base, *src[36], *next, *spare[36];
        /* the next tile's patch, when whole, is prefetched on the way (from
         * DRAM, the loads of a large input stalled the transform) */
        const int next_inside = t + 1 < b->nt && ds_wino_patch(b, t + 1, &next, spare);
        if (ds_wino_patch(b, t, &base, src))
            input_tile(in_act, 1, base, W * C, C, NULL, c0, C / 8 * 8, b->v + t * C, vk,
                       next_inside ? next : NULL);
        else
            input_tile(in_act, 0, NULL, 0, 0, src, c0, C / 8 * 8, b->v + t * C, vk, NULL);
    }
}

DS_AVX2 void ds_wino_input_avx2_from(const ds_wino_block *b, int64_t c0) {
    const int64_t C = b->op->x->shape[3], C8 = C / 8 * 8;
    if (c0 < C8)
        switch (b->op->node->a.conv.in_act) {
        case DS_ACT_NONE: input_block(DS_ACT_NONE, b, c0); break;
        case DS_ACT_RELU: input_block(DS_ACT_RELU, b, c0); break;
        default: input_block(b->op->node->a.conv.in_act, b, c0); break;
        }
    if (C8 < C)
        ds_wino_input_c(b, C8 > c0 ? C8 : c0, C);
}

DS_AVX2 void ds_wino_input_avx2(const ds_wino_block *b) { ds_wino_input_avx2_from(b, 0); }

/* c (mr, 16) (+)= a (mr, n) b (n, 16) for the n channels from k0; `add`
 * adds to c instead of storing. */
static inline __attribute__((always_inline)) DS_AVX2 void
block(int mr, int64_t k0, int64_t n, const float *a, int64_t lda, const float *b, float *c,
      int64_t ldc, int add) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int64_t k = k0; k < k0 + n; k++) {
        __m256 b0 = _mm256_loadu_ps(b + 16 * k), b1 = _mm256_loadu_ps(b + 16 * k + 8);
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * lda + k);
            c0[r] = FMA(av, b0, c0[r]);
            c1[r] = FMA(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        if (add) {
            c0[r] = ADD(_mm256_loadu_ps(c + r * ldc), c0[r]);
            c1[r] = ADD(_mm256_loadu_ps(c + r * ldc + 8), c1[r]);
        }
        _mm256_storeu_ps(c + r * ldc, c0[r]);
        _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
    }
}

/* c (mr, 16) = a (mr, kc) b (kc, 16), a rows lda apart, mr <= 6. The sum runs
 * in blocks of DS_WINO_KBLOCK channels; each block's sums are added to c. The
 * full blocks have a constant length and are unrolled: a loop exit every
 * block (a mispredicted branch) cost 17% of the GEMM. */
static inline __attribute__((always_inline)) DS_AVX2 void
kernel(int mr, int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc) {
    int64_t k0 = 0;
    for (; k0 + DS_WINO_KBLOCK <= kc; k0 += DS_WINO_KBLOCK)
        block(mr, k0, DS_WINO_KBLOCK, a, lda, b, c, ldc, k0 > 0);
    if (k0 < kc)
        block(mr, k0, kc - k0, a, lda, b, c, ldc, k0 > 0);
}

/* Rows of 6 tiles by one panel of 16 output channels. */
static DS_AVX2 void rows_times_panel(int64_t nt, int64_t C, const float *v, const float *u,
                                     float *m, int64_t ldm) {
    int64_t t = 0;
    for (; t + 6 <= nt; t += 6)
        kernel(6, C, v + t * C, C, u, m + t * ldm, ldm);
    switch (nt - t) {
    case 5: kernel(5, C, v + t * C, C, u, m + t * ldm, ldm); break;
    case 4: kernel(4, C, v + t * C, C, u, m + t * ldm, ldm); break;
    case 3: kernel(3, C, v + t * C, C, u, m + t * ldm, ldm); break;
    case 2: kernel(2, C, v + t * C, C, u, m + t * ldm, ldm); break;
    case 1: kernel(1, C, v + t * C, C, u, m + t * ldm, ldm); break;
    default: break;
    }
}

DS_AVX2 void ds_wino_gemm_avx2(const ds_wino_block *b) {
    const int64_t C = b->op->x->shape[3], O = b->op->y->shape[3];
    const int64_t panels = (O + DS_WINO_PANEL - 1) / DS_WINO_PANEL;
    for (int k = 0; k < 36; k++)
        for (int64_t j = 0; j < b->ldm; j += DS_WINO_PANEL) {
            const float *u =
                b->u + ((k * panels + (b->o0 + j) / DS_WINO_PANEL) * C) * DS_WINO_PANEL;
            rows_times_panel(b->nt, C, b->v + k * b->nt * C, u, b->m + k * b->nt * b->ldm + j,
                             b->ldm);
        }
}

/* One tile's channels 0 .. J8-1 of the block: rows x cols outputs (both 4,
 * constants of the inlined copy, for a tile wholly inside the output). */
ALWAYS_INLINE void output_tile(const ds_wino_block *b, const float *m, int64_t y0, int64_t rows,
                               int64_t cols, int64_t j0, int64_t J8) {
    const ds_cpu_op *op = b->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t mk = b->nt * b->ldm; /* stride between positions in m */
    for (int64_t j = j0; j < J8; j += 8) {
        __m256 r[6][4];
        for (int i = 0; i < 6; i++) {
            __m256 row[6];
            for (int q = 0; q < 6; q++)
                row[q] = _mm256_loadu_ps(m + (i * 6 + q) * mk + j);
            at6(row, r[i]);
        }
        const __m256 bias = op->b ? _mm256_loadu_ps(op->b + b->o0 + j) : _mm256_setzero_ps();
        for (int q = 0; q < cols; q++) {
            __m256 col[6], out[4];
            for (int i = 0; i < 6; i++)
                col[i] = r[i][q];
            at6(col, out);
            for (int i = 0; i < rows; i++) {
                int64_t at = y0 + (i * OW + q) * O + j;
                __m256 v = ADD(out[i], bias);
                if (op->r)
                    v = ADD(v, ds_act8(a->res_act, _mm256_loadu_ps(op->r->data + at)));
                _mm256_storeu_ps(op->y->data + at, ds_act8(a->act, v));
            }
        }
    }
}

DS_AVX2 void ds_wino_output_avx2_from(const ds_wino_block *b, int64_t j0) {
    const int64_t J8 = b->no / 8 * 8;
    for (int64_t t = 0; j0 < J8 && t < b->nt; t++) {
        int64_t rows, cols;
        const int64_t y0 = ds_wino_out_at(b, t, &rows, &cols);
        const float *m = b->m + t * b->ldm;
        if (rows == 4 && cols == 4)
            output_tile(b, m, y0, 4, 4, j0, J8);
        else
            output_tile(b, m, y0, rows, cols, j0, J8);
    }
    if (J8 < b->no)
        ds_wino_output_c(b, J8 > j0 ? J8 : j0, b->no);
}

DS_AVX2 void ds_wino_output_avx2(const ds_wino_block *b) { ds_wino_output_avx2_from(b, 0); }
