/*
 * cpu/conv/winograd_avx512.c: the Winograd stages of winograd_avx2.c with
 * AVX-512. The GEMM is a 6x32 register tile over two adjacent 16-column
 * weight panels (12 accumulators, enough to keep both FMA pipes busy; a 6x16
 * tile of one zmm per row would leave them waiting on FMA latency). The
 * transforms take 16 channels a vector, leaving the last C % 16 to the AVX2
 * stages. Each value goes through the AVX2 kernels' operations in their
 * order (the GEMM's channel blocks of DS_WINO_KBLOCK, each block's sum added
 * to the total), so the two give the same bits.
 */
#include "cpu/conv/conv.h"
#include "cpu/simd_avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX512
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define FMA _mm512_fmadd_ps
#define FNMA _mm512_fnmadd_ps
#define SET1 _mm512_set1_ps

/* t = B^T d over 6 vectors: winograd_avx2.c's bt6 */
ALWAYS_INLINE void bt6(const __m512 d[6], __m512 t[6]) {
    const __m512 half = SET1(0.5f), one5 = SET1(1.5f), two = SET1(2.0f);
    __m512 e = SUB(d[4], d[2]), f = SUB(d[3], d[1]);
    __m512 a = FNMA(one5, d[3], e), b = _mm512_fmsub_ps(one5, d[2], f);
    t[0] = FNMA(one5, f, ADD(SUB(d[0], d[2]), e));
    t[1] = SUB(a, b);
    t[2] = ADD(a, b);
    t[3] = FMA(half, f, e);
    t[4] = FNMA(two, f, e);
    t[5] = FNMA(one5, e, SUB(SUB(d[5], d[3]), f));
}

/* o = A^T m over 6 vectors: winograd_avx2.c's at6 */
ALWAYS_INLINE void at6(const __m512 m[6], __m512 o[4]) {
    __m512 s12 = ADD(m[1], m[2]), d12 = SUB(m[1], m[2]);
    o[0] = ADD(ADD(ADD(m[0], s12), m[3]), m[4]);
    o[1] = FNMA(SET1(0.5f), m[4], FMA(SET1(2.0f), m[3], d12));
    o[2] = FMA(SET1(0.25f), m[4], FMA(SET1(4.0f), m[3], s12));
    o[3] = ADD(FNMA(SET1(0.125f), m[4], FMA(SET1(8.0f), m[3], d12)), m[5]);
}

/* One tile's channels 0 .. C16-1 (see winograd_avx2.c's input_tile). */
ALWAYS_INLINE void input_tile(ds_act in_act, int inside, const float *base, int64_t rs, int64_t cs,
                              const float *const src[36], int64_t C16, float *v, int64_t vk, const float *next) {
    for (int64_t c = 0; c < C16; c += 16) {
        __m512 r[6][6];
        for (int i = 0; next && i < 6; i++) /* the columns the next tile adds */
            for (int j = 2; j < 6; j++)
                _mm_prefetch((const char *)(next + i * rs + j * cs + c), _MM_HINT_T0);
        for (int i = 0; i < 6; i++) {
            __m512 d[6];
            for (int j = 0; j < 6; j++) {
                const float *p = inside ? base + i * rs + j * cs : src[i * 6 + j];
                d[j] = inside || p ? ds_act16(in_act, _mm512_loadu_ps(p + c)) : _mm512_setzero_ps();
            }
            bt6(d, r[i]);
        }
        for (int j = 0; j < 6; j++) {
            __m512 col[6], out[6];
            for (int i = 0; i < 6; i++)
                col[i] = r[i][j];
            bt6(col, out);
            for (int i = 0; i < 6; i++)
                _mm512_storeu_ps(v + (i * 6 + j) * vk + c, out[i]);
        }
    }
}

ALWAYS_INLINE void input_block(ds_act in_act, const ds_wino_block *b, int64_t C16) {
    const int64_t W = b->op->x->shape[2], C = b->op->x->shape[3];
    const int64_t vk = b->nt * C; /* stride between positions in v */
    for (int64_t t = 0; t < b->nt; t++) {
        const float *base, *src[36], *next, *spare[36];
        /* the next tile's patch, when whole, is prefetched on the way */
        const int next_inside = t + 1 < b->nt && ds_wino_patch(b, t + 1, &next, spare);
        if (ds_wino_patch(b, t, &base, src))
            input_tile(in_act, 1, base, W * C, C, NULL, C16, b->v + t * C, vk, next_inside ? next : NULL);
        else
            input_tile(in_act, 0, NULL, 0, 0, src, C16, b->v + t * C, vk, NULL);
    }
}

DS_AVX512 void ds_wino_input_avx512(const ds_wino_block *b) {
    const int64_t C = b->op->x->shape[3], C16 = C / 16 * 16;
    if (C16 > 0)
        switch (b->op->node->a.conv.in_act) {
        case DS_ACT_NONE: input_block(DS_ACT_NONE, b, C16); break;
        case DS_ACT_RELU: input_block(DS_ACT_RELU, b, C16); break;
        default: input_block(b->op->node->a.conv.in_act, b, C16); break;
        }
    if (C16 < C)
        ds_wino_input_avx2_from(b, C16);
}

/* One tile's block channels 0 .. J16-1: rows x cols outputs (see
 * winograd_avx2.c's output_tile). */
ALWAYS_INLINE void output_tile(const ds_wino_block *b, const float *m, int64_t y0, int64_t rows,
                               int64_t cols, int64_t J16) {
    const ds_cpu_op *op = b->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t mk = b->nt * b->ldm; /* stride between positions in m */
    for (int64_t j = 0; j < J16; j += 16) {
        __m512 r[6][4];
        for (int i = 0; i < 6; i++) {
            __m512 row[6];
            for (int q = 0; q < 6; q++)
                row[q] = _mm512_loadu_ps(m + (i * 6 + q) * mk + j);
            at6(row, r[i]);
        }
        const __m512 bias = op->b ? _mm512_loadu_ps(op->b + b->o0 + j) : _mm512_setzero_ps();
        for (int q = 0; q < cols; q++) {
            __m512 col[6], out[4];
            for (int i = 0; i < 6; i++)
                col[i] = r[i][q];
            at6(col, out);
            for (int i = 0; i < rows; i++) {
                int64_t at = y0 + (i * OW + q) * O + j;
                __m512 v = ADD(out[i], bias);
                if (op->r)
                    v = ADD(v, ds_act16(a->res_act, _mm512_loadu_ps(op->r->data + at)));
                _mm512_storeu_ps(op->y->data + at, ds_act16(a->act, v));
            }
        }
    }
}

DS_AVX512 void ds_wino_output_avx512(const ds_wino_block *b) {
    const int64_t J16 = b->no / 16 * 16;
    for (int64_t t = 0; J16 > 0 && t < b->nt; t++) {
        int64_t rows, cols;
        const int64_t y0 = ds_wino_out_at(b, t, &rows, &cols);
        const float *m = b->m + t * b->ldm;
        if (rows == 4 && cols == 4)
            output_tile(b, m, y0, 4, 4, J16);
        else
            output_tile(b, m, y0, rows, cols, J16);
    }
    if (J16 < b->no)
        ds_wino_output_avx2_from(b, J16);
}

/* s0, s1 (mr rows of 16) = a (mr, n) [b0 b1] (n, 16 each) for the n channels
 * from k0, np (1 or 2) panels; b1 = b0 + panel_floats. */
ALWAYS_INLINE void
block(int mr, int np, int64_t k0, int64_t n, const float *a, int64_t lda, const float *b0,
      int64_t panel_floats, __m512 s0[6], __m512 s1[6], const float *pf) {
    for (int r = 0; r < mr; r++)
        s0[r] = s1[r] = _mm512_setzero_ps();
    const float *b1 = b0 + panel_floats;
#pragma GCC unroll 16
    for (int64_t k = k0; k < k0 + n; k++) {
        if (pf) { /* two lines a channel */
            _mm_prefetch((const char *)(pf + 32 * k), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + 32 * k + 16), _MM_HINT_T0);
        }
        __m512 x0 = _mm512_loadu_ps(b0 + 16 * k);
        __m512 x1 = np == 2 ? _mm512_loadu_ps(b1 + 16 * k) : x0;
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + k]);
            s0[r] = _mm512_fmadd_ps(av, x0, s0[r]);
            if (np == 2)
                s1[r] = _mm512_fmadd_ps(av, x1, s1[r]);
        }
    }
}

/* c (mr, 16 np) = a (mr, kc) b, in blocks of DS_WINO_KBLOCK channels (the
 * full blocks unrolled, as in the AVX2 kernel), each block's sums added to
 * the total, which stays in registers (24 of the 32) until the one store. */
ALWAYS_INLINE void
kernel(int mr, int np, int64_t kc, const float *a, int64_t lda, const float *b,
       int64_t panel_floats, float *c, int64_t ldc, const float *pf) {
    __m512 t0[6], t1[6], s0[6], s1[6];
    for (int r = 0; r < mr; r++) /* a block's sums are never -0: 0 + s is s */
        t0[r] = t1[r] = _mm512_setzero_ps();
    for (int64_t k0 = 0; k0 < kc; k0 += DS_WINO_KBLOCK) {
        if (k0 + DS_WINO_KBLOCK <= kc)
            block(mr, np, k0, DS_WINO_KBLOCK, a, lda, b, panel_floats, s0, s1, pf);
        else
            block(mr, np, k0, kc - k0, a, lda, b, panel_floats, s0, s1, pf);
        for (int r = 0; r < mr; r++) {
            t0[r] = _mm512_add_ps(t0[r], s0[r]);
            t1[r] = _mm512_add_ps(t1[r], s1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm512_storeu_ps(c + r * ldc, t0[r]);
        if (np == 2)
            _mm512_storeu_ps(c + r * ldc + 16, t1[r]);
    }
}

/* Rows of 6 tiles by np panels; the first row also prefetches the 2 C * 16
 * floats at next (the panels the next call reads, or NULL), which few tiles
 * leave no time to read on demand. */
ALWAYS_INLINE void
rows_times_panels(int np, int64_t nt, int64_t C, const float *v, const float *u, float *m, int64_t ldm,
                  const float *next) {
    const int64_t pf = C * DS_WINO_PANEL;
    int64_t t = 0;
    for (; t + 6 <= nt; t += 6)
        kernel(6, np, C, v + t * C, C, u, pf, m + t * ldm, ldm, t == 0 ? next : NULL);
    switch (nt - t) {
#define LAST_ROW(mr) \
    case mr: kernel(mr, np, C, v + t * C, C, u, pf, m + t * ldm, ldm, t == 0 ? next : NULL); break;
    LAST_ROW(5)
    LAST_ROW(4)
    LAST_ROW(3)
    LAST_ROW(2)
    LAST_ROW(1)
#undef LAST_ROW
    default: break;
    }
}

static DS_AVX512 void two_panels(int64_t nt, int64_t C, const float *v, const float *u, float *m,
                                 int64_t ldm, const float *next) {
    rows_times_panels(2, nt, C, v, u, m, ldm, next);
}

static DS_AVX512 void one_panel(int64_t nt, int64_t C, const float *v, const float *u, float *m,
                                int64_t ldm, const float *next) {
    rows_times_panels(1, nt, C, v, u, m, ldm, next);
}

/* Position k's panels from block column j (panels of one position lie C * 16
 * floats apart), or NULL past the last position. */
static const float *panels_at(const ds_wino_block *b, int64_t C, int64_t panels, int k, int64_t j) {
    if (j >= b->ldm) {
        j = 0;
        k++;
    }
    return k < 36 ? b->u + ((k * panels + (b->o0 + j) / DS_WINO_PANEL) * C) * DS_WINO_PANEL : NULL;
}

DS_AVX512 void ds_wino_gemm_avx512(const ds_wino_block *b) {
    const int64_t C = b->op->x->shape[3], O = b->op->y->shape[3];
    const int64_t panels = (O + DS_WINO_PANEL - 1) / DS_WINO_PANEL;
    for (int k = 0; k < 36; k++)
        for (int64_t j = 0; j < b->ldm; j += 2 * DS_WINO_PANEL) {
            const float *u = panels_at(b, C, panels, k, j);
            const float *next = panels_at(b, C, panels, k, j + 2 * DS_WINO_PANEL);
            if (next && next + 2 * C * DS_WINO_PANEL > b->u + 36 * panels * C * DS_WINO_PANEL)
                next = NULL; /* the prefetch reads a pair's floats: not past the end */
            const float *v = b->v + k * b->nt * C;
            float *m = b->m + k * b->nt * b->ldm + j;
            if (j + DS_WINO_PANEL < b->ldm)
                two_panels(b->nt, C, v, u, m, b->ldm, next);
            else
                one_panel(b->nt, C, v, u, m, b->ldm, next);
        }
}
