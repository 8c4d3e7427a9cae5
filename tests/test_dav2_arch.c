/*
 * test_dav2_arch.c: the Depth Anything V2 descriptions for input sizes the
 * reference data does not have: the stage shapes of the DPT head on odd
 * patch grids (1 x 2: a 1x1 deepest map; 5 x 7; 37 x 37, where the
 * position embedding is the stored one), portrait and landscape, the sizes
 * refused; the synthetic-weight formula's published check values for its
 * extra rows; what each of the nine architectures records (head, metres).
 * The keys against the real models: test_arch.c; the fold of layer scale:
 * test_convert.c.
 */
#include <stdio.h>
#include <string.h>

#include "base/bicubic.h"         /* ds_bicubic_factor_scale */
#include "model/arch.h"          /* ds_arch_get, ds_arch_build */
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_value */

static ds_status no_weights(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)ctx, (void)d, (void)w, (void)b;
    return DS_OK;
}

static const int64_t *mark_shape(const ds_graph *g, const char *name) {
    int i = ds_graph_find_mark(g, name);
    return i >= 0 ? g->nodes[i].shape : NULL;
}

static int shape_is(const int64_t *s, int64_t h, int64_t w, int64_t c) {
    return s && s[0] == 1 && s[1] == h && s[2] == w && s[3] == c;
}

TEST(head_shapes_follow_the_patch_grid) {
    ds_param_binder binder = {.bind = no_weights};
    static const int grids[][2] = {{1, 2}, {2, 1}, {5, 7}, {7, 5}, {37, 37}, {3, 40}};
    for (int a = DS_ARCH_DEPTH_ANYTHING_V2_VITS; a <= DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL; a++) {
        const ds_arch_info *cfg = ds_arch_get((ds_arch)a);
        for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++) {
            const int gh = grids[i][0], gw = grids[i][1], f = cfg->features;
            ds_graph g;
            CHECK_OK(ds_arch_build((ds_arch)a, 14 * gh, 14 * gw, &binder, &g));
            const int64_t *pos = mark_shape(&g, "pos_embed_resized");
            CHECK(pos && pos[2] == 1 + gh * gw && pos[3] == cfg->vit_dim);
            const ds_pos_attr *pa = &g.nodes[ds_graph_find_mark(&g, "pos_embed_resized")].a.pos;
            const int same = gh == 37 && gw == 37; /* the stored embedding */
            CHECK(pa->scale_h == (same ? 1.0f : ds_bicubic_factor_scale((gh + 0.1) / 37)) &&
                  pa->scale_w == (same ? 1.0f : ds_bicubic_factor_scale((gw + 0.1) / 37)));
            CHECK(shape_is(mark_shape(&g, "backbone_layer4"), gh, gw, cfg->vit_dim));
            CHECK(shape_is(mark_shape(&g, "head_project1"), 4 * gh, 4 * gw, cfg->reassemble[0]));
            CHECK(shape_is(mark_shape(&g, "head_project2"), 2 * gh, 2 * gw, cfg->reassemble[1]));
            CHECK(shape_is(mark_shape(&g, "head_project3"), gh, gw, cfg->reassemble[2]));
            /* the stride-2 3x3 conv rounds up: ceil(g / 2), and refinenet4 goes back to g */
            CHECK(shape_is(mark_shape(&g, "head_project4"), (gh + 1) / 2, (gw + 1) / 2, cfg->reassemble[3]));
            CHECK(shape_is(mark_shape(&g, "scratch_refinenet4"), gh, gw, f));
            CHECK(shape_is(mark_shape(&g, "scratch_refinenet1"), 8 * gh, 8 * gw, f));
            CHECK(shape_is(mark_shape(&g, "head_conv1"), 8 * gh, 8 * gw, f / 2));
            CHECK(shape_is(mark_shape(&g, "head_pre_act"), 14 * gh, 14 * gw, 1));
            CHECK_MSG(shape_is(g.nodes[g.output].shape, 14 * gh, 14 * gw, 1), "%s %dx%d patches", cfg->name, gh, gw);
            CHECK(g.n_marks == 19);
            /* the head's end: ReLU, or max_depth x Sigmoid */
            const ds_node *out = &g.nodes[g.output];
            if (cfg->quantity == DS_DEPTH_METRIC)
                CHECK(out->op == DS_OP_SCALE && out->a.scale == cfg->max_depth &&
                      g.nodes[out->in[0]].op == DS_OP_ACT && g.nodes[out->in[0]].a.act == DS_ACT_SIGMOID);
            else
                CHECK(out->op == DS_OP_ACT && out->a.act == DS_ACT_RELU);
            ds_graph_free(&g);
        }
    }
}

TEST(rejects_sizes_the_network_does_not_take) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_VITS, 70, 97, &binder, &g), DS_ERR_SHAPE,
                "multiples of 14");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_VITL, 64, 96, &binder, &g), DS_ERR_SHAPE,
                "multiples of 14");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB, 8204, 14, &binder, &g), DS_ERR_SHAPE,
                "8192");
}

TEST(nine_architectures_by_name) {
    static const struct {
        const char *name;
        int dim, quantity;
        float max_depth;
    } want[] = {
        {"depth_anything_v2_vits", 384, DS_DEPTH_RELATIVE_INVERSE, 0},
        {"depth_anything_v2_vitb", 768, DS_DEPTH_RELATIVE_INVERSE, 0},
        {"depth_anything_v2_vitl", 1024, DS_DEPTH_RELATIVE_INVERSE, 0},
        {"depth_anything_v2_metric_hypersim_vits", 384, DS_DEPTH_METRIC, 20},
        {"depth_anything_v2_metric_hypersim_vitb", 768, DS_DEPTH_METRIC, 20},
        {"depth_anything_v2_metric_hypersim_vitl", 1024, DS_DEPTH_METRIC, 20},
        {"depth_anything_v2_metric_vkitti_vits", 384, DS_DEPTH_METRIC, 80},
        {"depth_anything_v2_metric_vkitti_vitb", 768, DS_DEPTH_METRIC, 80},
        {"depth_anything_v2_metric_vkitti_vitl", 1024, DS_DEPTH_METRIC, 80},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ds_arch a = ds_arch_from_name(want[i].name);
        const ds_arch_info *cfg = ds_arch_get(a);
        CHECK_MSG(cfg && !strcmp(ds_arch_name(a), want[i].name), "%s unknown", want[i].name);
        CHECK(cfg->vit_dim == want[i].dim && (int)cfg->quantity == want[i].quantity &&
              cfg->max_depth == want[i].max_depth);
        CHECK(cfg->multiple == 14 && cfg->net_size == 518 && !strcmp(cfg->resize_method, "lower_bound") &&
              cfg->depth_resize == DS_DEPTH_RESIZE_BILINEAR_ALIGNED);
    }
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* The reference README's check values for the rows Depth Anything V2 adds. */
TEST(formula_matches_published_check_values) {
    const struct {
        const char *key;
        int ndim;
        int64_t shape[4];
        uint32_t bits;
    } rows[] = {
        {"pretrained.blocks.0.ls1.gamma", 1, {384}, 0x3f0865b9},
        {"pretrained.patch_embed.proj.weight", 4, {384, 3, 14, 14}, 0xbdaee5cb},
        {"depth_head.resize_layers.0.weight", 4, {48, 48, 4, 4}, 0x3c07a0e3},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const float v = ds_synth_value(rows[i].key, rows[i].ndim, rows[i].shape, ds_synth_seed(rows[i].key), 0);
        CHECK_MSG(bits(v) == rows[i].bits, "%s[0] = %.9g (%08x), published %08x", rows[i].key, v, bits(v),
                  rows[i].bits);
    }
    /* the head's last conv: 0.005 u and 1 + 0.1 u, not the plain rows */
    const int64_t ws[4] = {1, 32, 1, 1}, bs[1] = {1};
    const char *w = "depth_head.scratch.output_conv2.2.weight", *b = "depth_head.scratch.output_conv2.2.bias";
    const float u = ds_synth_uniform(ds_synth_seed(w), 0), ub = ds_synth_uniform(ds_synth_seed(b), 0);
    CHECK(ds_synth_value(w, 4, ws, ds_synth_seed(w), 0) == 0.005f * u);
    CHECK(ds_synth_value(b, 1, bs, ds_synth_seed(b), 0) == 1.0f + 0.1f * ub);
}

int main(void) {
    RUN(head_shapes_follow_the_patch_grid);
    RUN(rejects_sizes_the_network_does_not_take);
    RUN(nine_architectures_by_name);
    RUN(formula_matches_published_check_values);
    return test_summary();
}
