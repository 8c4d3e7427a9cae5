/*
 * cpu/sgemm_bf16_avx512.c: y = act(r + x w^T + bias) with bfloat16 operands
 * and float32 sums: the linear layers of an engine made with precision bf16
 * (cpu/fast/linear.c), on AVX512-BF16's VDPBF16PS, which does 16 lanes of
 * two products each an instruction: twice the multiply-adds of an FMA.
 *
 * w is rounded to bf16 once, at load, into panels of 32 outputs whose rows
 * are pairs of inputs, ((k + 1) / 2, 32, 2) each, zero past n and k: half
 * the bytes of the float32 panels. x is rounded a block at a time (MC rows by
 * KCP pairs) into the caller's buffer, reused by every panel of the block.
 * Both round to nearest even, as torch's .to(torch.bfloat16). For each block
 * of rows and pairs, every panel in turn (KCP x 32 pairs, 24 KB) stays in L1
 * while every 8-row tile of x passes it; y takes each block's sums (from
 * the second on it is read back: float32 between blocks, as in the float32
 * GEMM). Rounding x once a block for all the panels, not once for each
 * block of NC outputs as the float32 GEMM orders its work, was 10-20%
 * faster at 3072 outputs; 8-row tiles (16 accumulators, enough for the
 * VDPBF16PS latency) ran 576x768x768 at 97% of the instruction's peak, 6
 * rows at 83%; 12 rows spill.
 */
#include <string.h>

#include "cpu/blas.h"
#include "cpu/sgemm_tile_avx512.h"

#define DS_AVX512_BF16 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#define BF16_INLINE static inline __attribute__((always_inline)) DS_AVX512_BF16

enum { NR = 32, MR = 8, KCP = DS_SGEMM_BF16_KCP, MC = DS_SGEMM_BF16_MC };

static int64_t pairs_of(int64_t k) { return (k + 1) / 2; }

size_t ds_sgemm_bf16_panels_bytes(int64_t n, int64_t k) {
    return (size_t)((n + NR - 1) / NR) * (size_t)pairs_of(k) * NR * sizeof(uint32_t);
}

/* 32 floats from src (the first `len`, zero past them) as 16 bf16 pairs. */
BF16_INLINE __m512i pairs16(const float *src, int64_t len) {
    const __m512 lo = _mm512_maskz_loadu_ps(ds_lanes16(len), src);
    const __m512 hi = _mm512_maskz_loadu_ps(ds_lanes16(len - 16), src + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* lanes 0-15 from lo */
}

DS_AVX512_BF16 void ds_sgemm_bf16_pack_panels(const float *w, int64_t n, int64_t k, uint32_t *panels) {
    const int64_t kp = pairs_of(k);
    for (int64_t p = 0; p < n; p += NR) {
        uint32_t *panel = panels + p * kp; /* (kp, 32) pairs */
        for (int64_t h = 0; h < NR; h += 16) /* 16 outputs at a time */
            for (int64_t q0 = 0; q0 < kp; q0 += 16) {
                __m512 r[16]; /* row c: pairs q0 .. q0+15 of output p + h + c */
                for (int c = 0; c < 16; c++)
                    r[c] = p + h + c < n ? _mm512_castsi512_ps(pairs16(w + (p + h + c) * k + 2 * q0, k - 2 * q0))
                                         : _mm512_setzero_ps();
                ds_transpose16(r); /* r[q]: pair q0 + q of the 16 outputs */
                for (int64_t q = 0; q < 16 && q0 + q < kp; q++)
                    _mm512_storeu_ps((float *)(panel + (q0 + q) * NR + h), r[q]);
            }
    }
}

/* buf (mc, qc pairs) = x's rows [0, mc) at pairs [q0, q0 + qc), rows ldx
 * floats apart, k inputs in all (a last odd input pairs with zero). */
static DS_AVX512_BF16 void round_rows(const float *x, int64_t ldx, int64_t mc, int64_t k, int64_t q0, int64_t qc,
                                      uint32_t *buf) {
    for (int64_t i = 0; i < mc; i++)
        for (int64_t q = 0; q < qc; q += 16) {
            const int64_t from = 2 * (q0 + q);
            const __m512i v = pairs16(x + i * ldx + from, k - from);
            _mm512_mask_storeu_epi32(buf + i * qc + q, ds_lanes16(qc - q), v);
        }
}

/* y (mr, cols) = act(from + xb (mr, qc pairs) b (qc, 32 pairs) + bias). */
BF16_INLINE void tile(int mr, int64_t qc, const uint32_t *xb, const uint32_t *b, float *y, int64_t ldy,
                      __mmask16 m0, __mmask16 m1, const float *from, int64_t ldf, const float *bias, ds_act act,
                      const uint32_t *pf, int64_t pf_rows) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        c0[r] = c1[r] = _mm512_setzero_ps();
        if (from) { /* the sums it adds to come from L3 */
            _mm_prefetch((const char *)(from + r * ldf), _MM_HINT_T0);
            _mm_prefetch((const char *)(from + r * ldf + 16), _MM_HINT_T0);
        }
    }
#pragma GCC unroll 8
    for (int64_t q = 0; q < qc; q++) {
        if (pf && q < pf_rows) { /* the next panel's rows, two lines a step */
            _mm_prefetch((const char *)(pf + q * NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + q * NR + 16), _MM_HINT_T0);
        }
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * NR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)xb[r * qc + q]);
            c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
        }
    }
    ds_sgemm_tile_store(mr, c0, c1, y, ldy, m0, m1, from, ldf, bias, act);
}

/* Every 6-row tile of the block's rounded rows against one panel. */
static DS_AVX512_BF16 void rows_times_panel(int64_t mc, int64_t qc, const uint32_t *xb, const uint32_t *b,
                                           float *y, int64_t ldy, int64_t cols, const float *from, int64_t ldf,
                                           const float *bias, ds_act act, const uint32_t *pf, int64_t pf_rows) {
    const __mmask16 m0 = ds_lanes16(cols), m1 = ds_lanes16(cols - 16);
    int64_t i = 0;
#define TILE(mr)                                                                                              \
    tile(mr, qc, xb + i * qc, b, y + i * ldy, ldy, m0, m1, from ? from + i * ldf : NULL, ldf, bias, act, \
         i == 0 ? pf : NULL, pf_rows)
    for (; i + MR <= mc; i += MR)
        TILE(MR);
    switch (mc - i) {
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

DS_AVX512_BF16 void ds_sgemm_bf16_panels(int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx,
                                         const uint32_t *panels, int64_t kp, float *y, int64_t ldy, const float *r,
                                         int64_t ldr, const float *bias, ds_act act, uint32_t *buf) {
    const int64_t pairs = pairs_of(k);
    if (k <= 0) { /* an empty sum: y = act(r + bias) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * ldy + j] = ds_apply_act(act, (r ? r[i * ldr + j] : 0.0f) + (bias ? bias[j] : 0.0f));
        return;
    }
    for (int64_t i0 = 0; i0 < m; i0 += MC) {
        const int64_t mc = m - i0 < MC ? m - i0 : MC;
        const float *xi = x + i0 * ldx, *ri = r ? r + i0 * ldr : NULL;
        float *yi = y + i0 * ldy;
        for (int64_t q0 = 0; q0 < pairs; q0 += KCP) {
            const int64_t qc = pairs - q0 < KCP ? pairs - q0 : KCP;
            round_rows(xi, ldx, mc, k, q0, qc, buf); /* once: every panel reads it */
            const float *from = q0 > 0 ? yi : ri;
            for (int64_t p = 0; p < n; p += NR) {
                const uint32_t *b = panels + p * kp + q0 * NR;
                /* the panel that comes next (its rows): the next one, else the
                 * first one's next block of pairs */
                const uint32_t *next = p + NR < n ? b + NR * kp : q0 + KCP < pairs ? panels + (q0 + KCP) * NR : NULL;
                const int64_t next_rows = p + NR < n ? qc : pairs - q0 - KCP;
                rows_times_panel(mc, qc, buf, b, yi + p, ldy, n - p < NR ? n - p : NR, from ? from + p : NULL,
                                 q0 > 0 ? ldy : ldr, q0 == 0 && bias ? bias + p : NULL,
                                 q0 + qc == pairs ? act : DS_ACT_NONE, next, next_rows < KCP ? next_rows : KCP);
            }
        }
    }
}
