/*
 * test_ops_window.c: Swin's ops on the CPU, fast against reference
 * (tests/op_check.h), with 1 and 2 threads, guard zones: window attention
 * (partition, shift and its mask, the bias table, cosine attention and the
 * head scales, each on and off) on windows that do not divide the map, one
 * window, windows larger than the map, heads of 1, odd head sizes; patch
 * merging on odd sizes. And the geometry itself: the reference op on a case
 * small enough to write out by hand.
 *
 * Limits: the worst NMSE is printed; 1e-12 for window attention, about 10x
 * the worst measured (a wrong index or a lost key gives 1e-6 or more).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/fast/fast.h"
#include "tests/op_check.h"
#include "tests/test.h"

static uint64_t seed = 1;
static double worst;

/* worst measured over 30 seeds: 8.1e-14 */
static const double WINDOW_LIMIT = 1e-12;

typedef struct win_case {
    int n, h, w, heads, hd;
    int win_h, win_w, shift_h, shift_w;
    bool cosine, table, labels, head_scale;
} win_case;

static ds_node window_node(const win_case *c) {
    ds_node node = op_node(DS_OP_WINDOW_ATTENTION, c->n, c->h, c->w, (int64_t)c->heads * c->hd);
    node.a.win = (ds_window_attr){.heads = c->heads, .win_h = c->win_h, .win_w = c->win_w,
                                  .shift_h = c->shift_h, .shift_w = c->shift_w,
                                  .scale = 1.0f / sqrtf((float)c->hd), .cosine = c->cosine};
    return node;
}

/* Region labels 0..2 at random (a real mask has three bands per axis). */
static void random_labels(float *labels, size_t n, uint64_t s) {
    op_random(labels, n, s, 1.0f);
    for (size_t i = 0; i < n; i++)
        labels[i] = floorf((labels[i] + 1.0f) * 1.5f);
}

/* NULL when fast matches reference; otherwise what went wrong. */
static const char *check_window(const win_case *c) {
    static char msg[320];
    ds_node node = window_node(c);
    const size_t nt = (size_t)c->heads * (2 * c->win_h - 1) * (2 * c->win_w - 1), nl = (size_t)c->h * c->w;
    float *table = malloc(nt * sizeof *table), *labels = malloc(nl * sizeof *labels);
    float *scale = malloc((size_t)c->heads * sizeof *scale);
    op_random(table, nt, seed, 4.0f);
    random_labels(labels, nl, seed + 1);
    op_random(scale, (size_t)c->heads, seed + 2, 0.8f);
    for (int h = 0; h < c->heads; h++)
        scale[h] = expf(scale[h] + 0.6f); /* e^-0.2 .. e^1.4 */
    const int64_t xs[4] = {c->n, c->h, c->w, 3 * node.shape[3]};
    const char *what = NULL;
    for (int threads = 1; threads <= 2 && !what; threads++) {
        const float *const w[4] = {c->table ? table : NULL, c->labels ? labels : NULL, c->head_scale ? scale : NULL,
                                   NULL};
        op_check_result r = op_check_given(&node, xs, NULL, w, &ds_cpu_fast_kernels[DS_OP_WINDOW_ATTENTION], threads,
                                           seed++);
        if (r.nmse > worst)
            worst = r.nmse;
        what = !r.guards_ok ? "wrote outside its output"
               : !r.finite  ? "produced a NaN or Inf"
               : !(r.nmse <= WINDOW_LIMIT) ? "differs from the reference"
                                           : NULL;
        if (what)
            snprintf(msg, sizeof msg,
                     "%dx%dx%d, %d heads of %d, window %dx%d shift %d,%d, cosine %d table %d labels %d "
                     "scales %d, %d thread(s): %s (NMSE %.3g)",
                     c->n, c->h, c->w, c->heads, c->hd, c->win_h, c->win_w, c->shift_h, c->shift_w, c->cosine,
                     c->table, c->labels, c->head_scale, threads, what, r.nmse);
    }
    free(table);
    free(labels);
    free(scale);
    return what ? msg : NULL;
}

static void window_cases(const char *isa) {
    static const win_case cases[] = {
        /* a Swin v2 stage in small: 2x2 windows, shifted, everything on */
        {1, 8, 8, 3, 4, 4, 4, 2, 2, true, true, true, true},
        /* windows that do not divide (7 = 3 + 3 + 1, 5 = 3 + 2), two items, a head of 1 */
        {2, 7, 5, 1, 6, 3, 3, 1, 1, false, true, true, false},
        /* one window over the whole map, unshifted: Swin's last stages */
        {1, 5, 11, 2, 5, 5, 11, 0, 0, true, true, false, false},
        /* non-square windows and shifts, odd head size, no table */
        {1, 13, 3, 1, 35, 4, 2, 3, 1, true, false, true, true},
        /* a window larger than the map */
        {1, 5, 6, 2, 3, 8, 8, 0, 0, false, true, false, false},
        {1, 1, 1, 1, 1, 1, 1, 0, 0, true, true, false, true},
        /* windows of 144 and 256 tokens: several blocks of 64 queries */
        {1, 24, 24, 2, 32, 12, 12, 6, 6, true, true, true, true},
        {1, 16, 16, 1, 32, 16, 16, 0, 0, false, true, false, false},
        /* the plain attention of Swin v1 with a shift, no head scales */
        {1, 12, 12, 3, 8, 6, 6, 3, 3, false, true, true, false},
    };
    worst = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *fail = check_window(&cases[i]);
        CHECK_MSG(!fail, "%s", fail);
    }
    printf("    %-7s window attention worst NMSE %.2e\n", isa, worst);
}

/* OpenBLAS's sgemm (AVX2 engines) and ours (AVX-512 ones). */
TEST(window_attention_matches_reference) { op_each_isa("window_attention_matches_reference", window_cases); }

/* The reference's geometry, written out: a 2x4 map, 2x2 windows rolled by
 * (0, 1), one head of dimension 1, q = 0 so that every logit is its bias. */
TEST(window_geometry_by_hand) {
    ds_node node = window_node(&(win_case){1, 2, 4, 1, 1, 2, 2, 0, 1, false, true, true, false});
    float qkv[8 * 3], y[8], labels[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    float table[9] = {0}; /* (3, 3): dy, dx in -1..1 */
    for (int p = 0; p < 8; p++)
        qkv[p * 3] = 0.0f, qkv[p * 3 + 1] = 0.0f, qkv[p * 3 + 2] = (float)p; /* v = the position */
    for (int dy = 0; dy < 3; dy++)
        table[dy * 3 + 2] = logf(3.0f); /* dx = +1 (the key left of the query): three times the weight */
    ds_tensor x = {qkv, {1, 2, 4, 3}}, out = {y, {1, 2, 4, 1}};
    double scratch[4];
    ds_cpu_ctx ctx = {.n_threads = 1, .scratch = (float *)scratch, .scratch_bytes = sizeof scratch};
    ds_cpu_op op = {.node = &node, .x = &x, .y = &out, .w = table, .b = labels, .ctx = &ctx};
    ds_ref_window_attention(&op);
    /* rolled column c holds map column (c + 1) % 4: window 0 = map columns 1, 2, window 1 = 3, 0.
     * In window 1 the labels (rolled columns 2, 3 -> 1, 1) agree; in window 0 (rolled 0, 1 -> 0, 0) too.
     * Map (0, 2) is window 0's (0, 1); its keys (0, 0), (0, 1), (1, 0), (1, 1) are map positions
     * 1, 2, 5, 6 (the values) at dx = 1, 0, 1, 0: weights 3, 1, 3, 1. */
    const float want = (3 * 1 + 1 * 2 + 3 * 5 + 1 * 6) / 8.0f;
    CHECK_MSG(fabsf(y[2] - want) < 1e-6f, "map (0, 2): %g, want %g", y[2], want);
    /* the mask: labels differing inside a window take -100 */
    labels[1] = 5; /* rolled (0, 1) = map (0, 2) */
    ds_ref_window_attention(&op);
    /* map (0, 1), window 0's (0, 0): keys at dx = 0, -1 (masked now), 0, -1: values 1, 5, 6 equally */
    const float want2 = (1 + 5 + 6) / 3.0f;
    CHECK_MSG(fabsf(y[1] - want2) < 1e-5f, "map (0, 1) masked: %g, want %g", y[1], want2);
}

/* worst measured: 0 (copies) */
TEST(patch_merge_matches_reference) {
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 5, 7, 3}, {1, 4, 6, 8}, {1, 3, 1, 5}, {1, 96, 96, 2}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int64_t *s = shapes[i];
        ds_node node = op_node(DS_OP_PATCH_MERGE, s[0], (s[1] + 1) / 2, (s[2] + 1) / 2, 4 * s[3]);
        for (int threads = 1; threads <= 2; threads++) {
            const float *const none[4] = {NULL, NULL, NULL, NULL};
            op_check_result r = op_check_given(&node, s, NULL, none, &ds_cpu_fast_kernels[DS_OP_PATCH_MERGE], threads,
                                               seed++);
            CHECK_MSG(r.guards_ok && r.nmse == 0.0, "patch_merge %lldx%lldx%lldx%lld: NMSE %g, guards %d",
                      (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], r.nmse, r.guards_ok);
        }
    }
    /* the order of the four blocks: (0,0), (1,0), (0,1), (1,1) as (row, col) */
    ds_node node = op_node(DS_OP_PATCH_MERGE, 1, 1, 1, 4);
    float in[4] = {10, 11, 20, 21}, out[4]; /* (2, 2, 1): row-major */
    ds_tensor x = {in, {1, 2, 2, 1}}, y = {out, {1, 1, 1, 4}};
    ds_cpu_op op = {.node = &node, .x = &x, .y = &y};
    ds_ref_patch_merge(&op);
    CHECK(out[0] == 10 && out[1] == 20 && out[2] == 11 && out[3] == 21);
}

/* The same on the portable vector primitives (a CPU without AVX2). */
TEST(window_attention_matches_reference_portable) {
    ds_vec_force_portable(1);
    window_attention_matches_reference();
    ds_vec_force_portable(0);
}

int main(void) {
    RUN(window_attention_matches_reference);
    RUN(window_attention_matches_reference_portable);
    RUN(window_geometry_by_hand);
    RUN(patch_merge_matches_reference);
    return test_summary();
}
