/*
 * test_ops_levit.c: LeViT's attention, the fast CPU kernel against the
 * reference one (tests/op_check.h: guard zones, 1 and 2 threads), and the
 * attention biases dpt_levit_224's graph gathers:
 *  - DS_OP_LEVIT_ATTENTION: self-attention over head-interleaved q|k|v and
 *    the subsampling attention (queries a tensor of their own, fewer than the
 *    keys), key dim != value dim, heads of 1, a single token, query counts
 *    around the 64-query task blocks, two items, with and without a bias,
 *    Hardswish or none on the output, scores large enough for the softmax to
 *    saturate;
 *  - a bias that reaches the kernels: a large bias on one key makes every
 *    output that key's value (a kernel that dropped the bias would fail);
 *  - the subsampling of the queries (a 1x1 max-pool of stride 2) picks
 *    exactly every other row and column of the token grid;
 *  - every attention node of the dpt_levit_224 graph holds, for head h,
 *    query i and key j, attention_biases[h, |dy| * res + |dx|] of its own
 *    block's table, the subsampling blocks' queries on the even rows and
 *    columns of the key grid (coordinates computed here, not by the model).
 *
 * Limit: NMSE 1e-10, as the attention of tests/test_ops_vit.c (float32
 * sgemm and softmax against double sums).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cpu/fast/fast.h"
#include "model/arch.h" /* ds_arch_build */
#include "tests/op_check.h"
#include "tests/test.h"

static const double LIMIT = 1e-10;
static uint64_t seed = 1;
static double worst;

typedef struct attn_case {
    int64_t n, tk, tq; /* tq < 0: self-attention (tq = tk) */
    int heads, kd, vd;
} attn_case;

static ds_node attn_node(const attn_case *c, ds_act act) {
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_LEVIT_ATTENTION;
    n.name = "test.levit_attention";
    n.in[0] = 0;
    n.in[1] = c->tq < 0 ? -1 : 1;
    n.a.levit = (ds_levit_attn_attr){.heads = c->heads, .key_dim = c->kd, .val_dim = c->vd,
                                     .keys = (int)c->tk, .scale = 1.0f / sqrtf((float)c->kd), .act = act};
    n.shape[0] = c->n;
    n.shape[1] = 1;
    n.shape[2] = c->tq < 0 ? c->tk : c->tq;
    n.shape[3] = (int64_t)c->heads * c->vd;
    return n;
}

/* NULL when the fast kernel matches the reference; otherwise what went wrong. */
static const char *check_case(const attn_case *c, int bias, ds_act act, float scale) {
    static char msg[320];
    ds_node n = attn_node(c, act);
    n.a.levit.scale *= scale;
    const ds_levit_layout l = ds_levit_layout_of(&n);
    const int64_t tq = n.shape[2];
    const int64_t xs[4] = {c->n, 1, c->tk, l.kv_row}, qs[4] = {c->n, 1, tq, l.q_row};
    const size_t bias_len = bias ? (size_t)(c->heads * tq * c->tk) : 0;
    for (int threads = 1; threads <= 2; threads++) {
        op_check_result r = op_check(&n, xs, c->tq < 0 ? NULL : qs, bias_len, 0, 2.0f,
                                     &ds_cpu_fast_kernels[DS_OP_LEVIT_ATTENTION], threads, seed++);
        if (r.nmse > worst)
            worst = r.nmse;
        const char *what = op_check_failure(&r, LIMIT);
        if (what) {
            snprintf(msg, sizeof msg,
                     "%lld x %lld keys, %lld queries, %d heads, kd %d, vd %d, bias %d, %s, scale %g, %d thread(s): "
                     "%s (NMSE %.3g)",
                     (long long)c->n, (long long)c->tk, (long long)tq, c->heads, c->kd, c->vd, bias,
                     ds_act_name(act), scale, threads, what, r.nmse);
            return msg;
        }
    }
    return NULL;
}

TEST(levit_attention_matches_reference) {
    static const attn_case cases[] = {
        {1, 196, -1, 6, 32, 64}, /* LeViT-384 stage 0 */
        {1, 49, -1, 9, 32, 64},  {1, 16, -1, 12, 32, 64},
        {1, 196, 49, 12, 32, 128}, /* the subsampling attentions */
        {1, 49, 16, 16, 32, 128},
        {1, 1, -1, 1, 1, 1},   {1, 1, 1, 1, 3, 2},     {1, 7, -1, 1, 5, 3},   {2, 13, -1, 3, 4, 7},
        {1, 65, -1, 2, 8, 16}, {1, 64, -1, 1, 16, 8},  {1, 130, 65, 3, 7, 11}, {2, 11, 3, 2, 9, 1},
        {1, 97, 129, 1, 4, 4}, /* more queries than keys: the op does not mind */
    };
    static const ds_act acts[] = {DS_ACT_NONE, DS_ACT_HARDSWISH};
    worst = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int v = 0; v < 2; v++) { /* bias and act: none and none, then both, or each alone */
            const int bias = v ? (int)(i % 3 != 1) : 0, act = v ? (int)(i % 3 != 2) : 0;
            const char *fail = check_case(&cases[i], bias, acts[act], 1.0f);
            CHECK_MSG(!fail, "%s", fail);
        }
    /* scores scaled 40x: softmax rows saturate to a single key */
    const char *fail = check_case(&cases[0], 1, DS_ACT_HARDSWISH, 40.0f);
    CHECK_MSG(!fail, "%s", fail);
    fail = check_case(&cases[3], 1, DS_ACT_NONE, 40.0f);
    CHECK_MSG(!fail, "%s", fail);
    printf("    levit_attention worst NMSE %.2e\n", worst);
}

/* A bias of +60 on key `hot` for every query: each output is (nearly
 * exactly) that key's value, in both kernels. */
TEST(levit_attention_bias_reaches_the_output) {
    const attn_case c = {1, 37, 9, 2, 4, 5};
    ds_node n = attn_node(&c, DS_ACT_NONE);
    const ds_levit_layout l = ds_levit_layout_of(&n);
    enum { HOT = 23 };
    float kv[37 * 2 * 9], q[9 * 2 * 4], bias[2 * 9 * 37], y[2][9 * 2 * 5];
    op_random(kv, sizeof kv / sizeof *kv, 5, 1.0f);
    op_random(q, sizeof q / sizeof *q, 6, 1.0f);
    for (int i = 0; i < 2 * 9 * 37; i++)
        bias[i] = i % 37 == HOT ? 60.0f : 0.0f;
    ds_tensor tx = {kv, {1, 1, 37, l.kv_row}}, tq = {q, {1, 1, 9, l.q_row}};
    double scratch[37];
    float fast_scratch[4096];
    const ds_cpu_kernel *k[2] = {&ds_cpu_ref_kernels[DS_OP_LEVIT_ATTENTION],
                                 &ds_cpu_fast_kernels[DS_OP_LEVIT_ATTENTION]};
    CHECK(k[1]->scratch_bytes(&n, 1) <= sizeof fast_scratch);
    for (int i = 0; i < 2; i++) {
        ds_tensor ty = {y[i], {1, 1, 9, 2 * 5}};
        ds_cpu_ctx ctx = {.n_threads = 1, .scratch = i ? fast_scratch : (float *)scratch,
                          .scratch_bytes = i ? sizeof fast_scratch : sizeof scratch};
        ds_cpu_op op = {.node = &n, .x = &tx, .r = &tq, .y = &ty, .w = bias, .ctx = &ctx};
        k[i]->run(&op);
        for (int t = 0; t < 9; t++)
            for (int h = 0; h < 2; h++)
                for (int d = 0; d < 5; d++) {
                    const float want = kv[HOT * l.kv_row + h * l.kv_head + l.v_off + d];
                    CHECK_MSG(fabsf(y[i][t * 10 + h * 5 + d] - want) < 1e-5f,
                              "%s kernel, query %d head %d dim %d: %g, the hot key's value %g",
                              i ? "fast" : "reference", t, h, d, y[i][t * 10 + h * 5 + d], want);
                }
    }
}

/* LeViT's Subsample ([::2, ::2] of the token grid) is a 1x1 max-pool of
 * stride 2 in the graph: both CPU kernels copy exactly x[2i, 2j], on the
 * 14 -> 7 and the odd 7 -> 4 grids. */
TEST(subsample_picks_every_other_token) {
    static const int sides[2] = {14, 7};
    for (int s = 0; s < 2; s++) {
        const int in = sides[s], out = (in - 1) / 2 + 1, C = 5;
        ds_node n;
        memset(&n, 0, sizeof n);
        n.op = DS_OP_MAXPOOL;
        n.in[0] = 0;
        n.in[1] = -1;
        n.a.pool = (ds_pool_attr){1, 1, 2, 2, 0, 0, 0, 0};
        n.shape[0] = 1, n.shape[1] = out, n.shape[2] = out, n.shape[3] = C;
        float x[14 * 14 * 5], y[7 * 7 * 5];
        op_random(x, (size_t)(in * in * C), 7, 3.0f);
        ds_tensor tx = {x, {1, in, in, C}}, ty = {y, {1, out, out, C}};
        ds_cpu_ctx ctx = {.n_threads = 2};
        ds_cpu_op op = {.node = &n, .x = &tx, .y = &ty, .ctx = &ctx};
        const ds_cpu_kernel *k[2] = {&ds_cpu_ref_kernels[DS_OP_MAXPOOL], &ds_cpu_fast_kernels[DS_OP_MAXPOOL]};
        for (int i = 0; i < 2; i++) {
            memset(y, 0, sizeof y);
            k[i]->run(&op);
            for (int r = 0; r < out; r++)
                for (int c = 0; c < out; c++)
                    CHECK_MSG(!memcmp(y + (r * out + c) * C, x + (2 * r * in + 2 * c) * C, C * sizeof(float)),
                              "%s kernel, %d -> %d: token (%d, %d) is not x[%d, %d]", i ? "fast" : "reference", in,
                              out, r, c, 2 * r, 2 * c);
        }
    }
}

/* ---- the graph's gathered biases ---- */

/* Each block's table: value block * 100000 + h * 1000 + r (integers, exact in
 * float), so that a gather from another block's table, head or offset shows. */
typedef struct tables {
    float *t[64];
    int n;
} tables;

static ds_status give_tables(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)b;
    tables *tb = ctx;
    const char *leaf = strrchr(d->name, '.');
    if (d->kind != DS_PARAM_TENSOR || !leaf || strcmp(leaf, ".attention_biases") != 0)
        return DS_OK;
    int block = -1;
    sscanf(d->name, "pretrained.model.blocks.%d", &block);
    const int64_t heads = d->shape[0], r2 = d->shape[1];
    float *t = malloc((size_t)(heads * r2) * sizeof *t);
    if (!t || tb->n == 64) {
        free(t);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "test tables");
    }
    for (int64_t h = 0; h < heads; h++)
        for (int64_t r = 0; r < r2; r++)
            t[h * r2 + r] = (float)(block * 100000 + h * 1000 + r);
    tb->t[tb->n++] = t;
    w->name = d->name;
    w->ndim = 2;
    w->shape[0] = heads;
    w->shape[1] = r2;
    w->data = t;
    return DS_OK;
}

TEST(levit_graph_gathers_attention_biases) {
    tables tb = {.n = 0};
    ds_param_binder binder = {.ctx = &tb, .bind = give_tables};
    ds_graph g;
    CHECK_OK(ds_arch_build(DS_ARCH_DPT_LEVIT_224, 224, 224, &binder, &g));
    int nodes = 0, sub = 0;
    for (int i = 0; i < g.n_nodes; i++) {
        const ds_node *n = &g.nodes[i];
        if (n->op != DS_OP_LEVIT_ATTENTION)
            continue;
        nodes++;
        const int64_t tk = n->a.levit.keys, tq = n->shape[2];
        const int res = (int)lround(sqrt((double)tk)), stride = n->in[1] >= 0 ? 2 : 1;
        const int rq = (res - 1) / stride + 1;
        sub += stride == 2;
        CHECK_MSG(n->w[0].graph_owned && n->w[0].data && n->w[0].shape[0] == n->a.levit.heads &&
                      n->w[0].shape[1] == tq && n->w[0].shape[2] == tk && tq == (int64_t)rq * rq,
                  "attention node %d: bias %lldx%lldx%lld for %lld queries, %lld keys", i,
                  (long long)n->w[0].shape[0], (long long)n->w[0].shape[1], (long long)n->w[0].shape[2],
                  (long long)tq, (long long)tk);
        const float *bias = n->w[0].data;
        const int64_t block = 2 * (nodes - 1); /* blocks 0, 2, .., 20 hold the attentions */
        CHECK_MSG((int64_t)bias[0] / 100000 == block, "attention node %d gathers block %lld's table, not %lld's", i,
                  (long long)bias[0] / 100000, (long long)block);
        for (int h = 0; h < n->a.levit.heads; h++)
            for (int64_t qi = 0; qi < tq; qi++)
                for (int64_t kj = 0; kj < tk; kj++) {
                    const int64_t qy = stride * (qi / rq), qx = stride * (qi % rq), ky = kj / res, kx = kj % res;
                    const int64_t r = llabs(qy - ky) * res + llabs(qx - kx);
                    const float want = (float)(block * 100000 + h * 1000 + r);
                    const float got = bias[((int64_t)h * tq + qi) * tk + kj];
                    CHECK_MSG(got == want, "node %d head %d query %lld key %lld: %g, wanted %g", i, h,
                              (long long)qi, (long long)kj, got, want);
                }
    }
    ds_graph_free(&g);
    for (int i = 0; i < tb.n; i++)
        free(tb.t[i]);
    /* blocks 0..21: 11 attentions, 2 of them subsampling (8, 18) */
    CHECK_MSG(nodes == 11 && sub == 2, "%d attention nodes, %d subsampling", nodes, sub);
}

int main(void) {
    RUN(levit_attention_matches_reference);
    RUN(levit_attention_bias_reaches_the_output);
    RUN(subsample_picks_every_other_token);
    RUN(levit_graph_gathers_attention_biases);
    return test_summary();
}
