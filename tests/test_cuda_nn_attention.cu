/*
 * test_cuda_nn_attention.cu: the kernels of kernels/nn/ of a transformer
 * block, against their CPU references: layer norm, attention (plain, with a
 * dense or a table-indexed bias), LeViT's attention, Swin's window
 * attention (shifted, cosine, tables, labels, scales) and Depth Anything
 * 3's QK-norm + 2-D RoPE. Odd token counts across key tiles, heads of 1,
 * windows that do not divide, several block sizes, guard zones, in place;
 * the limits each kernel refuses. Thresholds: tests/cuda_kernel_test.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "tests/cuda_kernel_test.h" /* run_graph_op, make_node, CHECK_CASE, kernel_tests_main */

namespace DS_CUDA_NS {

TEST(layernorm) {
    g_worst = 0;
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 1, 5, 7}, {1, 1, 13, 33}, {2, 1, 3, 96}, {1, 2, 2, 257}};
    for (const auto &s : shapes)
        for (int block : {0, 32, 64, 256})
            for (float eps : {1e-6f, 1e-5f}) {
                ds_node n = make_node(DS_OP_LAYERNORM, s);
                n.a.norm.eps = eps;
                case_result r;
                CHECK_OK(run_graph_op(op_layernorm, &n, s, NULL, (size_t)s[3], (size_t)s[3], 3.0f, block, 15, &r));
                CHECK_CASE(r, 1e-12, "layernorm %s block %d eps %g", shape_str(s).c_str(), block, eps);
            }
    const int64_t s[4] = {1, 1, 2, 8};
    ds_node n = make_node(DS_OP_LAYERNORM, s);
    case_result r;
    CHECK_FAILS(run_graph_op(op_layernorm, &n, s, NULL, 8, 8, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    print_worst("layernorm");
}

/* DS_OP_ATTENTION with a bias (graph.h's ds_attn_attr): dense when R == 0,
 * else a table of R entries per head and a random (T, T) index; the kernel
 * against ds_ref_attention. *effect: the reference's NMSE without the bias
 * against with it (what a kernel that dropped it would miss by). */
static ds_status run_attention_bias(int64_t N, int64_t T, int64_t C, int heads, int64_t R, int block,
                                    uint64_t seed, case_result *res, double *effect) {
    const int64_t ys[4] = {N, 1, T, C}, xs[4] = {N, 1, T, 3 * C}, per_head = R ? R : T * T;
    ds_node n = make_node(DS_OP_ATTENTION, ys);
    n.a.attn.heads = heads;
    n.a.attn.scale = (float)(1.0 / sqrt((double)(C / heads)));
    n.w[0].name = "bias";
    n.w[0].dtype = DS_F32;
    n.w[0].ndim = R ? 2 : 3;
    n.w[0].shape[0] = heads, n.w[0].shape[1] = R ? R : T, n.w[0].shape[2] = R ? 0 : T;
    if (R) {
        n.w[2].name = "index";
        n.w[2].dtype = DS_I32;
        n.w[2].ndim = 2;
        n.w[2].shape[0] = n.w[2].shape[1] = T;
    }
    const size_t nx = numel(xs), ny = numel(ys), nb = (size_t)(heads * per_head), ni = R ? (size_t)(T * T) : 0;
    std::vector<float> x(nx), bias(nb), y_ref(ny), y_plain(ny), y(ny);
    std::vector<int32_t> index(ni);
    op_random(x.data(), nx, seed, 3.0f);
    op_random(bias.data(), nb, seed + 1, 3.0f);
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < ni; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        index[i] = (int32_t)(z % (uint64_t)R);
    }
    ds_tensor hx = {x.data(), {xs[0], xs[1], xs[2], xs[3]}}, hy = {y_ref.data(), {ys[0], ys[1], ys[2], ys[3]}};
    ds_tensor hp = {y_plain.data(), {ys[0], ys[1], ys[2], ys[3]}};
    const size_t scratch_bytes = ds_ref_attention_scratch(&n, 1);
    std::vector<double> scratch(scratch_bytes / sizeof(double) + 1);
    ds_cpu_ctx ctx = {1, (float *)scratch.data(), scratch_bytes};
    ds_cpu_op ref = {&n, &hx, NULL, &hy, bias.data(), NULL, NULL, &ctx, R ? (const float *)index.data() : NULL, NULL};
    ds_ref_attention(&ref);
    ds_node plain = n;
    memset(plain.w, 0, sizeof plain.w);
    ds_cpu_op ref_plain = {&plain, &hx, NULL, &hp, NULL, NULL, NULL, &ctx, NULL, NULL};
    ds_ref_attention(&ref_plain);
    *effect = op_nmse(y_plain.data(), y_ref.data(), ny);

    dev_buf<float> dx, db, dy;
    dev_buf<int32_t> di;
    ds_status s = DS_OK;
    if ((s = dev_alloc(&dx, nx)) || (s = dev_alloc(&db, nb)) || (s = dev_alloc(&di, ni)) || (s = dev_alloc(&dy, ny)) ||
        (s = dev_upload(&dx, x.data())) || (s = dev_upload(&db, bias.data())) || (s = dev_upload(&di, index.data())))
        goto done;
    {
        ds_tensor tx = {dx.p, {xs[0], xs[1], xs[2], xs[3]}}, ty = {dy.p, {ys[0], ys[1], ys[2], ys[3]}};
        gpu_op op = {&n, &tx, NULL, &ty, db.p, NULL, R ? (const float *)di.p : NULL, NULL};
        kern_ctx k = {g_stream, block};
        if ((s = op_attention(&k, &op)) || (s = cuda_stream_sync(g_stream)) || (s = dev_download(dy, y.data())))
            goto done;
        res->nmse = op_nmse(y.data(), y_ref.data(), ny);
        res->guards_ok = dev_guards_ok(dy) && dev_guards_ok(dx) && dev_guards_ok(db) && dev_guards_ok(di);
    }
done:
    dev_release(&dx);
    dev_release(&db);
    dev_release(&di);
    dev_release(&dy);
    return s;
}

TEST(attention) {
    g_worst = 0;
    struct at_case {
        int64_t N, T, C;
        int heads;
    };
    static const at_case cases[] = {
        {1, 1, 1, 1},   {1, 5, 24, 3},  /* head_dim 8: one thread per query */
        {1, 37, 64, 1}, /* 64, DPT's: four threads per query, two key tiles */
        {2, 70, 96, 3}, /* 32, batch of two, a short last key tile */
        {1, 33, 100, 1}, /* 100: eight threads, zero-padded dimensions */
        {1, 45, 128, 1}, /* the maximum */
        {1, 17, 80, 5},  {1, 131, 64, 2},
    };
    for (const at_case &c : cases)
        for (int block : {0, 32, 96, 256}) {
            const int64_t ys[4] = {c.N, 1, c.T, c.C}, xs[4] = {c.N, 1, c.T, 3 * c.C};
            ds_node n = make_node(DS_OP_ATTENTION, ys);
            n.a.attn.heads = c.heads;
            n.a.attn.scale = (float)(1.0 / sqrt((double)(c.C / c.heads)));
            case_result r;
            /* x scaled so that the softmax is far from flat */
            CHECK_OK(run_graph_op(op_attention, &n, xs, NULL, 0, 0, 3.0f, block, 43, &r));
            CHECK_CASE(r, 1e-12, "attention %s heads %d block %d", shape_str(ys).c_str(), c.heads, block);
        }
    const int64_t ys[4] = {1, 1, 4, 129}, xs[4] = {1, 1, 4, 3 * 129};
    ds_node n = make_node(DS_OP_ATTENTION, ys);
    n.a.attn.heads = 1;
    n.a.attn.scale = 0.1f;
    case_result r;
    CHECK_FAILS(run_graph_op(op_attention, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "head_dim 129 is above the kernel's maximum of 128");
    const int64_t ys2[4] = {1, 1, 4, 64}, xs2[4] = {1, 1, 4, 3 * 64};
    ds_node n2 = make_node(DS_OP_ATTENTION, ys2);
    n2.a.attn.heads = 1;
    n2.a.attn.scale = 0.125f;
    CHECK_FAILS(run_graph_op(op_attention, &n2, xs2, NULL, 0, 0, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    CHECK_FAILS(run_graph_op(op_attention, &n2, xs2, NULL, 0, 0, 1.0f, 512, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "512 threads per block is above the kernel's 256");
    /* with a bias: odd token counts (across key tiles and query blocks), head sizes 1 to 100 */
    struct bias_case {
        int64_t N, T, C;
        int heads;
        int64_t R; /* 0: dense (heads, T, T) */
    };
    static const bias_case bias_cases[] = {
        {1, 1, 1, 1, 0},    {1, 5, 24, 3, 7},   {1, 37, 64, 1, 0},  {2, 70, 96, 3, 2212},
        {1, 33, 100, 1, 5}, {1, 17, 80, 5, 0},  {1, 45, 17, 1, 31}, {1, 67, 48, 3, 0},
    };
    for (const bias_case &c : bias_cases)
        for (int block : {0, 32, 256}) {
            double effect = 0;
            CHECK_OK(run_attention_bias(c.N, c.T, c.C, c.heads, c.R, block, 47, &r, &effect));
            CHECK_CASE(r, 1e-12, "attention+bias N %lld T %lld C %lld heads %d table %lld block %d", (long long)c.N,
                       (long long)c.T, (long long)c.C, c.heads, (long long)c.R, block);
            CHECK_MSG(c.T == 1 || effect > 1e-4, "the bias barely changes T=%lld (NMSE %.3g without it)",
                      (long long)c.T, effect);
        }
    print_worst("attention");
}

TEST(levit_attention) {
    g_worst = 0;
    struct la_case {
        int64_t N, Tk, Tq; /* Tq < 0: self-attention */
        int heads, kd, vd;
    };
    static const la_case cases[] = {
        {1, 196, -1, 6, 32, 64},  /* LeViT-384 stage 0 */
        {1, 196, 49, 12, 32, 128}, /* its first subsampling attention */
        {1, 49, 16, 16, 32, 128}, {1, 16, -1, 12, 32, 64}, {1, 1, -1, 1, 1, 1}, {2, 33, -1, 3, 5, 7},
        {1, 70, 9, 1, 3, 40}, /* value dims over two rounds of lanes */
        {2, 5, 11, 2, 2, 3},
    };
    static const int blocks[] = {0, 32, 96, 256};
    for (const la_case &c : cases)
        for (int variant = 0; variant < 2; variant++)
            for (int block : blocks) {
                const int64_t tq = c.Tq < 0 ? c.Tk : c.Tq, ys[4] = {c.N, 1, tq, (int64_t)c.heads * c.vd};
                if (c.Tk * tq > 4000 && block != 0 && block != 256)
                    continue; /* LeViT's own sizes: the default block and the largest (seconds under emulation) */
                ds_node n = make_node(DS_OP_LEVIT_ATTENTION, ys);
                n.in[1] = c.Tq < 0 ? -1 : 1;
                n.a.levit = ds_levit_attn_attr{c.heads, c.kd, c.vd, (int)c.Tk, (float)(1.0 / sqrt((double)c.kd)),
                                               variant ? DS_ACT_HARDSWISH : DS_ACT_NONE};
                const ds_levit_layout l = ds_levit_layout_of(&n);
                const int64_t xs[4] = {c.N, 1, c.Tk, l.kv_row}, qs[4] = {c.N, 1, tq, l.q_row};
                case_result r;
                /* the bias (variant 1) as w; x scaled so that the softmax is far from flat */
                CHECK_OK(run_graph_op(op_levit_attention, &n, xs, c.Tq < 0 ? NULL : qs,
                                      variant ? (size_t)(c.heads * tq * c.Tk) : 0, 0, 2.0f, block, 48, &r));
                CHECK_CASE(r, 1e-12, "levit_attention %s keys of %s heads %d kd %d vd %d variant %d block %d",
                           shape_str(xs).c_str(), shape_str(ys).c_str(), c.heads, c.kd, c.vd, variant, block);
            }
    const int64_t ys[4] = {1, 1, 4, 8}, xs[4] = {1, 1, 4, 2 * (2 * 4 + 4)};
    ds_node n = make_node(DS_OP_LEVIT_ATTENTION, ys);
    n.a.levit = ds_levit_attn_attr{2, 4, 4, 4, 0.5f, DS_ACT_NONE};
    case_result r;
    CHECK_FAILS(run_graph_op(op_levit_attention, &n, xs, NULL, 0, 0, 1.0f, 48, 1, &r), DS_ERR_INVALID_ARGUMENT,
                "48 threads per block is not a multiple of 32");
    /* 8 warps x 1600 keys of scores: 51,200 bytes of shared memory */
    const int64_t big[4] = {1, 1, 1600, 2 * (2 * 4 + 4)}, ybig[4] = {1, 1, 1600, 8};
    ds_node nb = make_node(DS_OP_LEVIT_ATTENTION, ybig);
    nb.a.levit = ds_levit_attn_attr{2, 4, 4, 1600, 0.5f, DS_ACT_NONE};
    CHECK_FAILS(run_graph_op(op_levit_attention, &nb, big, NULL, 0, 0, 1.0f, 256, 1, &r), DS_ERR_SHAPE,
                "shared memory");
    print_worst("levit_attention");
}

TEST(window_attention) {
    g_worst = 0;
    struct wa_case {
        int64_t N, H, W;
        int heads, hd, win_h, win_w, shift_h, shift_w;
        bool cosine, table, labels, scales;
    };
    static const wa_case cases[] = {
        {1, 8, 8, 3, 4, 4, 4, 2, 2, true, true, true, true},      /* a Swin v2 stage in small */
        {2, 7, 5, 1, 6, 3, 3, 1, 1, false, true, true, false},    /* windows that do not divide, a head of 1 */
        {1, 5, 11, 2, 5, 5, 11, 0, 0, true, true, false, false},  /* one window over the map */
        {1, 13, 3, 1, 35, 4, 2, 3, 1, true, false, true, true},   /* non-square, odd head_dim: 4 threads */
        {1, 5, 6, 2, 3, 8, 8, 0, 0, false, true, false, false},   /* a window larger than the map */
        {1, 12, 12, 2, 32, 12, 12, 0, 0, true, true, false, true}, /* Swin's head_dim, 144 keys: 5 tiles */
        {1, 9, 9, 1, 128, 6, 6, 3, 3, false, true, true, false},  /* the maximum head_dim */
    };
    for (const wa_case &c : cases)
        for (int block : {0, 32, 96, 256}) {
            const int64_t C = (int64_t)c.heads * c.hd, ys[4] = {c.N, c.H, c.W, C}, xs[4] = {c.N, c.H, c.W, 3 * C};
            ds_node n = make_node(DS_OP_WINDOW_ATTENTION, ys);
            n.a.win = ds_window_attr{c.heads, c.win_h, c.win_w, c.shift_h, c.shift_w,
                                     (float)(1.0 / sqrt((double)c.hd)), c.cosine};
            const size_t nt = (size_t)c.heads * (2 * c.win_h - 1) * (2 * c.win_w - 1), nl = (size_t)(c.H * c.W);
            std::vector<float> table(nt), labels(nl), scales((size_t)c.heads);
            op_random(table.data(), nt, 51, 4.0f);
            op_random(labels.data(), nl, 52, 1.0f);
            for (float &v : labels)
                v = floorf((v + 1.0f) * 1.5f); /* regions 0..2 */
            for (int h = 0; h < c.heads; h++)
                scales[(size_t)h] = 0.5f + (float)h;
            /* the node's constant slots say which are there and their shapes (dispatch checks them) */
            n.w[0] = ds_tensor_ref{"table", DS_F32, 3, {c.heads, 2 * c.win_h - 1, 2 * c.win_w - 1, 0}, NULL, true};
            n.w[1] = ds_tensor_ref{"labels", DS_F32, 2, {c.H, c.W, 0, 0}, NULL, true};
            n.w[2] = ds_tensor_ref{"scales", DS_F32, 1, {c.heads, 0, 0, 0}, NULL, true};
            given_weights g;
            g.w = table.data(), g.b = labels.data(), g.w2 = c.scales ? scales.data() : NULL, g.w2_len = scales.size();
            case_result r;
            CHECK_OK(run_graph_op(op_window_attention, &n, xs, NULL, c.table ? nt : 0, c.labels ? nl : 0, 2.0f, block,
                                  53, &r, g));
            CHECK_CASE(r, 1e-12, "window_attention %s window %dx%d shift %d,%d block %d", shape_str(ys).c_str(),
                       c.win_h, c.win_w, c.shift_h, c.shift_w, block);
        }
    const int64_t ys[4] = {1, 4, 4, 129}, xs[4] = {1, 4, 4, 3 * 129};
    ds_node n = make_node(DS_OP_WINDOW_ATTENTION, ys);
    n.a.win = ds_window_attr{1, 2, 2, 0, 0, 0.1f, false};
    case_result r;
    CHECK_FAILS(run_graph_op(op_window_attention, &n, xs, NULL, 0, 0, 1.0f, 0, 1, &r), DS_ERR_SHAPE,
                "head_dim 129 is above the kernel's maximum of 128");
    print_worst("window_attention");
}

/* QK-norm + 2-D RoPE (Depth Anything 3): local and global positions, with
 * and without the norms, patch grids 1x1, 5x7, portrait; in place too. */
TEST(rope) {
    static const int grids[][2] = {{1, 1}, {5, 7}, {9, 4}};
    static const int heads_dims[][2] = {{6, 64}, {1, 8}, {3, 16}};
    g_worst = 0;
    for (const auto &g : grids)
        for (const auto &hd : heads_dims)
            for (int mode = 0; mode < 4; mode++)
                for (int block : BLOCKS) {
                    const int64_t T = 1 + (int64_t)g[0] * g[1], C = (int64_t)hd[0] * hd[1], N = 1 + mode % 2;
                    const int64_t s[4] = {N, 1, T, 3 * C};
                    ds_node n = make_node(DS_OP_QK_ROPE, s);
                    n.a.rope = ds_rope_attr{hd[0], g[0], g[1], (mode & 1) != 0, 100.0f, 1e-5f};
                    const size_t norm = mode & 2 ? (size_t)hd[1] : 0, lens[4] = {norm, norm, norm, norm};
                    case_result r;
                    CHECK_OK(run_graph_op_slots(op_qk_rope, &n, s, NULL, lens, 1.0f, block, 49, &r));
                    /* float statistics and rotations against double (GPU: FMA) */
                    CHECK_CASE(r, 1e-12, "qk_rope %s %dx%d heads %d mode %d block %d", shape_str(s).c_str(), g[0],
                               g[1], hd[0], mode, block);
                }
    print_worst("qk_rope");
}

/* kernels/<folder>/<file>.cu -> its test here. */
static const kernel_test KERNEL_TESTS[] = {
    KERNEL_TEST(layernorm), KERNEL_TEST(attention), KERNEL_TEST(levit_attention), KERNEL_TEST(window_attention),
    KERNEL_TEST(rope)
};

} // namespace DS_CUDA_NS

int main(int, char **argv) { return DS_CUDA_NS::kernel_tests_main(argv[0], DS_CUDA_NS::KERNEL_TESTS, NULL); }
