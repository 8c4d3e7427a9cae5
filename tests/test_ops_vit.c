/*
 * test_ops_vit.c: the fast CPU kernels of cpu/fast/ against the reference
 * ones (attention: test_ops_attention.c) (tests/op_check.h) on odd shapes, with 1 and 2 threads, guard zones
 * and the in-place variants the planner may choose; and the AVX2 row
 * primitives (erf, exp, ...) against libm and the portable set.
 *
 * Limits: the worst NMSE of each family is printed; the limits below were
 * set at about 10x the worst value measured over 30 seeds (see each
 * comment), so that float32 rounding passes while a real error (a wrong
 * index: NMSE ~1; a lost key among 577: ~1e-6) fails.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/fast/fast.h"
#include "cpu/isa.h"             /* ds_cpu_isa_force */
#include "graph/builder.h"       /* ds_b_pos_embed_bicubic */
#include "src/io/npy.h"          /* ds_npy_read */
#include "tests/op_check.h"
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_fill */

static uint64_t seed = 1;
static double worst; /* largest NMSE of the running family, in place or not */

/* NULL when the fast kernel matches the reference within `limit` with 1 and 2
 * threads; otherwise what went wrong. */
static const char *check_op(const ds_node *n, const int64_t xs[4], const int64_t *rs, size_t wl,
                            size_t bl, float sw, double limit) {
    const size_t lens[4] = {wl, bl, 0, 0};
    return op_check_message(n, xs, rs, lens, sw, limit, &seed, &worst);
}

#define CHECK_OP(...)                                  \
    do {                                               \
        const char *fail_ = check_op(__VA_ARGS__);     \
        CHECK_MSG(!fail_, "%s", fail_);                \
    } while (0)

static void report(const char *family) { printf("    %-14s worst NMSE %.2e\n", family, worst); }

/* ---- LINEAR: sgemm + bias/residual/activation epilogue ---- */

/* worst measured over 30 seeds 5.0e-12: float32 sgemm against double sums,
 * largest with a single output (cout 1, one token) */
static const double LINEAR_LIMIT = 5e-11;

/* The cases, through whichever GEMM the active ISA runs. */
static void linear_cases(void) {
    static const int64_t tokens[] = {1, 2, 25, 97, 578};
    /* cin, cout: 300 outputs pass DS_SGEMM_NC (256) and end in a partial panel */
    static const int64_t io[][2] = {{1, 3}, {3, 1}, {17, 17}, {64, 96}, {768, 17}, {17, 768}, {40, 300}};
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_GELU, DS_ACT_RELU};
    for (size_t t = 0; t < sizeof tokens / sizeof *tokens; t++)
        for (size_t k = 0; k < sizeof io / sizeof *io; k++) {
            int64_t cin = io[k][0], cout = io[k][1];
            if (tokens[t] == 578 && cin * cout > 64 * 96)
                continue; /* the double reference is slow under ASan */
            for (int variant = 0; variant < 4; variant++) {
                ds_node n = op_node(DS_OP_LINEAR, 1, 1, tokens[t], cout);
                n.a.linear.act = acts[(t + k + (size_t)variant) % 3];
                n.w[0] = (ds_tensor_ref){.name = "w", .dtype = DS_F32, .ndim = 2, .shape = {cout, cin}};
                int residual = variant & 1, bias = !(variant & 2);
                n.in[1] = residual ? 1 : -1;
                int64_t xs[4] = {1, 1, tokens[t], cin};
                CHECK_OP(&n, xs, residual ? n.shape : NULL, (size_t)(cin * cout),
                         bias ? (size_t)cout : 0, 1.0f / sqrtf((float)cin), LINEAR_LIMIT);
            }
        }
    /* an (N, H, W, C) map: rows are every pixel of every item */
    ds_node n = op_node(DS_OP_LINEAR, 2, 3, 5, 7);
    n.a.linear.act = DS_ACT_GELU;
    int64_t xs[4] = {2, 3, 5, 34};
    CHECK_OP(&n, xs, NULL, 34 * 7, 7, 0.2f, LINEAR_LIMIT);
}

/* OpenBLAS (portable and AVX2 engines) and, where the CPU has it, the AVX-512 GEMM. */
static void linear_under(const char *isa) {
    worst = 0;
    linear_cases();
    printf("    %-7s", isa);
    report("linear");
}

TEST(linear_matches_reference) { op_each_isa("linear_matches_reference", linear_under); }

/* The readout's rows [patch token, class token] all end in the same half:
 * the fast kernel computes that half's product once. Also rows that differ
 * only in their last value, which must not take that path. */
static double readout_linear_nmse(int64_t T, int64_t C, int residual, int differ, int in_place,
                                  int threads) {
    ds_node n = op_node(DS_OP_LINEAR, 1, 1, T, C);
    n.a.linear.act = DS_ACT_GELU;
    n.in[1] = residual ? 1 : -1;
    size_t nx = (size_t)(T * 2 * C), ny = (size_t)(T * C);
    float *x = op_guarded_alloc(nx), *w = op_guarded_alloc((size_t)(2 * C * C));
    float *b = op_guarded_alloc((size_t)C), *r = op_guarded_alloc(ny);
    float *y_ref = op_guarded_alloc(ny), *y = in_place ? r : op_guarded_alloc(ny);
    op_random(x, nx, seed++, 1.0f);
    op_random(w, (size_t)(2 * C * C), seed++, 1.0f / sqrtf((float)(2 * C)));
    op_random(b, (size_t)C, seed++, 0.1f);
    op_random(r, ny, seed++, 1.0f);
    for (int64_t t = 1; t < T; t++)
        memcpy(x + t * 2 * C + C, x + C, (size_t)C * sizeof(float));
    if (differ)
        x[nx - 1] += 1.0f;
    size_t scratch = ds_cpu_fast_kernels[DS_OP_LINEAR].scratch_bytes(&n, threads);
    float *s = op_guarded_alloc(scratch / sizeof(float));
    ds_cpu_ctx ctx = {.n_threads = threads, .scratch = s, .scratch_bytes = scratch};
    ds_tensor tx = {x, {1, 1, T, 2 * C}}, tr = {r, {1, 1, T, C}};
    ds_tensor tref = {y_ref, {1, 1, T, C}}, ty = {y, {1, 1, T, C}};
    ds_cpu_op op = {.node = &n, .x = &tx, .r = residual ? &tr : NULL, .y = &tref, .w = w,
                    .b = b, .ctx = &ctx};
    ds_ref_linear(&op);
    op.y = &ty;
    ds_cpu_fast_kernels[DS_OP_LINEAR].run(&op);
    double e = op_nmse(y, y_ref, ny);
    int ok = op_guards_intact(y, ny) && op_guards_intact(s, scratch / sizeof(float));
    op_guarded_free(x);
    op_guarded_free(w);
    op_guarded_free(b);
    op_guarded_free(r);
    op_guarded_free(y_ref);
    if (!in_place)
        op_guarded_free(y);
    op_guarded_free(s);
    return ok ? e : INFINITY;
}

TEST(readout_linear_matches_reference) {
    static const int64_t grids[][2] = {{1, 17}, {2, 8}, {15, 17}, {97, 64}};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (int variant = 0; variant < 8; variant++) {
            int residual = variant & 1, differ = (variant >> 1) & 1, in_place = residual && variant >> 2;
            double e = readout_linear_nmse(grids[g][0], grids[g][1], residual, differ, in_place,
                                           1 + (variant & 1));
            if (e > worst)
                worst = e;
            CHECK_MSG(e <= LINEAR_LIMIT, "readout linear T=%lld C=%lld variant %d: NMSE %.3g",
                      (long long)grids[g][0], (long long)grids[g][1], variant, e);
        }
    report("readout");
}

/* ---- LAYERNORM, GROUPNORM ---- */

/* worst measured over 30 seeds 2.2e-14 (LayerNorm over 3 channels; GroupNorm 8.5e-15) */
static const double NORM_LIMIT = 3e-13;

TEST(layernorm_matches_reference) {
    static const int64_t rows[] = {1, 2, 97, 578};
    static const int64_t chans[] = {1, 3, 17, 768};
    worst = 0;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
            ds_node n = op_node(DS_OP_LAYERNORM, 1, 1, rows[r], chans[c]);
            n.a.norm.eps = 1e-6f;
            CHECK_OP(&n, n.shape, NULL, (size_t)chans[c], (size_t)chans[c], 1.0f, NORM_LIMIT);
        }
    report("layernorm");
}

TEST(groupnorm_matches_reference) {
    static const struct {
        int64_t n, h, w, c;
        int groups;
    } cases[] = {{1, 1, 1, 1, 1},   {1, 5, 7, 3, 1},   {1, 9, 11, 17, 1},  {1, 5, 7, 32, 32},
                 {2, 3, 5, 64, 32}, {1, 13, 9, 96, 32}, {1, 24, 24, 768, 32}};
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_RELU};
    worst = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int variant = 0; variant < 4; variant++) {
            ds_node n = op_node(DS_OP_GROUPNORM, cases[i].n, cases[i].h, cases[i].w, cases[i].c);
            n.a.norm.groups = cases[i].groups;
            n.a.norm.eps = 1e-5f;
            n.a.norm.act = acts[variant & 1];
            int residual = variant >> 1;
            n.in[1] = residual ? 1 : -1;
            CHECK_OP(&n, n.shape, residual ? n.shape : NULL, (size_t)cases[i].c,
                     (size_t)cases[i].c, 1.0f, NORM_LIMIT);
        }
    report("groupnorm");
}

/* ---- RESIZE, POS_EMBED: the reference's arithmetic, so exactly equal ---- */

TEST(resize_matches_reference) {
    static const int64_t sizes[][4] = {
        {3, 4, 6, 8},    /* up */
        {6, 8, 3, 4},    /* down */
        {5, 7, 1, 1},    /* to 1x1 */
        {1, 1, 5, 7},    /* from 1x1 */
        {7, 5, 13, 9},   /* odd, tall */
        {5, 9, 11, 19},  /* odd, wide */
        {12, 21, 24, 42} /* the 384x672 decoder's aspect */
    };
    static const int64_t chans[] = {1, 3, 17, 256};
    worst = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++)
            for (int ac = 0; ac < 2; ac++) {
                int64_t N = 1 + (int64_t)(c & 1);
                ds_node n = op_node(DS_OP_RESIZE, N, sizes[s][2], sizes[s][3], chans[c]);
                n.a.resize.align_corners = ac;
                int64_t xs[4] = {N, sizes[s][0], sizes[s][1], chans[c]};
                CHECK_OP(&n, xs, NULL, 0, 0, 1.0f, 0.0);
            }
    report("resize");
}

TEST(pos_embed_matches_reference) {
    static const int grids[][3] = {{24, 4, 6}, {24, 24, 24}, {24, 42, 24}, {24, 1, 1}, {3, 5, 2}};
    static const int64_t chans[] = {1, 17, 768};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
            int G = grids[g][0], gh = grids[g][1], gw = grids[g][2];
            ds_node n = op_node(DS_OP_POS_EMBED, 1, 1, 1 + (int64_t)gh * gw, chans[c]);
            n.in[0] = -1;
            n.a.pos.grid = G, n.a.pos.gh = gh, n.a.pos.gw = gw;
            int64_t xs[4] = {1, 1, 1, 1}; /* no input; op_check wants one */
            CHECK_OP(&n, xs, NULL, (size_t)(1 + G * G) * (size_t)chans[c], 0, 1.0f, 0.0);
        }
    report("pos_embed");
}

/* ---- token bookkeeping, ADD, ACT, copies: exact ---- */

TEST(tokens_match_reference) {
    static const int64_t chans[] = {1, 3, 17, 768};
    static const int grid[][2] = {{1, 1}, {3, 5}, {24, 24}};
    worst = 0;
    for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
        for (size_t g = 0; g < sizeof grid / sizeof *grid; g++) {
            int64_t T = (int64_t)grid[g][0] * grid[g][1];
            ds_node p = op_node(DS_OP_PREPEND_TOKEN, 1 + (int64_t)(g & 1), 1, T + 1, chans[c]);
            int64_t ps[4] = {p.shape[0], 1, T, chans[c]};
            CHECK_OP(&p, ps, NULL, (size_t)chans[c], 0, 1.0f, 0.0);
            ds_node r = op_node(DS_OP_READOUT_CAT, 1 + (int64_t)(g & 1), grid[g][0], grid[g][1],
                                  2 * chans[c]);
            int64_t rs[4] = {r.shape[0], 1, T + 1, chans[c]};
            CHECK_OP(&r, rs, NULL, 0, 0, 1.0f, 0.0);
        }
        ds_node cp = op_node(DS_OP_RESHAPE, 1, 1, 97, chans[c]);
        int64_t cs[4] = {1, 97, 1, chans[c]};
        CHECK_OP(&cp, cs, NULL, 0, 0, 1.0f, 0.0);
    }
    report("tokens");
}

/* worst measured over 30 seeds 3.4e-14: GELU of a single element, the vector
 * erf against erff where 1 + erf is small */
static const double ELEMENTWISE_LIMIT = 3e-13;

TEST(add_act_match_reference) {
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 1, 7, 3}, {2, 5, 9, 17}, {1, 48, 64, 33}};
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_RELU, DS_ACT_RELU6, DS_ACT_GELU, DS_ACT_HARDSWISH};
    worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
            const int64_t *sh = shapes[s];
            ds_node add = op_node(DS_OP_ADD, sh[0], sh[1], sh[2], sh[3]);
            add.in[1] = 1;
            add.a.act = acts[a];
            CHECK_OP(&add, sh, sh, 0, 0, 1.0f, ELEMENTWISE_LIMIT);
            ds_node act = op_node(DS_OP_ACT, sh[0], sh[1], sh[2], sh[3]);
            act.a.act = acts[a];
            CHECK_OP(&act, sh, NULL, 0, 0, 1.0f, ELEMENTWISE_LIMIT);
        }
    report("add/act");
}

/* ---- the row primitives ---- */

/* erf over [-6, 6] every 2^-16 and a few specials, against erff */
TEST(vector_erf_is_accurate) {
    const ds_vec_ops *v = ds_vec_avx2();
    if (!v) {
        printf("    no AVX2+FMA on this CPU: nothing to check\n");
        return;
    }
    enum { N = 12 * 65536 + 1 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    CHECK(x && y);
    for (int i = 0; i < N; i++)
        x[i] = -6.0f + (float)i * 0x1p-16f;
    v->erf(y, x, N);
    double max_err = 0, max_ulps = 0;
    for (int i = 0; i < N; i++) {
        double e = fabs((double)y[i] - erf((double)x[i]));
        double ulp = fabs(nextafterf(erff(x[i]), INFINITY) - erff(x[i]));
        if (e > max_err)
            max_err = e;
        if (e / ulp > max_ulps)
            max_ulps = e / ulp;
    }
    float special[5] = {0.0f, -0.0f, 1e-30f, INFINITY, -INFINITY}, out[5];
    v->erf(out, special, 5);
    float nan_in = NAN, nan_out;
    v->erf(&nan_out, &nan_in, 1);
    free(x);
    free(y);
    printf("    erf: max abs error %.2e (%.2f ulp) vs double erf\n", max_err, max_ulps);
    /* measured 6.9e-08 abs (1.2 ulp of erff); erff itself is within 1 ulp */
    CHECK_MSG(max_err < 1.2e-7, "erf abs error %.3g", max_err);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && signbit(out[1]));
    CHECK(fabsf(out[2] - 1.1283791e-30f) < 1e-36f);
    CHECK(out[3] == 1.0f && out[4] == -1.0f);
    CHECK(isnan(nan_out));
}

/* exp through exp_sum: with 0 the row's largest value, s[i] becomes exp(s[i]) */
TEST(vector_exp_is_accurate) {
    const ds_vec_ops *v = ds_vec_avx2();
    if (!v) {
        printf("    no AVX2+FMA on this CPU: nothing to check\n");
        return;
    }
    enum { N = 1 << 20, ROW = 1009 };
    float *s = malloc(N * sizeof *s);
    CHECK(s);
    s[0] = 0.0f;
    for (int i = 1; i < N; i++)
        s[i] = -87.0f * (float)i / (float)N;
    v->exp_sum(s, N);
    double max_rel = 0;
    for (int i = 1; i < N; i++) {
        double ref = exp((double)(-87.0f * (float)i / (float)N));
        double rel = fabs(s[i] - ref) / ref;
        if (rel > max_rel)
            max_rel = rel;
    }
    /* the sum of a softmax row as long as the 384x672 token count */
    op_random(s, ROW, seed++, 8.0f);
    double mx = -INFINITY, ref_sum = 0;
    for (int i = 0; i < ROW; i++)
        mx = s[i] > mx ? s[i] : mx;
    for (int i = 0; i < ROW; i++)
        ref_sum += exp((double)s[i] - mx);
    double sum_rel = fabs(v->exp_sum(s, ROW) - ref_sum) / ref_sum;
    free(s);
    printf("    exp: max relative error %.2e over [-87, 0]; a row's sum %.2e\n", max_rel, sum_rel);
    /* measured 8.1e-08 (0.7 ulp) and 5.1e-08 */
    CHECK_MSG(max_rel < 2e-7, "exp relative error %.3g", max_rel);
    CHECK_MSG(sum_rel < 1e-6, "sum relative error %.3g", sum_rel);
}

/* every AVX2 primitive against the portable one, on lengths around the vector width */
TEST(vector_primitives_match_portable) {
    const ds_vec_ops *v = ds_vec_avx2(), *c = ds_vec_portable();
    if (!v) {
        printf("    no AVX2+FMA on this CPU: nothing to check\n");
        return;
    }
    enum { MAX = 77 };
    float a[MAX + 8], b[MAX + 8], r[MAX + 8], y1[MAX + 8], y2[MAX + 8];
    for (size_t n = 1; n <= MAX; n += (n < 20 ? 1 : 19)) {
        op_random(a, MAX + 8, seed++, 3.0f);
        op_random(b, MAX + 8, seed++, 1.0f);
        op_random(r, MAX + 8, seed++, 1.0f);
        for (ds_act act = DS_ACT_NONE; act <= DS_ACT_GELU; act++) {
            memcpy(y1 + n, a + n, 8 * sizeof *a);
            memcpy(y2 + n, a + n, 8 * sizeof *a);
            v->add_act(y1, a, b, r, n, act);
            c->add_act(y2, a, b, r, n, act);
            /* the same adds; GELU's vector erf is within 1.2e-7 of erff's, times x/2 */
            for (size_t k = 0; k < n; k++) {
                float x = a[k] + b[k] + r[k];
                double tol = act == DS_ACT_GELU ? 1.2e-7 * fabsf(x) + 2 * FLT_EPSILON * fabsf(y2[k]) : 0;
                CHECK_MSG(fabs(y1[k] - y2[k]) <= tol, "add_act n=%zu act=%d: %.9g vs %.9g", n,
                          act, y1[k], y2[k]);
            }
            CHECK_MSG(!memcmp(y1 + n, a + n, 8 * sizeof *a), "add_act wrote past n=%zu", n);
            const float *res = act & 1 ? r : NULL;
            v->norm_apply(y1, a, res, b, r, b, n, act);
            c->norm_apply(y2, a, res, b, r, b, n, act);
            /* FMA or not rounds differently: compare each with the exact value,
             * within a few roundings of the largest term */
            for (size_t k = 0; k < n; k++) {
                double t = ((double)a[k] - b[k]) * r[k], want = t + b[k] + (res ? res[k] : 0);
                double tol = 8 * FLT_EPSILON * (fabs(t) + fabs(b[k]) + (res ? fabs(res[k]) : 0));
                want = ds_apply_act(act, (float)want);
                CHECK_MSG(fabs(y1[k] - want) <= tol && fabs(y2[k] - want) <= tol,
                          "norm_apply n=%zu act=%d: %g, %g, want %g", n, act, y1[k], y2[k], want);
            }
        }
        memcpy(y1, a, sizeof a);
        memcpy(y2, a, sizeof a);
        float s1 = v->exp_sum(y1, n), s2 = c->exp_sum(y2, n);
        CHECK_MSG(fabsf(s1 - s2) <= 1e-6f * s2 && op_nmse(y1, y2, n) < ELEMENTWISE_LIMIT &&
                      y1[n] == a[n],
                  "exp_sum n=%zu", n);
        v->layernorm(y1, a, b, r, n, 1e-6f);
        c->layernorm(y2, a, b, r, n, 1e-6f);
        CHECK_MSG(op_nmse(y1, y2, n) < NORM_LIMIT, "layernorm n=%zu", n);
        v->bilinear(y1, a, b, r, a + 1, 0.25f, 0.625f, n);
        c->bilinear(y2, a, b, r, a + 1, 0.25f, 0.625f, n);
        CHECK_MSG(!memcmp(y1, y2, n * sizeof *y1), "bilinear n=%zu", n);
        for (size_t pixels = 1; pixels <= 2; pixels++) {
            double s1[MAX] = {0}, s2[MAX] = {0}, q1[MAX] = {0}, q2[MAX] = {0};
            size_t ch = n / pixels;
            v->chan_stats(s1, q1, a, pixels, ch);
            c->chan_stats(s2, q2, a, pixels, ch);
            for (size_t k = 0; k < ch; k++)
                CHECK_MSG(fabs(s1[k] - s2[k]) <= 1e-12 * fabs(s2[k]) &&
                              fabs(q1[k] - q2[k]) <= 1e-12 * q2[k],
                          "chan_stats n=%zu", n);
        }
    }
}

/* The same kernels on their portable paths (what a CPU without AVX2 runs). */
#define PORTABLE(name)                 \
    TEST(name##_portable) {            \
        ds_vec_force_portable(1);      \
        name();                        \
        ds_vec_force_portable(0);      \
    }
PORTABLE(linear_matches_reference)
PORTABLE(readout_linear_matches_reference)
PORTABLE(layernorm_matches_reference)
PORTABLE(groupnorm_matches_reference)
PORTABLE(resize_matches_reference)
PORTABLE(add_act_match_reference)

/* ---- Depth Anything V2: DINOv2's bicubic position embedding, the class
 * token dropped, the metric head's Sigmoid and scale ----
 *
 * The reference position embedding, built as the builder builds it, against
 * what the official interpolate_pos_encoding returned (tests/data/dinov2/,
 * tests/fixtures/make_pos_embed.py) at grids 1x1, 5x7, 37x37 (returned as
 * stored), 40x37, 37x49 and 2x74. */

enum { GRID = 37, DIM = 384, CH = 8 }; /* depth_anything_v2_vits; the fixtures keep 8 channels */

/* The builder's POS_EMBED_BICUBIC node for a gh x gw grid (Depth Anything V2's offset 0.1). */
static ds_status no_weights(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)ctx, (void)d, (void)w, (void)b;
    return DS_OK;
}

static ds_node builder_node(int grid, int gh, int gw, int channels) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    ds_builder b;
    ds_builder_init(&b, &g, &binder);
    ds_val v = ds_b_pos_embed_bicubic(&b, "pos_embed", grid, channels, gh, gw, 0.1);
    ds_node n;
    memset(&n, 0, sizeof n);
    if (v >= 0)
        n = g.nodes[v];
    n.name = "pos_embed";
    ds_graph_free(&g);
    return n;
}

TEST(pos_embed_matches_official_interpolation) {
    static const int grids[][2] = {{1, 1}, {5, 7}, {37, 37}, {40, 37}, {37, 49}, {2, 74}};
    const int64_t shape[3] = {1, 1 + GRID * GRID, DIM};
    static float full[(1 + GRID * GRID) * DIM], w[(1 + GRID * GRID) * CH];
    ds_synth_fill("pretrained.pos_embed", 3, shape, full);
    for (int t = 0; t < 1 + GRID * GRID; t++)
        memcpy(w + t * CH, full + t * DIM, CH * sizeof(float));
    for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++) {
        const int gh = grids[i][0], gw = grids[i][1];
        char path[128];
        snprintf(path, sizeof path, "tests/data/dinov2/pos_embed_%dx%d.npy", gh, gw);
        ds_npy want;
        CHECK_OK(ds_npy_read(path, &want));
        const size_t n = (size_t)(1 + gh * gw) * CH;
        CHECK_MSG((size_t)ds_npy_numel(&want) == n, "%s: %lld values", path, (long long)ds_npy_numel(&want));
        ds_node node = builder_node(GRID, gh, gw, CH);
        CHECK(node.op == DS_OP_POS_EMBED_BICUBIC && node.shape[2] == 1 + gh * gw);
        float *y = op_guarded_alloc(n);
        ds_tensor ty = {y, {1, 1, 1 + gh * gw, CH}};
        ds_cpu_op op = {.node = &node, .y = &ty, .w = w};
        ds_cpu_ref_kernels[DS_OP_POS_EMBED_BICUBIC].run(&op);
        const double e = op_rel_l2(y, want.data, n);
        const int same = memcmp(y, want.data, n * sizeof(float)) == 0;
        printf("    %2dx%-2d rel L2 %.2e%s\n", gh, gw, e, same ? " (bit for bit)" : "");
        int guards = op_guards_intact(y, n);
        op_guarded_free(y);
        ds_npy_free(&want);
        CHECK_MSG(guards, "%dx%d: a write outside the output", gh, gw);
        /* float32 PyTorch against double sums: ~3e-7; a wrong coordinate scale (37/g) gives 0.8 */
        CHECK_MSG(e <= 1e-6, "%dx%d: relative L2 %.3g", gh, gw, e);
        /* the square trained grid is returned as stored */
        CHECK_MSG(!(gh == GRID && gw == GRID) || same, "37x37 is not the stored embedding");
    }
}

/* measured 1.8e-14 (16 float products against double sums); a wrong tap
 * or weight is ~1e-2 */
static const double POS_LIMIT = 1e-13;

TEST(pos_embed_fast_matches_reference) {
    static const int grids[][3] = {{37, 1, 1}, {37, 5, 7}, {37, 37, 37}, {37, 40, 37}, {37, 74, 50},
                                   {3, 5, 2},  {4, 1, 9},  {2, 2, 2}};
    static const int64_t chans[] = {1, 17, 384};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
            const int G = grids[g][0], gh = grids[g][1], gw = grids[g][2];
            ds_node n = builder_node(G, gh, gw, (int)chans[c]);
            n.in[0] = -1;
            const int64_t xs[4] = {1, 1, 1, 1}; /* no input; op_check wants one */
            CHECK_OP(&n, xs, NULL, (size_t)(1 + G * G) * (size_t)chans[c], 0, 1.0f, POS_LIMIT);
        }
    report("pos_embed_bicubic");
}

/* DROP_TOKEN and SCALE (Depth Anything V2): copies and one product, exact */
TEST(drop_token_and_scale_match_reference) {
    static const int grids[][2] = {{1, 1}, {3, 5}, {37, 49}};
    static const int64_t chans[] = {1, 17, 384};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
            const int64_t N = 1 + (int64_t)(c & 1), T = (int64_t)grids[g][0] * grids[g][1];
            ds_node d = op_node(DS_OP_DROP_TOKEN, N, grids[g][0], grids[g][1], chans[c]);
            const int64_t ds[4] = {N, 1, T + 1, chans[c]};
            CHECK_OP(&d, ds, NULL, 0, 0, 1.0f, 0.0);
            ds_node s = op_node(DS_OP_SCALE, N, grids[g][0], grids[g][1], chans[c]);
            s.a.scale = 80.0f;
            const int64_t ss[4] = {N, grids[g][0], grids[g][1], chans[c]};
            CHECK_OP(&s, ss, NULL, 0, 0, 1.0f, 0.0);
        }
    CHECK(worst == 0.0);
}

/* the metric head's Sigmoid, AVX2 and portable: the same scalar function */
TEST(sigmoid_matches_reference) {
    static const int64_t sizes[][4] = {{1, 1, 1, 1}, {1, 7, 13, 3}, {2, 5, 3, 17}, {1, 518, 700, 1}};
    for (int portable = 0; portable <= 1; portable++) {
        ds_vec_force_portable(portable);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            ds_node n = op_node(DS_OP_ACT, sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
            n.a.act = DS_ACT_SIGMOID;
            CHECK_OP(&n, sizes[i], NULL, 0, 0, 1.0f, 0.0);
        }
    }
    ds_vec_force_portable(0);
    /* the ends: saturated, and NaN passes through */
    CHECK(ds_apply_act(DS_ACT_SIGMOID, -200.0f) == 0.0f && ds_apply_act(DS_ACT_SIGMOID, 200.0f) == 1.0f);
    CHECK(ds_apply_act(DS_ACT_SIGMOID, 0.0f) == 0.5f && isnan(ds_apply_act(DS_ACT_SIGMOID, NAN)));
}

int main(void) {
    RUN(linear_matches_reference);
    RUN(readout_linear_matches_reference);
    RUN(layernorm_matches_reference);
    RUN(groupnorm_matches_reference);
    RUN(resize_matches_reference);
    RUN(pos_embed_matches_reference);
    RUN(pos_embed_matches_official_interpolation);
    RUN(pos_embed_fast_matches_reference);
    RUN(drop_token_and_scale_match_reference);
    RUN(sigmoid_matches_reference);
    RUN(tokens_match_reference);
    RUN(add_act_match_reference);
    RUN(vector_erf_is_accurate);
    RUN(vector_exp_is_accurate);
    RUN(vector_primitives_match_portable);
    RUN(linear_matches_reference_portable);
    RUN(readout_linear_matches_reference_portable);
    RUN(layernorm_matches_reference_portable);
    RUN(groupnorm_matches_reference_portable);
    RUN(resize_matches_reference_portable);
    RUN(add_act_match_reference_portable);
    return test_summary();
}
