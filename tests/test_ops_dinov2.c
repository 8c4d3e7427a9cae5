/*
 * test_ops_dinov2.c: the ops Depth Anything V2 added (DINOv2's bicubic
 * position embedding, the class token dropped, the scale and Sigmoid of the
 * metric head):
 *  - the reference position embedding, built as the builder builds it,
 *    against what the official interpolate_pos_encoding returned
 *    (tests/data/dinov2/, tests/fixtures/make_pos_embed.py) at grids 1x1,
 *    5x7, 37x37 (returned as stored), 40x37, 37x49 and 2x74;
 *  - each fast CPU kernel against its reference (tests/op_check.h) on odd
 *    shapes, 1 and 2 threads, guard zones, in place where the planner may.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu/fast/fast.h"   /* ds_cpu_fast_kernels, ds_vec_force_portable */
#include "graph/builder.h"   /* ds_b_pos_embed_bicubic */
#include "src/io/npy.h"      /* ds_npy_read */
#include "tests/op_check.h"  /* op_check, op_rel_l2 */
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_fill */

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

static uint64_t seed = 1;
static double worst;

static ds_node make_node(ds_op op, int64_t n, int64_t h, int64_t w, int64_t c) {
    ds_node node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.name = ds_op_name(op);
    node.in[0] = 0;
    node.in[1] = -1;
    node.shape[0] = n, node.shape[1] = h, node.shape[2] = w, node.shape[3] = c;
    return node;
}

/* The fast kernel of n within `limit` of the reference, 1 and 2 threads. */
static const char *check_op(const ds_node *n, const int64_t xs[4], size_t wl, double limit) {
    static char msg[256];
    for (int threads = 1; threads <= 2; threads++) {
        op_check_result r = op_check(n, xs, NULL, wl, 0, 1.0f, &ds_cpu_fast_kernels[n->op], threads, seed++);
        const double e = r.nmse > r.nmse_inplace ? r.nmse : r.nmse_inplace;
        worst = e > worst ? e : worst;
        const char *what = !r.guards_ok ? "wrote outside its output"
                           : !r.finite ? "produced a NaN or Inf"
                           : !(r.nmse <= limit) ? "differs from the reference"
                           : !(r.nmse_inplace <= limit) ? "differs in place"
                                                        : NULL;
        if (what) {
            snprintf(msg, sizeof msg, "%s %lldx%lldx%lldx%lld, %d thread(s): %s (NMSE %.3g, in place %.3g)",
                     n->name, (long long)n->shape[0], (long long)n->shape[1], (long long)n->shape[2],
                     (long long)n->shape[3], threads, what, r.nmse, r.nmse_inplace);
            return msg;
        }
    }
    return NULL;
}

#define CHECK_OP(...)                              \
    do {                                           \
        const char *fail_ = check_op(__VA_ARGS__); \
        CHECK_MSG(!fail_, "%s", fail_);            \
    } while (0)

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
            CHECK_OP(&n, xs, (size_t)(1 + G * G) * (size_t)chans[c], POS_LIMIT);
        }
    printf("    pos_embed_bicubic worst NMSE %.2e\n", worst);
}

TEST(drop_token_and_scale_match_reference) {
    static const int grids[][2] = {{1, 1}, {3, 5}, {37, 49}};
    static const int64_t chans[] = {1, 17, 384};
    worst = 0;
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t c = 0; c < sizeof chans / sizeof *chans; c++) {
            const int64_t N = 1 + (int64_t)(c & 1), T = (int64_t)grids[g][0] * grids[g][1];
            ds_node d = make_node(DS_OP_DROP_TOKEN, N, grids[g][0], grids[g][1], chans[c]);
            const int64_t ds[4] = {N, 1, T + 1, chans[c]};
            CHECK_OP(&d, ds, 0, 0.0);
            ds_node s = make_node(DS_OP_SCALE, N, grids[g][0], grids[g][1], chans[c]);
            s.a.scale = 80.0f;
            const int64_t ss[4] = {N, grids[g][0], grids[g][1], chans[c]};
            CHECK_OP(&s, ss, 0, 0.0);
        }
    CHECK(worst == 0.0);
}

TEST(sigmoid_matches_reference) {
    static const int64_t sizes[][4] = {{1, 1, 1, 1}, {1, 7, 13, 3}, {2, 5, 3, 17}, {1, 518, 700, 1}};
    for (int portable = 0; portable <= 1; portable++) {
        ds_vec_force_portable(portable);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            ds_node n = make_node(DS_OP_ACT, sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
            n.a.act = DS_ACT_SIGMOID;
            CHECK_OP(&n, sizes[i], 0, 0.0);
        }
    }
    ds_vec_force_portable(0);
    /* the ends: saturated, and NaN passes through */
    CHECK(ds_apply_act(DS_ACT_SIGMOID, -200.0f) == 0.0f && ds_apply_act(DS_ACT_SIGMOID, 200.0f) == 1.0f);
    CHECK(ds_apply_act(DS_ACT_SIGMOID, 0.0f) == 0.5f && isnan(ds_apply_act(DS_ACT_SIGMOID, NAN)));
}

int main(void) {
    RUN(pos_embed_matches_official_interpolation);
    RUN(pos_embed_fast_matches_reference);
    RUN(drop_token_and_scale_match_reference);
    RUN(sigmoid_matches_reference);
    return test_summary();
}
