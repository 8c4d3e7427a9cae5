/*
 * test_ops_conv.c: the fast CPU convolution, transposed convolution and
 * max-pool kernels against the reference kernels (tests/op_check.h) on odd
 * shapes, every algorithm forced onto every shape it applies to, AVX2 and
 * portable, 1 and 2 threads, fused epilogues, and the in-place variant.
 *
 * Thresholds on NMSE (fast float32 vs the reference's double accumulation),
 * set from measurements on these cases (the worst of each kind is printed at
 * the end) with a margin of 40x or more:
 *  - direct and GEMM kernels measure up to 1.1e-13: DIRECT_TOL 1e-11;
 *  - Winograd F(4x4, 3x3) measures up to 2.5e-12 (its transforms add
 *    rounding, and its products cancel more): WINO_TOL 1e-10.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu/conv/conv.h"
#include "cpu/isa.h" /* ds_cpu_isa_supported */
#include "tests/op_check.h"
#include "tests/test.h"

static const double DIRECT_TOL = 1e-11;
static const double WINO_TOL = 1e-10;

/* One convolution case; pads are explicit (TF "SAME" written out). */
typedef struct conv_case {
    int n, h, w, c, o;
    int kh, kw, stride, dil, groups;
    int pt, pb, pl, pr;
    ds_act in_act, res_act, act;
    int residual, bias;
} conv_case;

static ds_node conv_node(const conv_case *cc) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_CONV2D;
    n.name = "test.conv";
    n.in[0] = 0;
    n.in[1] = cc->residual ? 1 : -1;
    ds_conv_attr *a = &n.a.conv;
    a->kh = cc->kh;
    a->kw = cc->kw;
    a->stride_h = a->stride_w = cc->stride;
    a->dil_h = a->dil_w = cc->dil;
    a->pad_t = cc->pt;
    a->pad_b = cc->pb;
    a->pad_l = cc->pl;
    a->pad_r = cc->pr;
    a->groups = cc->groups;
    a->in_act = cc->in_act;
    a->res_act = cc->res_act;
    a->act = cc->act;
    n.shape[0] = cc->n;
    n.shape[1] = (cc->h + cc->pt + cc->pb - cc->dil * (cc->kh - 1) - 1) / cc->stride + 1;
    n.shape[2] = (cc->w + cc->pl + cc->pr - cc->dil * (cc->kw - 1) - 1) / cc->stride + 1;
    n.shape[3] = cc->o;
    n.w[0].name = "test.conv.weight";
    n.w[0].ndim = 4;
    n.w[0].shape[0] = cc->o;
    n.w[0].shape[1] = cc->kh;
    n.w[0].shape[2] = cc->kw;
    n.w[0].shape[3] = cc->c / cc->groups;
    return n;
}

/* Largest NMSE seen per kind, printed at the end for the record. */
static double worst[4];
/* The last case's NMSE: two kernels that give the same bits give the same value. */
static double g_last_nmse;

/* Runs one case through kernel k; on failure describes it in msg. */
static int check_case(const conv_case *cc, const ds_cpu_kernel *k, int threads, double tol,
                      int kind, char *msg, size_t len) {
    ds_node node = conv_node(cc);
    int64_t xs[4] = {cc->n, cc->h, cc->w, cc->c};
    size_t wl = (size_t)cc->o * cc->kh * cc->kw * (cc->c / cc->groups);
    float scale = 1.0f / sqrtf((float)(cc->kh * cc->kw * (cc->c / cc->groups)));
    op_check_result r = op_check(&node, xs, cc->residual ? node.shape : NULL, wl,
                                 cc->bias ? (size_t)cc->o : 0, scale, k, threads,
                                 (uint64_t)(cc->h * 131 + cc->w * 17 + cc->c * 7 + cc->o));
    double e = r.nmse > r.nmse_inplace ? r.nmse : r.nmse_inplace;
    g_last_nmse = r.nmse;
    if (e > worst[kind])
        worst[kind] = e;
    int ok = r.nmse <= tol && r.nmse_inplace <= tol && r.guards_ok && r.finite &&
             (!cc->residual || r.nmse_inplace >= 0);
    if (!ok)
        snprintf(msg, len,
                 "%dx%dx%dx%d -> %lldx%lldx%d k%dx%d s%d d%d g%d pad %d,%d,%d,%d acts %d/%d/%d "
                 "res %d bias %d, %d threads: nmse %.3g in-place %.3g guards %d finite %d",
                 cc->n, cc->h, cc->w, cc->c, (long long)node.shape[1], (long long)node.shape[2],
                 cc->o, cc->kh, cc->kw, cc->stride, cc->dil, cc->groups, cc->pt, cc->pb, cc->pl,
                 cc->pr, cc->in_act, cc->res_act, cc->act, cc->residual, cc->bias, threads,
                 r.nmse, r.nmse_inplace, r.guards_ok, r.finite);
    return ok;
}

/* Each algorithm forced, with and without AVX2. Every run notes whether the
 * forced algorithm is the one that ran (an inapplicable one falls back, and
 * the test would compare the reference with itself). */
static int g_forced_runs, g_forced_misses;
static void note_forced(int ran, ds_conv_algo algo) {
    g_forced_runs++;
    g_forced_misses += ran != (int)algo;
}
#define FORCED(name, algo, simd)                                                                       \
    static void run_##name(const ds_cpu_op *op) { note_forced(ds_conv2d_run_algo(op, algo, simd), algo); } \
    static size_t scratch_##name(const ds_node *n, int t) {                             \
        return ds_conv2d_scratch_algo(n, t, algo);                                      \
    }                                                                                   \
    static const ds_cpu_kernel k_##name = {                                             \
        .run = run_##name, .scratch_bytes = scratch_##name, .pack = ds_fast_conv2d_pack_all};
FORCED(gemm_c, DS_CONV_GEMM, 0)
FORCED(gemm_avx2, DS_CONV_GEMM, 1)
FORCED(gemm_avx512, DS_CONV_GEMM, DS_ISA_AVX512)
FORCED(wino_c, DS_CONV_WINOGRAD, 0)
FORCED(wino_avx2, DS_CONV_WINOGRAD, 1)
FORCED(wino_avx512, DS_CONV_WINOGRAD, DS_ISA_AVX512)
FORCED(dw_c, DS_CONV_DEPTHWISE, 0)
FORCED(dw_avx2, DS_CONV_DEPTHWISE, 1)
FORCED(grp_c, DS_CONV_GROUPED, 0)
FORCED(grp_avx2, DS_CONV_GROUPED, 1)

enum { KIND_GEMM, KIND_WINO, KIND_DIRECT, KIND_AUTO };

/* Every case through every listed kernel (AVX2 ones only where the CPU has
 * it, AVX-512 ones, `wide`, where it has that), with 1 and 2 threads. `wide`
 * (or NULL) sums in the AVX2 kernel's order: its result must be the same bits. */
static void check_all(const conv_case *cases, int n, const ds_cpu_kernel *portable,
                      const ds_cpu_kernel *simd, const ds_cpu_kernel *wide, double tol, int kind) {
    char msg[512];
    g_forced_runs = g_forced_misses = 0;
    if (wide && !ds_cpu_isa_supported(DS_ISA_AVX512))
        printf("SKIP the AVX-512 kernels: this CPU lacks AVX-512\n");
    for (int i = 0; i < n; i++)
        for (int threads = 1; threads <= 2; threads++) {
            CHECK_MSG(check_case(&cases[i], portable, threads, tol, kind, msg, sizeof msg),
                      "case %d portable: %s", i, msg);
            if (!ds_cpu_has_avx2_fma())
                continue;
            CHECK_MSG(check_case(&cases[i], simd, threads, tol, kind, msg, sizeof msg),
                      "case %d avx2: %s", i, msg);
            const double avx2_nmse = g_last_nmse;
            if (!wide || !ds_cpu_isa_supported(DS_ISA_AVX512))
                continue;
            CHECK_MSG(check_case(&cases[i], wide, threads, tol, kind, msg, sizeof msg),
                      "case %d avx512: %s", i, msg);
            CHECK_MSG(g_last_nmse == avx2_nmse, "case %d avx512: nmse %.17g, avx2 %.17g (not the same bits)",
                      i, g_last_nmse, avx2_nmse);
        }
    if (kind != KIND_AUTO)
        CHECK_MSG(g_forced_runs > 0 && g_forced_misses == 0,
                  "%d of %d forced runs fell back to another algorithm", g_forced_misses, g_forced_runs);
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define NONE DS_ACT_NONE
#define RELU DS_ACT_RELU
#define RELU6 DS_ACT_RELU6

/* n, h, w, c, o, kh, kw, stride, dil, groups, pads t b l r, in/res/act, residual, bias */
static const conv_case gemm_cases[] = {
    /* 1x1 on x itself: per-thread tiles (13x17 pixels) and through OpenBLAS (7x11) */
    {1, 13, 17, 17, 130, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, RELU6, 0, 1},
    {1, 7, 11, 64, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, RELU, NONE, 1, 1},
    {2, 5, 3, 130, 17, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, RELU, 1, 0},
    /* the packed GEMM (AVX2): row tiles of 2 and 4, K in 3 blocks with the
     * residual in place, a full panel, a half panel, a 4-column panel */
    {1, 4, 5, 600, 20, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, RELU6, RELU, 1, 1},
    {1, 2, 5, 40, 16, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, RELU6, 0, 1},
    {2, 3, 4, 9, 8, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 1, 0},
    /* AVX-512's pairs of panels: a pair and a 16-column one (K in 2 blocks,
     * residual in place), two pairs with hardswish (a stem's act), a pair of 3 + 16 */
    {1, 5, 7, 300, 48, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, RELU, RELU6, 1, 1},
    {1, 3, 5, 33, 64, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, DS_ACT_HARDSWISH, 0, 1},
    {1, 7, 3, 24, 19, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, DS_ACT_HARDSWISH, NONE, 1, 1},
    /* tasks of 96 rows (blocks of K over all panels) and of 34 (each pair of
     * panels whole, streamed), K in 2 blocks */
    {1, 10, 13, 300, 40, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, RELU, 1, 1},
    /* large weights: OpenBLAS-threaded, direct and im2col */
    {1, 5, 3, 512, 300, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 0, 1},
    {1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 0, 1},
    /* 1x1 with in_act (im2col), 1x1 stride 2 */
    {1, 11, 13, 5, 17, 1, 1, 1, 1, 1, 0, 0, 0, 0, RELU, NONE, NONE, 0, 1},
    {1, 13, 5, 17, 64, 1, 1, 2, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 0, 0},
    /* stems: 3x3 s2 TF SAME, 7x7 s2 pad 3, 7x7 s2 TF SAME */
    {1, 16, 12, 3, 32, 3, 3, 2, 1, 1, 0, 1, 0, 1, NONE, NONE, RELU6, 0, 1},
    {1, 13, 11, 3, 64, 7, 7, 2, 1, 1, 3, 3, 3, 3, NONE, NONE, RELU, 0, 1},
    {1, 14, 10, 3, 17, 7, 7, 2, 1, 1, 2, 3, 2, 3, NONE, NONE, NONE, 0, 0},
    /* ViT patch embedding: 16x16 stride 16 */
    {1, 32, 48, 3, 64, 16, 16, 16, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 0, 1},
    /* dilation 2, 5x5, 3x3 stride 2 pad 1 */
    {1, 9, 11, 5, 17, 3, 3, 1, 2, 1, 2, 2, 2, 2, NONE, NONE, NONE, 0, 1},
    {1, 7, 6, 5, 3, 5, 5, 1, 1, 1, 2, 2, 2, 2, NONE, NONE, RELU6, 0, 1},
    {1, 11, 7, 64, 130, 3, 3, 2, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 1, 1},
    /* the decoder's residual unit: in_act, residual with res_act, in place */
    {1, 13, 5, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU, RELU, NONE, 1, 1},
    {1, 7, 11, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU, NONE, RELU, 0, 1},
    /* im2col tiles of OpenBLAS mode: K = 9216 gives 227-row chunks, 255 pixels */
    {1, 15, 17, 1024, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 1, 1},
};

static const conv_case wino_cases[] = {
    /* leftover channels past 16 (O) and 8 (C), every act */
    {1, 13, 5, 17, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU, NONE, RELU, 0, 1},
    {1, 7, 11, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, RELU, NONE, 1, 1},
    {1, 11, 7, 5, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU6, RELU6, RELU6, 1, 0},
    /* size-1 image and channel, no padding (valid), asymmetric padding */
    {1, 1, 1, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 0, 1},
    {1, 9, 6, 1, 1, 3, 3, 1, 1, 1, 0, 0, 0, 0, NONE, NONE, NONE, 0, 1},
    {1, 10, 7, 8, 16, 3, 3, 1, 1, 1, 0, 2, 1, 0, NONE, NONE, NONE, 1, 1},
    /* blocks: 49 tiles (just past 48), 2 images, and one tile split over threads */
    {1, 28, 28, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 0, 1},
    {2, 12, 20, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU, RELU, RELU, 1, 1},
    {1, 4, 4, 16, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 0, 1},
    /* blocks of 5 and of 3 tiles: the GEMM's partial row tiles */
    {1, 20, 4, 24, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 0, 1},
    {1, 3, 12, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, RELU, 1, 0},
    /* wide: many channels */
    {1, 8, 8, 256, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, RELU, NONE, NONE, 0, 1},
};

static const conv_case dw_cases[] = {
    /* 3x3 s1 with one leftover channel; 3x3 s2 TF SAME; 5x5 s2 TF SAME past 128 */
    {1, 13, 5, 17, 17, 3, 3, 1, 1, 17, 1, 1, 1, 1, NONE, NONE, RELU6, 0, 1},
    {1, 7, 11, 64, 64, 3, 3, 2, 1, 64, 0, 1, 0, 1, NONE, NONE, RELU6, 0, 1},
    {1, 16, 9, 130, 130, 5, 5, 2, 1, 130, 1, 2, 1, 2, NONE, NONE, RELU6, 0, 1},
    /* 5x5 on a 1x1 image, only leftover channels; dilation 2; residual in place */
    {1, 1, 1, 5, 5, 5, 5, 1, 1, 5, 2, 2, 2, 2, NONE, NONE, NONE, 0, 1},
    {1, 9, 10, 40, 40, 3, 3, 1, 2, 40, 2, 2, 2, 2, RELU, NONE, NONE, 0, 0},
    {2, 6, 7, 24, 24, 3, 3, 1, 1, 24, 1, 1, 1, 1, RELU6, RELU, RELU, 1, 1},
    /* wide rows: 8-pixel sliding tiles (no in_act) 3x3 and 5x5, stride 1 and
     * 2, with 4-pixel tiles and single pixels after them; 4-pixel tiles with
     * in_act */
    {1, 5, 21, 48, 48, 3, 3, 1, 1, 48, 1, 1, 1, 1, NONE, NONE, RELU6, 0, 1},
    {1, 6, 31, 24, 24, 3, 3, 2, 1, 24, 0, 1, 0, 1, NONE, RELU, NONE, 1, 1},
    {1, 7, 26, 72, 72, 5, 5, 1, 1, 72, 2, 2, 2, 2, NONE, NONE, RELU6, 0, 1},
    {1, 9, 39, 8, 8, 5, 5, 2, 1, 8, 1, 2, 1, 2, NONE, NONE, NONE, 0, 1},
    {1, 5, 21, 48, 48, 3, 3, 1, 1, 48, 1, 1, 1, 1, RELU, NONE, NONE, 0, 1},
};

static const conv_case grp_cases[] = {
    /* 4 groups of 4 -> 5 (a partial block of 8) */
    {1, 13, 5, 16, 20, 3, 3, 1, 1, 4, 1, 1, 1, 1, NONE, NONE, RELU, 0, 1},
    /* ResNeXt: 32 groups of 8, of 16 (stride 2), 4 groups of 64 */
    {1, 7, 11, 256, 256, 3, 3, 1, 1, 32, 1, 1, 1, 1, NONE, NONE, RELU, 0, 1},
    {1, 9, 13, 512, 512, 3, 3, 2, 1, 32, 1, 1, 1, 1, NONE, NONE, RELU, 0, 1},
    {1, 5, 7, 256, 256, 3, 3, 1, 1, 4, 1, 1, 1, 1, NONE, NONE, NONE, 1, 1},
    /* 2 groups of 24 (a pair of blocks and one more), dilation 2, in_act, in place */
    {1, 6, 17, 48, 48, 3, 3, 1, 2, 2, 2, 2, 2, 2, RELU, RELU, RELU6, 1, 1},
    /* groups of 8: two 12-pixel tiles and one more on a row of 25, in_act, in place */
    {1, 3, 25, 64, 64, 3, 3, 1, 1, 8, 1, 1, 1, 1, RELU, NONE, RELU6, 1, 1},
    /* a row of 17: tiles of 6 and a partial one, edge pixels padded; 1x1 grouped */
    {1, 3, 17, 32, 64, 5, 5, 1, 1, 4, 2, 2, 2, 2, NONE, NONE, NONE, 0, 0},
    {1, 5, 3, 64, 64, 1, 1, 1, 1, 4, 0, 0, 0, 0, NONE, NONE, NONE, 0, 1},
};

TEST(gemm_matches_reference) {
    check_all(gemm_cases, N_OF(gemm_cases), &k_gemm_c, &k_gemm_avx2, &k_gemm_avx512, DIRECT_TOL, KIND_GEMM);
}

TEST(winograd_matches_reference) {
    check_all(wino_cases, N_OF(wino_cases), &k_wino_c, &k_wino_avx2, &k_wino_avx512, WINO_TOL, KIND_WINO);
}

TEST(depthwise_matches_reference) {
    check_all(dw_cases, N_OF(dw_cases), &k_dw_c, &k_dw_avx2, NULL, DIRECT_TOL, KIND_DIRECT);
}

TEST(grouped_matches_reference) {
    check_all(grp_cases, N_OF(grp_cases), &k_grp_c, &k_grp_avx2, NULL, DIRECT_TOL, KIND_DIRECT);
}

/* The table entry, with its own choice of algorithm, on every case above. */
TEST(fast_table_matches_reference) {
    const ds_cpu_kernel *k = &ds_cpu_fast_kernels[DS_OP_CONV2D];
    const conv_case *lists[] = {gemm_cases, wino_cases, dw_cases, grp_cases};
    const int counts[] = {N_OF(gemm_cases), N_OF(wino_cases), N_OF(dw_cases), N_OF(grp_cases)};
    char msg[512];
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < counts[l]; i++)
            CHECK_MSG(check_case(&lists[l][i], k, 2, l == 1 ? WINO_TOL : DIRECT_TOL, KIND_AUTO,
                                 msg, sizeof msg),
                      "list %d case %d: %s", l, i, msg);
}

static size_t no_scratch(const ds_node *n, int t) {
    (void)n;
    (void)t;
    return 0;
}

/* The engine packs only the layout a node runs at its size: a 3x3 256->256
 * conv (9.4 MB of Winograd weights, more than stay in cache) runs as GEMM on
 * a 4x4 map and as Winograd on a 48x48 one, each packed without the other. */
TEST(pack_holds_only_the_layout_that_runs) {
    const conv_case tiny = {1, 4, 4, 256, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, NONE, NONE, NONE, 0, 1};
    conv_case big = tiny;
    big.h = big.w = 48;
    ds_node a = conv_node(&tiny), b = conv_node(&big);
    CHECK(ds_fast_conv2d_pack_key(&a, 2) == DS_CONV_GEMM);
    CHECK(ds_fast_conv2d_pack_key(&b, 2) == DS_CONV_WINOGRAD);
    const size_t nw = 256 * 256 * 9;
    float *w = calloc(nw, sizeof *w);
    ds_conv_packed *pa = ds_fast_conv2d_pack(&a, w, 2), *pb = ds_fast_conv2d_pack(&b, w, 2);
    ds_conv_packed *all = ds_fast_conv2d_pack_all(&a, w, 2);
    CHECK(pa && pa->gemm && !pa->wino && !pa->direct);
    CHECK(pb && pb->wino && !pb->gemm && !pb->direct);
    CHECK(all && all->wino && all->gemm);
    free(pa);
    free(pb);
    free(all);
    free(w);
}

/* A workspace too small, or weights never packed: still the right answer. */
TEST(conv_without_scratch_or_packing_falls_back) {
    const ds_cpu_kernel starved = {.run = ds_fast_conv2d, .scratch_bytes = no_scratch,
                                   .pack = ds_fast_conv2d_pack,
                                   .pack_key = ds_fast_conv2d_pack_key};
    const ds_cpu_kernel unpacked = {.run = ds_fast_conv2d, .scratch_bytes = ds_fast_conv2d_scratch};
    char msg[512];
    CHECK_MSG(check_case(&wino_cases[1], &starved, 2, WINO_TOL, KIND_AUTO, msg, sizeof msg), "%s",
              msg);
    CHECK_MSG(check_case(&gemm_cases[7], &starved, 2, DIRECT_TOL, KIND_AUTO, msg, sizeof msg),
              "%s", msg);
    CHECK_MSG(check_case(&wino_cases[6], &unpacked, 2, DIRECT_TOL, KIND_AUTO, msg, sizeof msg),
              "%s", msg);
    CHECK_MSG(check_case(&dw_cases[1], &unpacked, 2, DIRECT_TOL, KIND_AUTO, msg, sizeof msg),
              "%s", msg);
}

static ds_node transpose_node(int k, int h, int w, int o, int bias) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_CONV_TRANSPOSE;
    n.in[0] = 0;
    n.in[1] = -1;
    n.a.conv.kh = n.a.conv.kw = n.a.conv.stride_h = n.a.conv.stride_w = k;
    n.a.conv.dil_h = n.a.conv.dil_w = n.a.conv.groups = 1;
    n.shape[0] = 1;
    n.shape[1] = h * k;
    n.shape[2] = w * k;
    n.shape[3] = o;
    n.w[1].name = bias ? "test.bias" : NULL;
    return n;
}

/* Through OpenBLAS (AVX2 engines) and our AVX-512 sgemm. */
static void transpose_patch_cases(const char *isa) {
    (void)isa;
    static const int cases[][5] = {/* k, h, w, in, out */
                                   {2, 5, 7, 17, 130}, {4, 7, 5, 64, 17}, {4, 1, 1, 3, 5},
                                   {2, 13, 11, 130, 64}};
    for (int i = 0; i < 4; i++)
        for (int threads = 1; threads <= 2; threads++) {
            const int *c = cases[i];
            ds_node n = transpose_node(c[0], c[1], c[2], c[4], i % 2);
            int64_t xs[4] = {1, c[1], c[2], c[3]};
            op_check_result r = op_check(&n, xs, NULL, (size_t)c[3] * c[0] * c[0] * c[4],
                                         i % 2 ? (size_t)c[4] : 0, 1.0f / sqrtf((float)c[3]),
                                         &ds_cpu_fast_kernels[DS_OP_CONV_TRANSPOSE], threads,
                                         (uint64_t)i);
            if (r.nmse > worst[KIND_GEMM])
                worst[KIND_GEMM] = r.nmse;
            CHECK_MSG(r.nmse <= DIRECT_TOL && r.guards_ok && r.finite,
                      "case %d, %d threads: nmse %.3g guards %d finite %d", i, threads, r.nmse,
                      r.guards_ok, r.finite);
        }
}

TEST(conv_transpose_matches_reference) {
    op_each_isa("conv_transpose_matches_reference", transpose_patch_cases);
}

/* ConvTranspose2d of any kernel, stride, padding, dilation and output_padding
 * (the gather path; the patch path when kernel == stride). */
typedef struct transpose_case {
    int k, s, pad, dil, out_pad;
    int n, h, w, in, out;
    ds_act act;
} transpose_case;

static void transpose_general_cases(const char *isa) {
    (void)isa;
    static const transpose_case cases[] = {
        {3, 2, 1, 1, 1, 1, 28, 28, 17, 8, DS_ACT_HARDSWISH}, /* LeViT's stem_transpose, fewer channels */
        {3, 2, 1, 1, 0, 2, 5, 7, 3, 5, DS_ACT_NONE},         /* two items, no output_padding */
        {3, 2, 1, 1, 1, 1, 1, 1, 4, 3, DS_ACT_RELU},         /* one pixel */
        {5, 3, 2, 1, 2, 1, 4, 9, 5, 7, DS_ACT_NONE},         /* wide, kernel over two strides */
        {3, 1, 0, 2, 1, 1, 6, 2, 2, 3, DS_ACT_HARDSWISH},    /* dilation above the stride */
        {2, 2, 0, 1, 1, 1, 3, 4, 33, 2, DS_ACT_NONE},        /* kernel == stride, output_padding 1 */
        {4, 2, 3, 1, 0, 1, 3, 4, 1, 1, DS_ACT_NONE},         /* padding that crops whole taps */
        {3, 2, 1, 1, 1, 2, 100, 40, 4, 64, DS_ACT_NONE},     /* T of several chunks of rows */
        {1, 2, 0, 1, 1, 1, 3, 5, 4, 3, DS_ACT_HARDSWISH},    /* pixels no tap reaches: act(bias) */
        {1, 3, 0, 1, 2, 1, 2, 3, 5, 2, DS_ACT_HARDSWISH},    /* the same without a bias: act(0) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int threads = 1; threads <= 2; threads++) {
            const transpose_case *c = &cases[i];
            ds_node n;
            memset(&n, 0, sizeof n);
            n.op = DS_OP_CONV_TRANSPOSE;
            n.in[0] = 0;
            n.in[1] = -1;
            ds_conv_attr *a = &n.a.conv;
            a->kh = a->kw = c->k;
            a->stride_h = a->stride_w = c->s;
            a->dil_h = a->dil_w = c->dil;
            a->pad_t = a->pad_b = a->pad_l = a->pad_r = c->pad;
            a->groups = 1;
            a->act = c->act;
            n.shape[0] = c->n;
            n.shape[1] = ds_transpose_out(c->h, c->pad, c->pad, c->k, c->s, c->dil) + c->out_pad;
            n.shape[2] = ds_transpose_out(c->w, c->pad, c->pad, c->k, c->s, c->dil) + c->out_pad;
            n.shape[3] = c->out;
            CHECK_MSG(n.shape[1] > 0 && n.shape[2] > 0, "case %zu has no output", i);
            int64_t xs[4] = {c->n, c->h, c->w, c->in};
            op_check_result r = op_check(&n, xs, NULL, (size_t)c->in * c->k * c->k * c->out,
                                         i % 2 ? 0 : (size_t)c->out, 1.0f / sqrtf((float)c->in),
                                         &ds_cpu_fast_kernels[DS_OP_CONV_TRANSPOSE], threads, (uint64_t)i + 40);
            if (r.nmse > worst[KIND_GEMM])
                worst[KIND_GEMM] = r.nmse;
            CHECK_MSG(r.nmse <= DIRECT_TOL && r.guards_ok && r.finite,
                      "case %zu (k%d s%d p%d d%d op%d, %dx%dx%d -> %lldx%lldx%d), %d threads: nmse %.3g guards %d "
                      "finite %d",
                      i, c->k, c->s, c->pad, c->dil, c->out_pad, c->h, c->w, c->in, (long long)n.shape[1],
                      (long long)n.shape[2], c->out, threads, r.nmse, r.guards_ok, r.finite);
        }
}

TEST(conv_transpose_general_matches_reference) {
    op_each_isa("conv_transpose_general_matches_reference", transpose_general_cases);
}

static ds_node pool_node(int h, int w, int c, int pt, int pb, int pl, int pr) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_MAXPOOL;
    n.in[0] = 0;
    n.in[1] = -1;
    n.a.pool = (ds_pool_attr){3, 3, 2, 2, pt, pb, pl, pr};
    n.shape[0] = 1;
    n.shape[1] = (h + pt + pb - 3) / 2 + 1;
    n.shape[2] = (w + pl + pr - 3) / 2 + 1;
    n.shape[3] = c;
    return n;
}

static const ds_cpu_kernel k_pool_c = {.run = ds_fast_maxpool_portable};

TEST(maxpool_matches_reference) {
    static const int cases[][7] = {/* h, w, c, pads t b l r */
                                   {13, 11, 17, 1, 1, 1, 1}, {12, 8, 64, 0, 1, 0, 1},
                                   {1, 1, 3, 1, 1, 1, 1},    {7, 16, 5, 0, 0, 0, 0}};
    const ds_cpu_kernel *kernels[2] = {&ds_cpu_fast_kernels[DS_OP_MAXPOOL], &k_pool_c};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++)
            for (int threads = 1; threads <= 2; threads++) {
                const int *c = cases[i];
                ds_node n = pool_node(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
                int64_t xs[4] = {1, c[0], c[1], c[2]};
                op_check_result r =
                    op_check(&n, xs, NULL, 0, 0, 0, kernels[k], threads, (uint64_t)i);
                CHECK_MSG(r.nmse == 0 && r.guards_ok && r.finite,
                          "case %d kernel %d, %d threads: nmse %.3g guards %d finite %d", i, k,
                          threads, r.nmse, r.guards_ok, r.finite);
            }
}

/* A NaN wins every window it is in, as in PyTorch; -inf loses to nothing.
 * 10 channels: a vector of 8 and 2 more. */
TEST(maxpool_propagates_nan) {
    enum { C = 10 };
    ds_node n = pool_node(5, 5, C, 1, 1, 1, 1);
    float x[5 * 5 * C], y_ref[3 * 3 * C], y[3 * 3 * C];
    op_random(x, 5 * 5 * C, 9, 1.0f);
    x[(2 * 5 + 2) * C + 1] = NAN;       /* centre, channel 1 */
    x[(2 * 5 + 2) * C + 9] = NAN;       /* centre, channel 9 */
    x[(3 * 5 + 3) * C + 4] = NAN;       /* channel 4 */
    x[(0 * 5 + 0) * C + 0] = -INFINITY; /* corner, channel 0 */
    ds_tensor xt = {x, {1, 5, 5, C}}, yr = {y_ref, {1, 3, 3, C}}, yf = {y, {1, 3, 3, C}};
    ds_cpu_ctx ctx = {.n_threads = 2};
    ds_cpu_op op = {.node = &n, .x = &xt, .y = &yr, .ctx = &ctx};
    ds_ref_maxpool(&op);
    op.y = &yf;
    void (*runs[2])(const ds_cpu_op *) = {ds_fast_maxpool, ds_fast_maxpool_portable};
    for (int k = 0; k < 2; k++) {
        memset(y, 0, sizeof y);
        runs[k](&op);
        for (int i = 0; i < 3 * 3 * C; i++)
            CHECK_MSG(isnan(y[i]) == isnan(y_ref[i]) && (isnan(y[i]) || y[i] == y_ref[i]),
                      "kernel %d element %d: %g, reference %g", k, i, y[i], y_ref[i]);
        CHECK(isnan(y[(1 * 3 + 1) * C + 1]) && isnan(y[(1 * 3 + 1) * C + 9]) &&
              !isnan(y[(1 * 3 + 1) * C]));
    }
}

int main(void) {
    RUN(gemm_matches_reference);
    RUN(winograd_matches_reference);
    RUN(depthwise_matches_reference);
    RUN(grouped_matches_reference);
    RUN(fast_table_matches_reference);
    RUN(pack_holds_only_the_layout_that_runs);
    RUN(conv_without_scratch_or_packing_falls_back);
    RUN(conv_transpose_matches_reference);
    RUN(conv_transpose_general_matches_reference);
    RUN(maxpool_matches_reference);
    RUN(maxpool_propagates_nan);
    printf("  worst NMSE: gemm/transpose %.2e, winograd %.2e, direct %.2e, table %.2e\n",
           worst[KIND_GEMM], worst[KIND_WINO], worst[KIND_DIRECT], worst[KIND_AUTO]);
    return test_summary();
}
