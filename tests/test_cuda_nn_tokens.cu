/*
 * test_cuda_nn_tokens.cu: the kernels of kernels/nn/ that move tokens
 * between a transformer's sequence and its maps, against their CPU
 * references: position embeddings (bilinear and DINOv2's bicubic),
 * prepend/readout/drop of the class token, Depth Anything 3's concat,
 * set_token, slice and constant, and Swin's patch merging. Copies bit for
 * bit; interpolations to 1e-12 (tests/cuda_kernel_test.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "tests/cuda_kernel_test.h" /* run_graph_op, make_node, CHECK_CASE, kernel_tests_main */
#include "base/bicubic.h"           /* ds_bicubic_factor_scale */

namespace DS_CUDA_NS {

TEST(patch_merge) {
    g_worst = 0;
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 5, 7, 3}, {1, 4, 6, 8}, {1, 3, 1, 5}};
    for (const auto &xs : shapes)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {xs[0], (xs[1] + 1) / 2, (xs[2] + 1) / 2, 4 * xs[3]};
            ds_node n = make_node(DS_OP_PATCH_MERGE, ys);
            case_result r;
            CHECK_OK(run_graph_op(op_patch_merge, &n, xs, NULL, 0, 0, 1.0f, block, 54, &r));
            CHECK_CASE(r, 0.0, "patch_merge %s block %d", shape_str(xs).c_str(), block);
        }
    print_worst("patch_merge");
}

TEST(pos_embed) {
    g_worst = 0;
    static const int cases[][4] = {
        /* grid, gh, gw, C */
        {4, 6, 3, 5}, {5, 5, 5, 3}, {3, 1, 1, 2}, {1, 2, 3, 4}, {6, 2, 9, 7}, {4, 7, 4, 1},
    };
    static const int64_t none[4] = {0, 0, 0, 0}; /* the op has no input */
    for (const auto &c : cases)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {1, 1, 1 + (int64_t)c[1] * c[2], c[3]};
            ds_node n = make_node(DS_OP_POS_EMBED, ys);
            n.in[0] = -1;
            n.a.pos = ds_pos_attr{c[0], c[1], c[2], 0.0f, 0.0f};
            case_result r;
            CHECK_OK(run_graph_op(op_pos_embed, &n, none, NULL, (size_t)(1 + c[0] * c[0]) * c[3], 0, 1.0f, block,
                                  44, &r));
            /* GPU: FMA contraction of the interpolation */
            CHECK_CASE(r, 1e-12, "pos_embed grid %d -> %dx%d C %d block %d", c[0], c[1], c[2], c[3], block);
        }
    print_worst("pos_embed");
}

/* DINOv2's bicubic position embedding: the trained grid (37 for Depth
 * Anything V2) to 1x1, 5x7, itself (scale 1: the identity), 40x37 and
 * others, with the coordinate scales the builder sets for (g + 0.1) / G. */
TEST(pos_embed_bicubic) {
    g_worst = 0;
    static const int cases[][4] = {
        /* grid, gh, gw, C */
        {37, 1, 1, 3}, {37, 5, 7, 5}, {37, 37, 37, 2}, {37, 40, 37, 3}, {37, 37, 49, 1}, {3, 5, 2, 4}, {4, 2, 9, 7},
    };
    static const int64_t none[4] = {0, 0, 0, 0}; /* the op has no input */
    for (const auto &c : cases)
        for (int block : BLOCKS) {
            const int64_t ys[4] = {1, 1, 1 + (int64_t)c[1] * c[2], c[3]};
            ds_node n = make_node(DS_OP_POS_EMBED_BICUBIC, ys);
            n.in[0] = -1;
            const bool same = c[1] == c[0] && c[2] == c[0];
            n.a.pos = ds_pos_attr{c[0], c[1], c[2], same ? 1.0f : ds_bicubic_factor_scale((c[1] + 0.1) / c[0]),
                                  same ? 1.0f : ds_bicubic_factor_scale((c[2] + 0.1) / c[0])};
            case_result r;
            CHECK_OK(run_graph_op(op_pos_embed_bicubic, &n, none, NULL, (size_t)(1 + c[0] * c[0]) * c[3], 0, 1.0f,
                                  block, 47, &r));
            /* float sums against the reference's double ones (GPU: FMA contraction); the identity exactly */
            CHECK_CASE(r, same ? 0.0 : 1e-12, "pos_embed_bicubic grid %d -> %dx%d C %d block %d", c[0], c[1], c[2],
                       c[3], block);
        }
    print_worst("pos_embed_bicubic");
}

/* prepend_token, readout_cat and drop_token: copies, bit for bit. */
TEST(tokens) {
    static const int64_t seqs[][3] = {{1, 1, 1}, {1, 12, 7}, {2, 15, 3}, {1, 35, 33}}; /* N, T, C */
    static const int grids[][2] = {{1, 1}, {3, 4}, {5, 3}, {5, 7}};                     /* gh x gw = T */
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        for (int block : BLOCKS) {
            const int64_t N = seqs[i][0], T = seqs[i][1], C = seqs[i][2];
            const int64_t xs[4] = {N, 1, T, C}, ps[4] = {N, 1, T + 1, C};
            ds_node n = make_node(DS_OP_PREPEND_TOKEN, ps);
            case_result r;
            CHECK_OK(run_graph_op(op_prepend_token, &n, xs, NULL, (size_t)C, 0, 1.0f, block, 45, &r));
            CHECK_CASE(r, 0.0, "prepend_token %s block %d", shape_str(xs).c_str(), block);
            const int64_t rs[4] = {N, grids[i][0], grids[i][1], 2 * C};
            ds_node nr = make_node(DS_OP_READOUT_CAT, rs);
            CHECK_OK(run_graph_op(op_readout_cat, &nr, ps, NULL, 0, 0, 1.0f, block, 46, &r));
            CHECK_CASE(r, 0.0, "readout_cat %s -> %s block %d", shape_str(ps).c_str(), shape_str(rs).c_str(), block);
            const int64_t ds[4] = {N, grids[i][0], grids[i][1], C};
            ds_node nd = make_node(DS_OP_DROP_TOKEN, ds);
            CHECK_OK(run_graph_op(op_drop_token, &nd, ps, NULL, 0, 0, 1.0f, block, 48, &r));
            CHECK_CASE(r, 0.0, "drop_token %s -> %s block %d", shape_str(ps).c_str(), shape_str(ds).c_str(), block);
        }
    const int64_t xs[4] = {1, 1, 13, 4}, rs[4] = {1, 3, 5, 8};
    ds_node n = make_node(DS_OP_READOUT_CAT, rs);
    case_result r;
    CHECK_FAILS(run_graph_op(op_readout_cat, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "x is 1x1x13x4, expected 1x1x16x4");
}

/* concat, set_token, slice, constant (Depth Anything 3): copies, bit for bit. */
TEST(da3_tokens) {
    static const int64_t seqs[][3] = {{1, 1, 1}, {1, 36, 7}, {2, 15, 3}}; /* N, T, C */
    for (const auto &q : seqs)
        for (int block : BLOCKS) {
            const int64_t N = q[0], T = q[1], C = q[2];
            const int64_t xs[4] = {N, 1, T, C}, rs[4] = {N, 1, T, C + 2}, cs[4] = {N, 1, T, 2 * C + 2};
            ds_node n = make_node(DS_OP_CONCAT, cs);
            n.in[1] = 1;
            case_result r;
            CHECK_OK(run_graph_op(op_concat, &n, xs, rs, 0, 0, 1.0f, block, 50, &r));
            CHECK_CASE(r, 0.0, "concat %s block %d", shape_str(cs).c_str(), block);
            ds_node st = make_node(DS_OP_SET_TOKEN, xs);
            CHECK_OK(run_graph_op(op_set_token, &st, xs, NULL, (size_t)(2 * C), 0, 1.0f, block, 51, &r));
            CHECK_CASE(r, 0.0, "set_token %s block %d", shape_str(xs).c_str(), block);
            const int64_t ss[4] = {N, 1, (T + 1) / 2, C > 2 ? C - 2 : 1};
            ds_node sl = make_node(DS_OP_SLICE, ss);
            sl.a.slice = ds_slice_attr{(int)(T / 2), C > 2 ? 1 : 0};
            CHECK_OK(run_graph_op(op_slice, &sl, xs, NULL, 0, 0, 1.0f, block, 52, &r));
            CHECK_CASE(r, 0.0, "slice %s block %d", shape_str(ss).c_str(), block);
            const int64_t ks[4] = {1, T, 2, C}, one[4] = {1, 1, 1, 1};
            ds_node kn = make_node(DS_OP_CONSTANT, ks);
            kn.in[0] = -1;
            CHECK_OK(run_graph_op(op_constant, &kn, one, NULL, (size_t)(T * 2 * C), 0, 1.0f, block, 53, &r));
            CHECK_CASE(r, 0.0, "constant %s block %d", shape_str(ks).c_str(), block);
        }
}

/* kernels/<folder>/<file>.cu -> its test here. */
static const kernel_test KERNEL_TESTS[] = {
    KERNEL_TEST(tokens), KERNEL_TEST(da3_tokens), KERNEL_TEST(pos_embed), KERNEL_TEST(pos_embed_bicubic),
    KERNEL_TEST(patch_merge)
};

} // namespace DS_CUDA_NS

int main(int, char **argv) { return DS_CUDA_NS::kernel_tests_main(argv[0], DS_CUDA_NS::KERNEL_TESTS, NULL); }
