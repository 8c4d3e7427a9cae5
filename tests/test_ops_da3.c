/*
 * test_ops_da3.c: Depth Anything 3's ops, fast CPU kernels against the
 * reference ones (tests/op_check.h: 1 and 2 threads, guard zones, in place)
 * on odd grids: QK-norm + RoPE (DS_OP_QK_ROPE: local and global positions,
 * with and without the norm, 1 and 6 heads, head_dim 64 and 8, patch grids
 * 1x1, 5x7, 37x37, portrait 9x4, one and two items), the copies CONCAT,
 * SET_TOKEN, SLICE, CONSTANT, and the exp / exp + 1 activations; and the
 * reference RoPE against rotations worked out by hand.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu/fast/fast.h"
#include "graph/rope.h" /* ds_rope_angle */
#include "tests/op_check.h"
#include "tests/test.h"

static uint64_t seed = 7;
static double worst;

static const char *check_slots(const ds_node *n, const int64_t xs[4], const int64_t *rs, const size_t lens[4],
                               double limit) {
    return op_check_message(n, xs, rs, lens, 1.0f, limit, &seed, &worst);
}

#define CHECK_SLOTS(...)                               \
    do {                                               \
        const char *fail_ = check_slots(__VA_ARGS__);  \
        CHECK_MSG(!fail_, "%s", fail_);                \
    } while (0)

/* float32 rotations and LayerNorm against double: measured worst 3.9e-15
 * over these shapes; a swapped pair or position is ~1 */
static const double ROPE_LIMIT = 5e-14;

TEST(qk_rope_fast_matches_reference) {
    static const int grids[][2] = {{1, 1}, {5, 7}, {37, 37}, {9, 4}, {2, 13}};
    static const int heads_dims[][2] = {{6, 64}, {1, 64}, {3, 8}};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t h = 0; h < sizeof heads_dims / sizeof *heads_dims; h++)
            for (int mode = 0; mode < 4; mode++) { /* bit 0: global (flat), bit 1: QK-norm */
                const int heads = heads_dims[h][0], hd = heads_dims[h][1];
                const int64_t N = 1 + (g + h) % 2, T = 1 + (int64_t)grids[g][0] * grids[g][1], C = heads * hd;
                ds_node n = op_node(DS_OP_QK_ROPE, N, 1, T, 3 * C);
                n.a.rope = (ds_rope_attr){.heads = heads, .gh = grids[g][0], .gw = grids[g][1],
                                          .flat = mode & 1, .base = 100.0f, .eps = 1e-5f};
                const size_t norm = mode & 2 ? (size_t)hd : 0, lens[4] = {norm, norm, norm, norm};
                const int64_t xs[4] = {N, 1, T, 3 * C};
                CHECK_SLOTS(&n, xs, NULL, lens, ROPE_LIMIT);
            }
    printf("    qk_rope        worst NMSE %.2e\n", worst);
}

/* One head of 8 (pairs (0,2), (1,3) per half), no norm: q = e0 + e4 rotates
 * to (cos r, 0, sin r, 0 | cos c, 0, sin c, 0) at position (r, c); k the
 * same; v untouched. */
TEST(qk_rope_reference_rotates_by_position) {
    enum { GH = 2, GW = 3, T = 1 + GH * GW, C = 8 };
    float x[T * 3 * C], y[T * 3 * C];
    for (int t = 0; t < T; t++)
        for (int c = 0; c < 3 * C; c++)
            x[t * 3 * C + c] = c % C == 0 || c % C == 4 ? 1.0f : (c >= 2 * C ? 0.5f : 0.0f);
    for (int flat = 0; flat <= 1; flat++) {
        ds_node n = op_node(DS_OP_QK_ROPE, 1, 1, T, 3 * C);
        n.a.rope = (ds_rope_attr){.heads = 1, .gh = GH, .gw = GW, .flat = flat, .base = 100.0f};
        ds_tensor xt = {x, {1, 1, T, 3 * C}}, yt = {y, {1, 1, T, 3 * C}};
        ds_cpu_ctx ctx = {.n_threads = 1};
        ds_cpu_op op = {.node = &n, .x = &xt, .y = &yt, .ctx = &ctx};
        ds_ref_qk_rope(&op);
        for (int t = 0; t < T; t++) {
            const int r = t == 0 ? 0 : (flat ? 1 : (t - 1) / GW + 1), c = t == 0 ? 0 : (flat ? 1 : (t - 1) % GW + 1);
            for (int part = 0; part < 2; part++) {
                const float *v = y + t * 3 * C + part * C;
                const float want[C] = {cosf((float)r), 0, sinf((float)r), 0, cosf((float)c), 0, sinf((float)c), 0};
                for (int k = 0; k < C; k++)
                    CHECK_MSG(fabsf(v[k] - want[k]) < 1e-6f, "token %d part %d [%d] = %g, want %g (flat %d)", t,
                              part, k, (double)v[k], (double)want[k], flat);
            }
            CHECK(!memcmp(y + t * 3 * C + 2 * C, x + t * 3 * C + 2 * C, C * sizeof(float)));
        }
    }
    /* pair 1's frequency: 100^(-2/4) = 0.1 */
    CHECK(fabsf(ds_rope_angle(100.0f, 2, 1, 3) - 0.3f) < 1e-7f);
}

/* CONCAT, SET_TOKEN, SLICE, CONSTANT: copies, exact */
TEST(token_copies_match_reference) {
    /* the last: a one-channel slice of 9001 rows, several tasks of 4096 and a tail */
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 36, 384}, {2, 5, 7}, {1, 1370, 17}, {2, 9001, 2}};
    static const size_t none[4] = {0, 0, 0, 0};
    worst = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int64_t N = shapes[i][0], T = shapes[i][1], C = shapes[i][2];
        const int64_t xs[4] = {N, 1, T, C}, rs[4] = {N, 1, T, C + 3};
        ds_node cat = op_node(DS_OP_CONCAT, N, 1, T, 2 * C + 3);
        cat.in[1] = 1;
        CHECK_SLOTS(&cat, xs, rs, none, 0.0);
        ds_node set = op_node(DS_OP_SET_TOKEN, N, 1, T, C);
        const size_t tok[4] = {(size_t)(2 * C), 0, 0, 0};
        CHECK_SLOTS(&set, xs, NULL, tok, 0.0);
        ds_node sl = op_node(DS_OP_SLICE, N, 1, (T + 1) / 2, C > 2 ? C - 2 : 1);
        sl.a.slice = (ds_slice_attr){.w0 = (int)(T / 2), .c0 = C > 2 ? 1 : 0};
        CHECK_SLOTS(&sl, xs, NULL, none, 0.0);
        ds_node k = op_node(DS_OP_CONSTANT, 1, T, 2, C);
        k.in[0] = -1;
        const size_t kl[4] = {(size_t)(T * 2 * C), 0, 0, 0};
        const int64_t one[4] = {1, 1, 1, 1};
        CHECK_SLOTS(&k, one, NULL, kl, 0.0);
    }
    CHECK(worst == 0.0);
}

/* exp and exp + 1, AVX2 and portable: the scalar function lane by lane */
TEST(exp_activations_match_reference) {
    static const int64_t sizes[][4] = {{1, 1, 1, 1}, {1, 7, 13, 3}, {2, 5, 3, 17}, {1, 378, 504, 1}};
    static const size_t none[4] = {0, 0, 0, 0};
    for (int portable = 0; portable <= 1; portable++) {
        ds_vec_force_portable(portable);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (int a = 0; a < 2; a++) {
                ds_node n = op_node(DS_OP_ACT, sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
                n.a.act = a ? DS_ACT_EXP1 : DS_ACT_EXP;
                CHECK_SLOTS(&n, sizes[i], NULL, none, 0.0);
            }
    }
    ds_vec_force_portable(0);
    CHECK(ds_apply_act(DS_ACT_EXP, 0.0f) == 1.0f && ds_apply_act(DS_ACT_EXP1, 0.0f) == 2.0f);
    CHECK(ds_apply_act(DS_ACT_EXP, -200.0f) == 0.0f && isinf(ds_apply_act(DS_ACT_EXP, 200.0f)));
    CHECK(isnan(ds_apply_act(DS_ACT_EXP, NAN)) && isnan(ds_apply_act(DS_ACT_EXP1, NAN)));
}

int main(void) {
    RUN(qk_rope_fast_matches_reference);
    RUN(qk_rope_reference_rotates_by_position);
    RUN(token_copies_match_reference);
    RUN(exp_activations_match_reference);
    return test_summary();
}
