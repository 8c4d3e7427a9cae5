/*
 * test_beit.c: the BEiT models' relative position bias for grids other than
 * the trained one, as the graph holds it (model/beit.c: each block's table
 * resized for the grid, one index shared by the blocks), against:
 *  - the official code: tests/data/beit_bias/, written by MiDaS's
 *    _get_rel_pos_bias on timm's beit Attention from block 0's synthetic
 *    table (tests/fixtures/make_beit_bias.py): the table for the grid, and
 *    for small grids the bias it adds to the logits;
 *  - a plain reference of timm's gen_relative_position_index written here
 *    from its definition (coordinates, their differences, the shifts).
 * Grids: portrait and landscape, 1x1, 3x5, the net_64x96 case (4x6), the
 * trained grid (an identity resize), the pipeline_211x157 grids, wider
 * and taller than trained.
 *
 * Tolerance: the resize runs in double and rounds once where PyTorch
 * rounds float32 products; 2e-7 in absolute terms on values within [-1, 1]
 * allows that (measured: 1.2e-7 at most, one unit in the last place near 1)
 * and catches a wrong row or weight (~1e-1) or a float32 source coordinate
 * (2e-6 to 4e-6).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/beit.h"
#include "src/io/npy.h"
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_fill */

static const double TOLERANCE = 2e-7;

/* A binder that gives the relative position tables their synthetic values
 * (the reference README's formula) and every other parameter no data. */
typedef struct table_binder {
    float *tables[32];
    int n;
} table_binder;

static ds_status bind_tables(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    table_binder *tb = ctx;
    (void)b;
    if (!strstr(d->name, "relative_position_bias_table") || tb->n == 32)
        return DS_OK;
    float *v = malloc((size_t)(d->shape[0] * d->shape[1]) * sizeof *v);
    if (!v)
        return DS_ERR_OUT_OF_MEMORY;
    ds_synth_fill(d->name, 2, d->shape, v);
    tb->tables[tb->n++] = v;
    w->name = d->weight_name;
    w->dtype = DS_F32;
    w->ndim = 2;
    w->shape[0] = d->shape[0], w->shape[1] = d->shape[1];
    w->data = v;
    return DS_OK;
}

/* timm 0.6.13's gen_relative_position_index, step by step. */
static void plain_index(int gh, int gw, int64_t *out) {
    const int64_t area = (int64_t)gh * gw, T = area + 1, R = (int64_t)(2 * gh - 1) * (2 * gw - 1) + 3;
    for (int64_t i = 0; i < area; i++)
        for (int64_t j = 0; j < area; j++) {
            int64_t rel_y = i / gw - j / gw, rel_x = i % gw - j % gw; /* coords_flatten[:, i] - [:, j] */
            rel_y += gh - 1;
            rel_x += gw - 1;
            rel_y *= 2 * gw - 1;
            out[(i + 1) * T + j + 1] = rel_y + rel_x;
        }
    for (int64_t j = 0; j < T; j++)
        out[j] = R - 3;
    for (int64_t i = 0; i < T; i++)
        out[i * T] = R - 2;
    out[0] = R - 1;
}

/* The attention node of block 0 in arch's graph for a gh x gw grid. */
static const ds_node *block0_attention(const ds_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == DS_OP_ATTENTION && g->nodes[i].w[0].name &&
            !strcmp(g->nodes[i].w[0].name, "pretrained.model.blocks.0.attn.relative_position_bias"))
            return &g->nodes[i];
    return NULL;
}

static void check_grid(ds_arch arch, int gh, int gw, int with_bias) {
    const ds_arch_info *a = ds_arch_get(arch);
    table_binder tb = {0};
    ds_param_binder binder = {.ctx = &tb, .bind = bind_tables};
    ds_graph g;
    CHECK_OK(ds_arch_build(arch, gh * 16, gw * 16, &binder, &g));
    const ds_node *n = block0_attention(&g);
    CHECK_MSG(n, "%s %dx%d: no attention node with block 0's bias", a->name, gh, gw);
    const int64_t T = 1 + (int64_t)gh * gw, R = ds_beit_table_rows(gh, gw), heads = a->vit_heads;
    CHECK(n->shape[2] == T && n->w[0].ndim == 2 && n->w[0].shape[0] == heads && n->w[0].shape[1] == R);
    CHECK(n->w[2].dtype == DS_I32 && n->w[2].shape[0] == T && n->w[2].shape[1] == T);
    const float *table = n->w[0].data;  /* (heads, R) */
    const int32_t *index = n->w[2].data; /* (T, T) */

    /* the index, against the plain reference; every block shares it */
    int64_t *want = malloc((size_t)(T * T) * sizeof *want);
    plain_index(gh, gw, want);
    for (int64_t k = 0; k < T * T; k++)
        CHECK_MSG(index[k] == want[k], "%s %dx%d: index[%lld][%lld] %d, timm's %lld", a->name, gh, gw,
                  (long long)(k / T), (long long)(k % T), index[k], (long long)want[k]);
    free(want);
    int blocks = 0;
    for (int i = 0; i < g.n_nodes; i++)
        if (g.nodes[i].op == DS_OP_ATTENTION) {
            blocks++;
            CHECK(g.nodes[i].w[2].data == index && g.nodes[i].w[0].graph_owned);
        }
    CHECK(blocks == a->vit_depth);

    /* the table, against MiDaS's */
    char path[512];
    snprintf(path, sizeof path, "tests/data/beit_bias/%s_%dx%d_table.npy", a->name, gh, gw);
    ds_npy ref;
    CHECK_OK(ds_npy_read(path, &ref));
    CHECK(ref.ndim == 2 && ref.shape[0] == R && ref.shape[1] == heads);
    double worst = 0;
    for (int64_t r = 0; r < R; r++)
        for (int64_t h = 0; h < heads; h++)
            worst = fmax(worst, fabs((double)table[h * R + r] - ref.data[r * heads + h]));
    ds_npy_free(&ref);
    double worst_bias = 0;
    if (with_bias) { /* and what the attention adds to the logits, bias[h][i][j] */
        snprintf(path, sizeof path, "tests/data/beit_bias/%s_%dx%d_bias.npy", a->name, gh, gw);
        CHECK_OK(ds_npy_read(path, &ref));
        CHECK(ref.ndim == 3 && ref.shape[0] == heads && ref.shape[1] == T && ref.shape[2] == T);
        for (int64_t h = 0; h < heads; h++)
            for (int64_t k = 0; k < T * T; k++)
                worst_bias = fmax(worst_bias, fabs((double)table[h * R + index[k]] - ref.data[h * T * T + k]));
        ds_npy_free(&ref);
    }
    printf("    %-20s %2dx%-2d table max |diff| %.1e%s", a->name, gh, gw, worst, with_bias ? ", bias " : "\n");
    if (with_bias)
        printf("%.1e\n", worst_bias);
    for (int i = 0; i < tb.n; i++)
        free(tb.tables[i]);
    ds_graph_free(&g);
    CHECK_MSG(worst <= TOLERANCE && worst_bias <= TOLERANCE, "%s %dx%d: table %.3g, bias %.3g from MiDaS's",
              a->name, gh, gw, worst, worst_bias);
}

TEST(bias_follows_midas_on_small_grids) {
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 3, 5, 1);
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 5, 3, 1); /* portrait */
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 1, 1, 1);
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 2, 7, 1);
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 4, 6, 1); /* net_64x96 */
    check_grid(DS_ARCH_DPT_BEIT_LARGE_512, 3, 5, 1);
}

TEST(bias_follows_midas_on_large_grids) {
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 24, 24, 0);  /* trained: the resize is an identity */
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 18, 24, 0);  /* pipeline_211x157 at 288x384 */
    check_grid(DS_ARCH_DPT_BEIT_BASE_384, 26, 20, 0);  /* taller than trained, narrower */
    check_grid(DS_ARCH_DPT_BEIT_LARGE_512, 24, 32, 0); /* pipeline_211x157 at 384x512 */
}

/* At the trained grid the table is the checkpoint's own, bit for bit, and
 * the index is timm's for it (what the checkpoints store). */
TEST(trained_grid_keeps_the_table) {
    const int g0 = 24, heads = 12;
    const int64_t R = ds_beit_table_rows(g0, g0), shape[2] = {R, heads}, T = 1 + g0 * g0;
    float *table = malloc((size_t)(R * heads) * sizeof *table), *out = malloc((size_t)(R * heads) * sizeof *out);
    ds_synth_fill("pretrained.model.blocks.7.attn.relative_position_bias_table", 2, shape, table);
    ds_beit_resize_table(table, g0, heads, g0, g0, out);
    int same = 1;
    for (int64_t r = 0; r < R; r++)
        for (int h = 0; h < heads; h++)
            same &= out[h * R + r] == table[r * heads + h];
    int32_t *index = malloc((size_t)(T * T) * sizeof *index);
    int64_t *want = malloc((size_t)(T * T) * sizeof *want);
    ds_beit_index(g0, g0, index);
    plain_index(g0, g0, want);
    int same_index = 1;
    for (int64_t k = 0; k < T * T; k++)
        same_index &= index[k] == want[k];
    free(table), free(out), free(index), free(want);
    CHECK(same && same_index);
}

int main(void) {
    RUN(bias_follows_midas_on_small_grids);
    RUN(bias_follows_midas_on_large_grids);
    RUN(trained_grid_keeps_the_table);
    return test_summary();
}
