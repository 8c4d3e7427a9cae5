/*
 * cpu/fast/attention_avx2.c: attention tasks (one head, up to 64 queries)
 * with AVX2+FMA register tiles of 6 x 16; the driver is cpu/fast/attention.c.
 *
 * Scores are kept transposed, st[key][query]: the 6 x 16 score tile
 * broadcasts 6 keys against 16 queries of a packed q^T, the softmax then runs
 * down the key axis with 16 queries per vector pair, and the output tile
 * broadcasts 6 queries' probabilities (adjacent in st's row) against 16
 * channels of v.
 *
 * An additive bias (graph.h's ds_attn_attr) is first written into st,
 * transposed 8 x 8 in registers from its rows (a dense row, or an index row
 * gathered from the head's table), and the score tiles add to it.
 *
 * q, k and v are first copied out of the (T, 3C) tokens for all heads, once
 * per item, 64 tokens at a time: q scaled and transposed per block of 64
 * queries (heads, blocks, hd, 64), k as (heads, T, hd), v as 16-channel
 * panels (heads, hd16/16, T, 16). Read in place, a head's rows (stride 3C
 * floats, a multiple of 4 KB for DPT) all fall in a few cache sets and
 * would come from L3 every time.
 */
#include <math.h>
#include <string.h>

#include "cpu/fast/fast.h"
#include "cpu/fast/fast_avx2.h" /* exp8, tail masks */

enum { QMAX = DS_ATTENTION_BLOCK };

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

size_t ds_attention_avx2_floats(int64_t T) { return (size_t)(T * QMAX + 2 * QMAX); }

static int64_t blocks_of(int64_t T) { return (T + QMAX - 1) / QMAX; }

size_t ds_attention_avx2_shared_floats(int64_t T, int64_t C, int heads) {
    int64_t hd = C / heads;
    return (size_t)(heads * (blocks_of(T) * QMAX * hd + T * hd + round16(hd) * T));
}

void ds_attention_pack_kv_avx2(const float *qkv, int64_t T, int64_t C, int heads, int64_t b, float *shared) {
    const int64_t hd = C / heads, hd16 = round16(hd), blocks = blocks_of(T);
    float *kp = shared + heads * blocks * hd * QMAX; /* (heads, T, hd), after q^T */
    float *vp = kp + heads * T * hd;                  /* (heads, hd16 / 16, T, 16) */
    const int64_t j0 = b * QMAX, j1 = T - j0 < QMAX ? T : j0 + QMAX;
    for (int64_t j = j0; j < j1; j++) {
        const float *k = qkv + j * 3 * C + C, *v = k + C;
        for (int h = 0; h < heads; h++) {
            memcpy(kp + (h * T + j) * hd, k + h * hd, (size_t)hd * sizeof(float));
            for (int64_t c = 0; c < hd16; c += 16) {
                float *dst = vp + h * hd16 * T + c * T + j * 16; /* panel c/16, row j */
                int64_t n = hd - c < 16 ? hd - c : 16;
                if (n == 16) {
                    _mm256_storeu_ps(dst, _mm256_loadu_ps(v + h * hd + c));
                    _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(v + h * hd + c + 8));
                } else {
                    memcpy(dst, v + h * hd + c, (size_t)n * sizeof(float));
                    memset(dst + n, 0, (size_t)(16 - n) * sizeof(float));
                }
            }
        }
    }
}

void ds_attention_pack_avx2(const float *qkv, int64_t T, int64_t C, int heads, float scale,
                            int64_t b, float *shared) {
    const int64_t hd = C / heads, blocks = blocks_of(T);
    float *qt = shared; /* (heads, blocks, hd, QMAX) */
    const int64_t j0 = b * QMAX, j1 = T - j0 < QMAX ? T : j0 + QMAX;
    for (int h = 0; h < heads; h++) {
        float *qb = qt + (h * blocks + b) * hd * QMAX; /* (hd, QMAX) */
        if (j1 - j0 < QMAX)
            memset(qb, 0, (size_t)(hd * QMAX) * sizeof(float));
        for (int64_t j = j0; j < j1; j++)
            for (int64_t d = 0; d < hd; d++)
                qb[d * QMAX + j - j0] = qkv[j * 3 * C + h * hd + d] * scale;
    }
    ds_attention_pack_kv_avx2(qkv, T, C, heads, b, shared);
}

/* Six-row tiles keep their twelve accumulators in named variables: GCC
 * stores an array of them back to the stack on every step. Their loops are
 * unrolled 4 times (-O3 does not; 2-3% of the attention measured). A tile
 * with fewer rows computes the last one again for the missing ones and
 * keeps only its `rows`. */
#define TILE_ZERO(a, b) __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps()
#define TILE_FMA(s, x0, x1, a, b)        \
    do {                                 \
        a = _mm256_fmadd_ps(s, x0, a);   \
        b = _mm256_fmadd_ps(s, x1, b);   \
    } while (0)

/* st rows [j, j + rows) x 16 queries: k rows (stride ldk) against q^T
 * columns (rows of QMAX), plus the bias already in st when `biased`, and
 * the running column max. */
static void score_tile(int rows, const float *k, int64_t ldk, const float *qt, int64_t hd,
                       float *st, int64_t nq, float *mx, int biased) {
    const float *kr[6];
    for (int r = 0; r < 6; r++)
        kr[r] = k + (r < rows ? r : rows - 1) * ldk;
    const float *k0 = kr[0], *k1 = kr[1], *k2 = kr[2], *k3 = kr[3], *k4 = kr[4], *k5 = kr[5];
    TILE_ZERO(a0, b0);
    TILE_ZERO(a1, b1);
    TILE_ZERO(a2, b2);
    TILE_ZERO(a3, b3);
    TILE_ZERO(a4, b4);
    TILE_ZERO(a5, b5);
#pragma GCC unroll 4
    for (int64_t d = 0; d < hd; d++) {
        __m256 q0 = _mm256_loadu_ps(qt + d * QMAX), q1 = _mm256_loadu_ps(qt + d * QMAX + 8);
        TILE_FMA(_mm256_broadcast_ss(k0 + d), q0, q1, a0, b0);
        TILE_FMA(_mm256_broadcast_ss(k1 + d), q0, q1, a1, b1);
        TILE_FMA(_mm256_broadcast_ss(k2 + d), q0, q1, a2, b2);
        TILE_FMA(_mm256_broadcast_ss(k3 + d), q0, q1, a3, b3);
        TILE_FMA(_mm256_broadcast_ss(k4 + d), q0, q1, a4, b4);
        TILE_FMA(_mm256_broadcast_ss(k5 + d), q0, q1, a5, b5);
    }
    const __m256 acc[6][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}, {a5, b5}};
    __m256 m0 = _mm256_loadu_ps(mx), m1 = _mm256_loadu_ps(mx + 8);
    for (int r = 0; r < rows; r++) {
        __m256 s0 = acc[r][0], s1 = acc[r][1];
        if (biased) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(st + r * nq));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(st + r * nq + 8));
        }
        _mm256_storeu_ps(st + r * nq, s0);
        _mm256_storeu_ps(st + r * nq + 8, s1);
        m0 = _mm256_max_ps(m0, s0);
        m1 = _mm256_max_ps(m1, s1);
    }
    _mm256_storeu_ps(mx, m0);
    _mm256_storeu_ps(mx + 8, m1);
}

/* c[m] = column m of the 8 x 8 block of rows r[0..7]. */
static void transpose8(const __m256 r[8], __m256 c[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        c[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        c[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* Keys [j0, j0 + n) of query q's bias row (n <= 8; the rest of the vector 0
 * when dense, the table's entry 0 when indexed: never stored). */
static __m256 bias_row(const float *bias, const int32_t *index, int64_t T, int64_t q, int64_t j0, int64_t n) {
    if (!index) {
        const float *p = bias + q * T + j0;
        return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask((size_t)n));
    }
    const int *p = (const int *)index + q * T + j0;
    const __m256i iv = n >= 8 ? _mm256_loadu_si256((const __m256i *)p)
                              : _mm256_maskload_epi32(p, tail_mask((size_t)n));
    return _mm256_i32gather_ps(bias, iv, 4);
}

/* st (T, nq) = the bias of queries [q0, q0 + bq) transposed, 0 in the
 * padding columns [bq, nq). */
static void bias_columns(float *st, int64_t T, int64_t nq, int64_t q0, int64_t bq, const float *bias,
                         const int32_t *index) {
    for (int64_t c = 0; c < nq; c += 8)
        for (int64_t j0 = 0; j0 < T; j0 += 8) {
            const int64_t n = T - j0 < 8 ? T - j0 : 8;
            __m256 r[8], col[8];
            for (int i = 0; i < 8; i++)
                r[i] = c + i < bq ? bias_row(bias, index, T, q0 + c + i, j0, n) : _mm256_setzero_ps();
            transpose8(r, col);
            for (int64_t m = 0; m < n; m++)
                _mm256_storeu_ps(st + (j0 + m) * nq + c, col[m]);
        }
}

/* bias_columns for an index that is ds_grid_rel_index's of a grid gw wide:
 * no index read, no gather. For patch query q and patch key j at (yj, xj),
 * index(q, j) = index(q, 1) - (yj (2 gw - 1) + xj), and the patch queries of
 * one grid row take consecutive entries: each run of them is a copy. */
static void bias_columns_grid(float *st, int64_t T, int64_t nq, int64_t q0, int64_t bq, const float *table,
                              int64_t gw) {
    const int64_t gh = (T - 1) / gw, R = ds_grid_rel_rows(gh, gw);
    enum { RUNS = DS_ATTENTION_BLOCK + 1 };
    int64_t at[RUNS], len[RUNS], first[RUNS], runs = 0; /* runs of patch queries: column, length, index(q, 1) */
    for (int64_t q = q0 > 0 ? q0 : 1; q < q0 + bq; runs++) {
        const int64_t left = gw - (q - 1) % gw;
        at[runs] = q - q0;
        len[runs] = left < q0 + bq - q ? left : q0 + bq - q;
        first[runs] = ds_grid_rel_index(gh, gw, q, 1);
        q += len[runs];
    }
    for (int64_t j = 0, yj = 0, xj = 0; j < T; j++) {
        float *row = st + j * nq; /* st[j][q - q0] */
        if (q0 == 0)
            row[0] = table[j == 0 ? R - 1 : R - 3]; /* the class query */
        const int64_t off = yj * (2 * gw - 1) + xj;
        for (int64_t r = 0; r < runs; r++) {
            float *dst = row + at[r];
            if (j == 0) { /* the class key: one entry for every patch query */
                for (int64_t i = 0; i < len[r]; i++)
                    dst[i] = table[R - 2];
                continue;
            }
            const float *src = table + first[r] - off;
            for (int64_t i = 0; i < len[r]; i++)
                dst[i] = src[i];
        }
        for (int64_t q = bq; q < nq; q++)
            row[q] = 0.0f;
        if (j > 0 && ++xj == gw) /* the next patch key's place */
            xj = 0, yj++;
    }
}

/* y rows [q, q + rows) x 16 channels (the first `cols` stored) = st columns
 * against one v panel, divided by the row sums. With fewer than 6 rows, the
 * broadcasts past them read on into the next st row (or the max array after
 * st, for the last): memory of the workspace, whose products are dropped. */
static void out_tile(int rows, const float *st, int64_t nq, const float *vp, int64_t T,
                     const float *sum, float *y, int64_t ldy, int64_t cols) {
    TILE_ZERO(a0, b0);
    TILE_ZERO(a1, b1);
    TILE_ZERO(a2, b2);
    TILE_ZERO(a3, b3);
    TILE_ZERO(a4, b4);
    TILE_ZERO(a5, b5);
#pragma GCC unroll 4
    for (int64_t j = 0; j < T; j++) {
        const float *p = st + j * nq;
        _mm_prefetch((const char *)(p + 8 * nq), _MM_HINT_T0); /* st rows come from L2 */
        __m256 v0 = _mm256_loadu_ps(vp + j * 16), v1 = _mm256_loadu_ps(vp + j * 16 + 8);
        TILE_FMA(_mm256_broadcast_ss(p), v0, v1, a0, b0);
        TILE_FMA(_mm256_broadcast_ss(p + 1), v0, v1, a1, b1);
        TILE_FMA(_mm256_broadcast_ss(p + 2), v0, v1, a2, b2);
        TILE_FMA(_mm256_broadcast_ss(p + 3), v0, v1, a3, b3);
        TILE_FMA(_mm256_broadcast_ss(p + 4), v0, v1, a4, b4);
        TILE_FMA(_mm256_broadcast_ss(p + 5), v0, v1, a5, b5);
    }
    const __m256 acc[6][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}, {a5, b5}};
    for (int r = 0; r < rows; r++) {
        __m256 inv = _mm256_set1_ps(1.0f / sum[r]);
        __m256 o0 = _mm256_mul_ps(acc[r][0], inv), o1 = _mm256_mul_ps(acc[r][1], inv);
        float *out = y + r * ldy;
        if (cols >= 8)
            _mm256_storeu_ps(out, o0);
        else
            _mm256_maskstore_ps(out, tail_mask((size_t)cols), o0);
        if (cols == 16)
            _mm256_storeu_ps(out + 8, o1);
        else if (cols > 8)
            _mm256_maskstore_ps(out + 8, tail_mask((size_t)cols - 8), o1);
    }
}

/* st columns [c, c + 16): exp(s - max) in place and the column sums. */
static void softmax_columns(float *st, int64_t T, int64_t nq, const float *mx, float *sum) {
    const __m256 m0 = _mm256_loadu_ps(mx), m1 = _mm256_loadu_ps(mx + 8);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t j = 0; j < T; j++) {
        float *row = st + j * nq;
        __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(row), m0));
        __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + 8), m1));
        _mm256_storeu_ps(row, e0);
        _mm256_storeu_ps(row + 8, e1);
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    _mm256_storeu_ps(sum, s0);
    _mm256_storeu_ps(sum + 8, s1);
}

ds_attention_view ds_attention_task_begin(const float *shared, int64_t T, int64_t C, int heads, int h,
                                          int64_t b, const float *bias, const int32_t *index, int grid_w,
                                          float *ws) {
    ds_attention_view v;
    const int64_t blocks = blocks_of(T);
    v.hd = C / heads;
    v.q0 = b * QMAX;
    v.bq = T - v.q0 < QMAX ? T - v.q0 : QMAX;
    v.nq = round16(v.bq);
    v.qt = shared + (h * blocks + b) * v.hd * QMAX;
    v.k = shared + heads * blocks * v.hd * QMAX + h * T * v.hd;
    v.vp = shared + heads * (blocks * v.hd * QMAX + T * v.hd) + h * round16(v.hd) * T;
    v.st = ws;
    v.mx = v.st + T * QMAX;
    v.sum = v.mx + QMAX;
    if (bias && index && grid_w > 0)
        bias_columns_grid(v.st, T, v.nq, v.q0, v.bq, bias, grid_w);
    else if (bias)
        bias_columns(v.st, T, v.nq, v.q0, v.bq, bias, index);
    for (int64_t i = 0; i < v.nq; i++)
        v.mx[i] = -INFINITY;
    return v;
}

void ds_attention_task_avx2(const float *shared, int64_t T, int64_t C, int heads, int h, int64_t b,
                            const float *bias, const int32_t *index, int grid_w, float *y, float *ws) {
    const ds_attention_view v = ds_attention_task_begin(shared, T, C, heads, h, b, bias, index, grid_w, ws);
    for (int64_t j = 0; j < T; j += 6) {
        int rows = T - j < 6 ? (int)(T - j) : 6;
        for (int64_t c = 0; c < v.nq; c += 16)
            score_tile(rows, v.k + j * v.hd, v.hd, v.qt + c, v.hd, v.st + j * v.nq + c, v.nq, v.mx + c,
                       bias != NULL);
    }
    for (int64_t c = 0; c < v.nq; c += 16)
        softmax_columns(v.st + c, T, v.nq, v.mx + c, v.sum + c);
    for (int64_t c = 0; c < v.hd; c += 16)
        for (int64_t i = 0; i < v.bq; i += 6) {
            int rows = v.bq - i < 6 ? (int)(v.bq - i) : 6;
            out_tile(rows, v.st + i, v.nq, v.vp + c * T, T, v.sum + i, y + i * C + c, C,
                     v.hd - c < 16 ? v.hd - c : 16);
        }
}
