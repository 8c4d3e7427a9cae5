/*
 * cpu/fast/attention_avx512.c: the attention task of attention_avx2.c with
 * AVX-512, on the same packed q, k, v (ds_attention_pack_avx2) and the same
 * transposed scores st[key][query]. The score tile is 6 keys x the block's
 * queries (up to 64) and the output tile 6 queries x up to 64 channels (four
 * v panels): up to 24 zmm accumulators each. Every sum runs in the AVX2
 * kernel's order and exp16 gives exp8's bits on 16 lanes, so the two give
 * the same bits.
 */
#include <math.h>
#include <string.h>

#include "cpu/fast/fast.h"
#include "cpu/simd_avx512.h"

enum { QMAX = DS_ATTENTION_BLOCK };

#define ALWAYS_INLINE static inline __attribute__((always_inline)) DS_AVX512

/* st rows [j, j + rows) x 16 np queries (np <= 4): k rows against q^T
 * columns, plus the bias already in st when `biased`, and the running column
 * max. Fewer than 6 rows: the last one is computed again for the missing
 * ones. All 64 queries of a block in one tile: each broadcast of k feeds 4
 * FMAs, not 2. */
ALWAYS_INLINE void score_tile(int np, int rows, const float *k, int64_t ldk, const float *qt,
                              int64_t hd, float *st, int64_t nq, float *mx, int biased) {
    const float *kr[6];
    for (int r = 0; r < 6; r++)
        kr[r] = k + (r < rows ? r : rows - 1) * ldk;
    __m512 a[6][4];
#pragma GCC unroll 24
    for (int r = 0; r < 6; r++)
        for (int p = 0; p < np; p++)
            a[r][p] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t d = 0; d < hd; d++) {
        __m512 q[4];
#pragma GCC unroll 4
        for (int p = 0; p < np; p++)
            q[p] = _mm512_loadu_ps(qt + d * QMAX + 16 * p);
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++) {
            const __m512 s = _mm512_set1_ps(kr[r][d]);
#pragma GCC unroll 4
            for (int p = 0; p < np; p++)
                a[r][p] = _mm512_fmadd_ps(s, q[p], a[r][p]);
        }
    }
#pragma GCC unroll 4
    for (int p = 0; p < np; p++) {
        __m512 m = _mm512_loadu_ps(mx + 16 * p);
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++) { /* constant indices: a stays in registers */
            if (r >= rows)
                break;
            __m512 v = a[r][p];
            if (biased)
                v = _mm512_add_ps(v, _mm512_loadu_ps(st + r * nq + 16 * p));
            _mm512_storeu_ps(st + r * nq + 16 * p, v);
            m = _mm512_max_ps(m, v);
        }
        _mm512_storeu_ps(mx + 16 * p, m);
    }
}

static DS_AVX512 void score_rows(int rows, const float *k, int64_t hd, const float *qt, float *st,
                                 int64_t nq, float *mx, int biased) {
    switch (nq / 16) { /* nq: 16 to QMAX = 64 */
    case 4: score_tile(4, rows, k, hd, qt, hd, st, nq, mx, biased); break;
    case 3: score_tile(3, rows, k, hd, qt, hd, st, nq, mx, biased); break;
    case 2: score_tile(2, rows, k, hd, qt, hd, st, nq, mx, biased); break;
    default: score_tile(1, rows, k, hd, qt, hd, st, nq, mx, biased); break;
    }
}

/* y rows [q, q + rows) x 16 np channels (np <= 4; the first `cols` stored) =
 * st columns against np v panels (T * 16 floats apart), divided by the row
 * sums. Past `rows` the broadcasts read on in st's workspace, as in the
 * AVX2 kernel; those products are dropped. A 64-channel head in one tile:
 * each st line and v line read from L2 feeds twice the FMAs of a 32-wide
 * one (the loads, not the FMAs, bounded that). */
ALWAYS_INLINE void out_tile(int np, int rows, const float *st, int64_t nq, const float *vp,
                            int64_t T, const float *sum, float *y, int64_t ldy, int64_t cols) {
    __m512 a[6][4];
#pragma GCC unroll 24
    for (int r = 0; r < 6; r++)
        for (int p = 0; p < np; p++)
            a[r][p] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t j = 0; j < T; j++) {
        const float *s = st + j * nq;
        _mm_prefetch((const char *)(s + 8 * nq), _MM_HINT_T0); /* st rows come from L2 */
        __m512 v[4];
#pragma GCC unroll 4
        for (int p = 0; p < np; p++)
            v[p] = _mm512_loadu_ps(vp + p * T * 16 + j * 16);
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++) {
            const __m512 b = _mm512_set1_ps(s[r]);
#pragma GCC unroll 4
            for (int p = 0; p < np; p++)
                a[r][p] = _mm512_fmadd_ps(b, v[p], a[r][p]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) { /* constant indices: a stays in registers */
        if (r >= rows)
            break;
        const __m512 inv = _mm512_set1_ps(1.0f / sum[r]);
#pragma GCC unroll 4
        for (int p = 0; p < np; p++)
            _mm512_mask_storeu_ps(y + r * ldy + 16 * p, ds_lanes16(cols - 16 * p), _mm512_mul_ps(a[r][p], inv));
    }
}

static DS_AVX512 void out_rows(int rows, const float *st, int64_t nq, const float *vp, int64_t T,
                               const float *sum, float *y, int64_t ldy, int64_t hd) {
    for (int64_t c = 0; c < hd; c += 64) {
        const int64_t cols = hd - c < 64 ? hd - c : 64;
        const float *vc = vp + c * T;
        switch ((cols + 15) / 16) {
        case 4: out_tile(4, rows, st, nq, vc, T, sum, y + c, ldy, cols); break;
        case 3: out_tile(3, rows, st, nq, vc, T, sum, y + c, ldy, cols); break;
        case 2: out_tile(2, rows, st, nq, vc, T, sum, y + c, ldy, cols); break;
        default: out_tile(1, rows, st, nq, vc, T, sum, y + c, ldy, cols); break;
        }
    }
}

/* st columns [c, c + 16): exp(s - max) in place and the column sums. */
static DS_AVX512 void softmax_columns(float *st, int64_t T, int64_t nq, const float *mx, float *sum) {
    const __m512 m = _mm512_loadu_ps(mx);
    __m512 s = _mm512_setzero_ps();
    for (int64_t j = 0; j < T; j++) {
        float *row = st + j * nq;
        const __m512 e = ds_exp16(_mm512_sub_ps(_mm512_loadu_ps(row), m));
        _mm512_storeu_ps(row, e);
        s = _mm512_add_ps(s, e);
    }
    _mm512_storeu_ps(sum, s);
}

/* ds_attention_pack_avx2 with q gathered transposed in registers (it was
 * a float at a time): the same floats. */
void ds_attention_pack_avx512(const float *qkv, int64_t T, int64_t C, int heads, float scale, int64_t b,
                              float *shared) {
    const int64_t hd = C / heads, blocks = (T + QMAX - 1) / QMAX;
    const int64_t j0 = b * QMAX, n = T - j0 < QMAX ? T - j0 : QMAX;
    for (int h = 0; h < heads; h++) {
        float *qb = shared + (h * blocks + b) * hd * QMAX; /* (hd, QMAX), zero past n */
        if (n < QMAX)
            memset(qb, 0, (size_t)(hd * QMAX) * sizeof *qb);
        ds_rows_gather_transposed_avx512(qkv + j0 * 3 * C + h * hd, NULL, 3 * C, n, hd, scale, qb, QMAX);
    }
    ds_attention_pack_kv_avx2(qkv, T, C, heads, b, shared);
}

DS_AVX512 void ds_attention_task_avx512(const float *shared, int64_t T, int64_t C, int heads, int h,
                                        int64_t b, const float *bias, const int32_t *index, int grid_w,
                                        float *y, float *ws) {
    const ds_attention_view v = ds_attention_task_begin(shared, T, C, heads, h, b, bias, index, grid_w, ws);
    for (int64_t j = 0; j < T; j += 6)
        score_rows(T - j < 6 ? (int)(T - j) : 6, v.k + j * v.hd, v.hd, v.qt, v.st + j * v.nq, v.nq, v.mx,
                   bias != NULL);
    for (int64_t c = 0; c < v.nq; c += 16)
        softmax_columns(v.st + c, T, v.nq, v.mx + c, v.sum + c);
    for (int64_t i = 0; i < v.bq; i += 6)
        out_rows(v.bq - i < 6 ? (int)(v.bq - i) : 6, v.st + i, v.nq, v.vp, T, v.sum + i, y + i * C, C, v.hd);
}
