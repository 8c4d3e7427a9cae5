/*
 * cpu/conv/winograd.c: dense 3x3 stride-1 convolution by Winograd F(4x4, 3x3)
 * (Lavin & Gray): each 4x4 output tile is A^T [ (G g G^T) . (B^T d B) ] A
 * over a 6x6 input patch d, so the products become 36 independent GEMMs
 * (tiles x C) x (C x O) with 4x fewer multiplies than im2col.
 *
 * Accuracy: the float32 GEMM in the transformed domain is most of the error
 * (outputs are sums with cancellation of larger products). Two choices cut
 * it: the interpolation points 0, 1, -1, 2, -1/2, inf instead of the usual
 * 0, +-1, +-2, inf (smaller transformed values; 2.4x lower NMSE simulated),
 * and the GEMM summing channels in blocks of DS_WINO_KBLOCK before adding
 * the block sums. Measured on DPT-Hybrid's parity test (the most sensitive
 * network, GroupNorm after every conv): head_pre_relu 8.0e-5 with the usual
 * points and one running sum, 3.2e-5 with both (im2col alone: 3.2e-5).
 *
 * Work is split in blocks of tiles (and, when there are too few blocks for
 * the threads, in chunks of output channels too); each thread transforms its
 * block's input into its own scratch, multiplies, and writes the output
 * through the fused epilogue, so nothing but y leaves the thread.
 */
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/conv/conv.h"
#include "cpu/isa.h" /* DS_ISA_AVX512 */

size_t ds_wino_packed_floats(const ds_node *n) {
    ds_conv_dims d = ds_conv_dims_of(n);
    int64_t panels = (d.o + DS_WINO_PANEL - 1) / DS_WINO_PANEL;
    return (size_t)36 * (size_t)panels * DS_WINO_PANEL * (size_t)d.c;
}

/* G (6x3): the weight transform for the points 0, 1, -1, 2, -1/2, inf. */
static const double G[6][3] = {
    {1, 0, 0},
    {-1.0 / 3, -1.0 / 3, -1.0 / 3},
    {1.0 / 3, -1.0 / 3, 1.0 / 3},
    {1.0 / 15, 2.0 / 15, 4.0 / 15},
    {-16.0 / 15, 8.0 / 15, -4.0 / 15},
    {0, 0, 1},
};

/* In double, rounded once: the weights carry no extra transform error. A
 * panel's 16 outputs of one channel are transformed together, each step a
 * loop over the 16 (vectorized; the same operations on each as one at a
 * time), so that each of the 36 positions gets one whole 64-byte line (the
 * writes stream). */
void ds_wino_pack(const ds_node *n, const float *w, float *u) {
    enum { P = DS_WINO_PANEL };
    ds_conv_dims d = ds_conv_dims_of(n);
    const int64_t panels = (d.o + P - 1) / P;
    for (int64_t pn = 0; pn < panels; pn++) {
        const int64_t outs = d.o - pn * P < P ? d.o - pn * P : P;
        for (int64_t c = 0; c < d.c; c++) {
            double g[9][P] = {{0}}; /* (tap, output of the panel); zero past the last output */
            for (int64_t l = 0; l < outs; l++)
                for (int k = 0; k < 9; k++) /* g[ky][kx] = w[o][(ky*3 + kx) * C + c] */
                    g[k][l] = w[(pn * P + l) * 9 * d.c + k * d.c + c];
            double t[6][3][P]; /* G g */
            for (int i = 0; i < 6; i++)
                for (int kx = 0; kx < 3; kx++)
                    for (int l = 0; l < P; l++)
                        t[i][kx][l] = G[i][0] * g[kx][l] + G[i][1] * g[3 + kx][l] + G[i][2] * g[6 + kx][l];
            float lines[36][P]; /* (position, output of the panel): G g G^T */
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    for (int l = 0; l < P; l++)
                        lines[i * 6 + j][l] =
                            l < outs ? (float)(t[i][0][l] * G[j][0] + t[i][1][l] * G[j][1] + t[i][2][l] * G[j][2])
                                     : 0.0f;
            for (int k = 0; k < 36; k++)
                memcpy(u + (((size_t)k * panels + pn) * d.c + c) * P, lines[k], sizeof lines[k]);
        }
    }
}

typedef struct wino_plan {
    int64_t th, tw, tiles;
    int64_t bt, n_blocks; /* tiles per block */
    int64_t oc, n_chunks; /* output channels per chunk */
    size_t thread_floats; /* v and m of one thread */
} wino_plan;

/* Tiles per block: 18. One position's v rows (18 x C) then stay in L1 beside
 * the weight panel they meet, for every panel, and the block's v and m
 * mostly in L2; the weights stream from L2/L3 once per block. Larger blocks
 * (96, chosen earlier to stream the weights less often) measured 8-32%
 * slower on every DPT decoder shape with 2 threads (bench/RESULTS.md,
 * "Morning of 2026-12-07"); 12 was slower again. */
enum { WINO_BLOCK = 18 };
/* Cap on one thread's v + m, in floats (8 MiB): they live in L2/L3. */
enum { WINO_MAX_FLOATS = 1 << 21 };

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

static wino_plan plan_of(const ds_node *n, int n_threads) {
    ds_conv_dims d = ds_conv_dims_of(n);
    wino_plan p;
    p.th = (d.oh + 3) / 4;
    p.tw = (d.ow + 3) / 4;
    p.tiles = d.n * p.th * p.tw;
    int64_t bt = WINO_BLOCK;
    while (bt > 6 && 36 * bt * (d.c + round_up(d.o, DS_WINO_PANEL)) > WINO_MAX_FLOATS)
        bt -= 6;
    /* a whole number of equal blocks per thread; no more than one block
     * when one holds every tile: each block streams all the weights, so
     * the threads split the output channels instead (14x14: 16 tiles) */
    int64_t nb = p.tiles <= bt ? 1 : round_up((p.tiles + bt - 1) / bt, n_threads);
    bt = round_up((p.tiles + nb - 1) / nb, 6);
    p.bt = bt < p.tiles ? bt : p.tiles;
    p.n_blocks = (p.tiles + p.bt - 1) / p.bt;
    p.oc = d.o;
    p.n_chunks = 1;
    if (p.n_blocks < n_threads) {
        int64_t chunks = (n_threads + p.n_blocks - 1) / p.n_blocks;
        p.oc = round_up((d.o + chunks - 1) / chunks, DS_WINO_PANEL);
        p.n_chunks = (d.o + p.oc - 1) / p.oc;
    }
    p.thread_floats = (size_t)36 * (size_t)p.bt * (size_t)(d.c + round_up(p.oc, DS_WINO_PANEL));
    return p;
}

size_t ds_conv_winograd_scratch(const ds_node *n, int n_threads) {
    return (size_t)n_threads * plan_of(n, n_threads).thread_floats * sizeof(float);
}

typedef struct wino_job {
    const ds_cpu_op *op;
    const wino_plan *p;
    const float *u;
    int simd;
} wino_job;

static void wino_item(void *ctx, int64_t it, int thread) {
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    const ds_cpu_op *op = j->op;
    const int64_t C = op->x->shape[3], O = op->y->shape[3];
    float *v = op->ctx->scratch + (size_t)thread * p->thread_floats;
    ds_wino_block b;
    b.op = op;
    b.th = p->th;
    b.tw = p->tw;
    b.t0 = it / p->n_chunks * p->bt;
    b.nt = p->tiles - b.t0 < p->bt ? p->tiles - b.t0 : p->bt;
    b.o0 = it % p->n_chunks * p->oc;
    b.no = O - b.o0 < p->oc ? O - b.o0 : p->oc;
    b.ldm = round_up(b.no, DS_WINO_PANEL);
    b.v = v;                 /* (36, nt, C) */
    b.m = v + 36 * b.nt * C; /* (36, nt, ldm) */
    b.u = j->u;
    if (j->simd) {
        if (j->simd >= DS_ISA_AVX512) {
            ds_wino_input_avx512(&b);
            ds_wino_gemm_avx512(&b);
            ds_wino_output_avx512(&b);
        } else {
            ds_wino_input_avx2(&b);
            ds_wino_gemm_avx2(&b);
            ds_wino_output_avx2(&b);
        }
    } else {
        ds_wino_input_c(&b, 0, C);
        ds_wino_gemm_c(&b);
        ds_wino_output_c(&b, 0, b.no);
    }
}

void ds_conv_winograd(const ds_cpu_op *op, const float *u, int simd) {
    const wino_plan p = plan_of(op->node, op->ctx->n_threads);
    wino_job j = {op, &p, u, simd};
    ds_parallel_for(op->ctx->n_threads, p.n_blocks * p.n_chunks, wino_item, &j);
}
