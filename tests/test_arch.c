/*
 * test_arch.c: each architecture description declares exactly the tensors of
 * the real model: every key of tests/data/reference/<model>/keys.tsv (the
 * state_dict of the official PyTorch model), with the same shape and dtype,
 * and nothing else. Also: graph shapes for odd input sizes (Depth Anything
 * V2's head on odd patch grids), what each architecture records, and size
 * errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bicubic.h" /* ds_bicubic_factor_scale */
#include "weights_tools/arch_plan.h"
#include "base/error.h"
#include "tests/test.h"

typedef struct key_row {
    char name[192];
    char dtype[16];
    char kind[16]; /* param, stat or buffer (the v3.1 key lists' 4th column), or "" */
    int ndim;
    int64_t shape[4];
    int seen;
} key_row;

static int read_keys(const char *path, key_row **rows_out) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0, cap = 0;
    key_row *rows = NULL;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char name[192], dtype[16], shape[64], kind[16] = "";
        if (sscanf(line, "%191s %15s %63s %15s", name, dtype, shape, kind) < 3)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            rows = realloc(rows, (size_t)cap * sizeof *rows);
        }
        key_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        strcpy(r->name, name);
        strcpy(r->dtype, dtype);
        strcpy(r->kind, kind);
        if (strcmp(shape, "scalar") != 0) {
            char *p = shape;
            while (*p && r->ndim < 4) {
                r->shape[r->ndim++] = strtoll(p, &p, 10);
                if (*p == 'x')
                    p++;
            }
        }
    }
    fclose(f);
    *rows_out = rows;
    return n;
}

static void check_arch_keys(ds_arch arch) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/reference/%s/keys.tsv", ds_arch_name(arch));
    key_row *rows = NULL;
    int n = read_keys(path, &rows);
    CHECK_MSG(n > 0, "cannot read %s", path);
    ds_arch_plan plan;
    CHECK_OK(ds_arch_plan_make(arch, &plan));
    int declared = 0;
    for (size_t i = 0; i < plan.n_decls; i++) {
        ds_raw_key keys[DS_RAW_KEYS_MAX];
        int nk = ds_raw_keys(&plan.decls[i], keys);
        for (int k = 0; k < nk; k++) {
            declared++;
            key_row *r = NULL;
            for (int j = 0; j < n; j++)
                if (!strcmp(rows[j].name, keys[k].name))
                    r = &rows[j];
            CHECK_MSG(r, "%s declares %s, which the real model does not have",
                      ds_arch_name(arch), keys[k].name);
            CHECK_MSG(!r->seen, "%s declared twice", keys[k].name);
            r->seen = 1;
            CHECK_MSG(r->ndim == keys[k].ndim, "%s: ndim %d, real %d", keys[k].name,
                      keys[k].ndim, r->ndim);
            for (int d = 0; d < r->ndim; d++)
                CHECK_MSG(r->shape[d] == keys[k].shape[d], "%s: dim %d is %lld, real %lld",
                          keys[k].name, d, (long long)keys[k].shape[d], (long long)r->shape[d]);
            CHECK_MSG(!strcmp(r->dtype, keys[k].is_int64 ? "int64" : "float32"),
                      "%s: dtype %s", keys[k].name, r->dtype);
            /* computed buffers are checked, never converted as weights, and nothing else is */
            const int buffer = plan.decls[i].kind == DS_PARAM_BUFFER;
            CHECK_MSG(!r->kind[0] || buffer == !strcmp(r->kind, "buffer"), "%s: kind %s, declared as %s",
                      keys[k].name, r->kind, buffer ? "a buffer" : "a parameter");
        }
    }
    for (int j = 0; j < n; j++)
        CHECK_MSG(rows[j].seen, "%s: real key %s is not declared", ds_arch_name(arch),
                  rows[j].name);
    CHECK(declared == n);
    ds_arch_plan_free(&plan);
    free(rows);
}

TEST(small_keys_match_real_model) { check_arch_keys(DS_ARCH_MIDAS_V21_SMALL_256); }
TEST(v21_384_keys_match_real_model) { check_arch_keys(DS_ARCH_MIDAS_V21_384); }
TEST(dpt_hybrid_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_HYBRID_384); }
TEST(dpt_large_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_LARGE_384); }
TEST(dpt_levit_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_LEVIT_224); }
TEST(swin2_large_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_SWIN2_LARGE_384); }
TEST(swin2_base_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_SWIN2_BASE_384); }
TEST(swin2_tiny_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_SWIN2_TINY_256); }
TEST(swin_large_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_SWIN_LARGE_384); }
TEST(depth_anything_v2_keys_match_real_models) {
    for (int a = DS_ARCH_DEPTH_ANYTHING_V2_VITS; a <= DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL; a++)
        check_arch_keys((ds_arch)a);
}
TEST(beit_large_512_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_BEIT_LARGE_512); }
TEST(beit_large_384_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_BEIT_LARGE_384); }
TEST(beit_base_384_keys_match_real_model) { check_arch_keys(DS_ARCH_DPT_BEIT_BASE_384); }

TEST(da3_keys_match_real_models) {
    for (int a = DS_ARCH_DA3_SMALL; a <= DS_ARCH_DA3METRIC_LARGE; a++)
        check_arch_keys((ds_arch)a);
}

static ds_status no_weights(void *ctx, const ds_param_decl *d, ds_tensor_ref *w,
                            ds_tensor_ref *b) {
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

TEST(stage_shapes_follow_input_size) {
    ds_param_binder binder = {.bind = no_weights};
    /* every architecture, portrait and landscape, the output is full size
     * (in multiples of 32, or of the architecture's own multiple where 32 is none) */
    static const int sizes[][2] = {{64, 96}, {96, 64}, {32, 32}, {224, 160}, {384, 672}};
    for (int a = 0; a < DS_ARCH_COUNT; a++) {
        if (ds_arch_get((ds_arch)a)->fixed_size)
            continue; /* one size: swin_stages_and_windows */
        const int m = ds_arch_get((ds_arch)a)->multiple, scale = 32 % m ? m : 32;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int h = sizes[i][0] / 32 * scale, w = sizes[i][1] / 32 * scale;
            ds_graph g;
            CHECK_OK(ds_arch_build((ds_arch)a, h, w, &binder, &g));
            CHECK_MSG(shape_is(g.nodes[g.output].shape, h, w, 1), "%s %dx%d output",
                      ds_arch_name((ds_arch)a), h, w);
            /* the MiDaS heads; Depth Anything's (head_pre_act) below */
            if (ds_graph_find_mark(&g, "head_pre_act") < 0) {
                CHECK(shape_is(mark_shape(&g, "head_pre_relu"), h, w, 1));
                CHECK(g.n_marks == 13);
            }
            ds_graph_free(&g);
        }
    }
    ds_graph g;
    CHECK_OK(ds_arch_build(DS_ARCH_MIDAS_V21_SMALL_256, 64, 96, &binder, &g));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer1"), 16, 24, 32));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer4"), 2, 3, 384));
    CHECK(shape_is(mark_shape(&g, "scratch_refinenet4"), 4, 6, 256));
    CHECK(shape_is(mark_shape(&g, "scratch_refinenet1"), 32, 48, 64));
    ds_graph_free(&g);
    CHECK_OK(ds_arch_build(DS_ARCH_DPT_LARGE_384, 64, 96, &binder, &g));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer1"), 16, 24, 256));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer3"), 4, 6, 1024));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer4"), 2, 3, 1024));
    ds_graph_free(&g);
    /* BEiT-B on a portrait 5 x 3 grid of patches: the stride-2 reassemble rounds up */
    CHECK_OK(ds_arch_build(DS_ARCH_DPT_BEIT_BASE_384, 80, 48, &binder, &g));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer1"), 20, 12, 96));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer2"), 10, 6, 192));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer3"), 5, 3, 384));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer4"), 3, 2, 768));
    CHECK(shape_is(g.nodes[g.output].shape, 80, 48, 1));
    ds_graph_free(&g);
    /* DPT takes multiples of 16, where the stride-2 reassemble rounds up */
    CHECK_OK(ds_arch_build(DS_ARCH_DPT_HYBRID_384, 48, 80, &binder, &g));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer2"), 6, 10, 512));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer4"), 2, 3, 768));
    CHECK(shape_is(g.nodes[g.output].shape, 48, 80, 1));
    ds_graph_free(&g);
}

/* dpt_levit_224 at its one size: three backbone levels, 14 -> 7 -> 4 (timm's
 * (res - 1) // 2 + 1), the decoder back up to 28, stem_transpose to 112, the
 * head to 224. */
/* A binder whose call number fail_at reports a missing tensor, as the GGUF
 * binder does (calls counts them all when fail_at < 0). */
typedef struct failing_binder {
    int calls, fail_at;
} failing_binder;

static ds_status fail_nth(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    (void)w, (void)b;
    failing_binder *f = ctx;
    if (f->calls++ == f->fail_at)
        return ds_fail(DS_ERR_MODEL, "missing tensor '%s'", d->name);
    return DS_OK;
}

/* A model file without one of its tensors, wherever it is: the build fails
 * with that error and reads nothing out of bounds on the way (the sanitizer
 * build runs this: the small model's decoder once read nodes[-1]). */
TEST(a_missing_tensor_anywhere_fails_cleanly) {
    for (int a = 0; a < DS_ARCH_COUNT; a++) {
        const ds_arch_info *info = ds_arch_get((ds_arch)a);
        const int m = info->multiple, h = info->fixed_size ? info->net_size : 2 * m * ((32 + 2 * m - 1) / (2 * m)),
                  w = info->fixed_size ? info->net_size : h + 2 * m;
        failing_binder count = {0, -1};
        ds_param_binder binder = {.ctx = &count, .bind = fail_nth};
        ds_graph g;
        CHECK_OK(ds_arch_build((ds_arch)a, h, w, &binder, &g));
        ds_graph_free(&g);
        /* 41 positions spread over the tensors, the first and the last among them */
        for (int i = 0; i <= 40; i++) {
            const int k = (int)((int64_t)(count.calls - 1) * i / 40);
            failing_binder f = {0, k};
            binder.ctx = &f;
            ds_status s = ds_arch_build((ds_arch)a, h, w, &binder, &g);
            CHECK_MSG(s == DS_ERR_MODEL && strstr(ds_last_error(), "missing tensor"),
                      "%s without its tensor %d of %d: status %d, %s", info->name, k, count.calls, (int)s,
                      ds_last_error());
            if (s == DS_OK)
                ds_graph_free(&g);
        }
    }
}

TEST(levit_stage_shapes) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    CHECK_OK(ds_arch_build(DS_ARCH_DPT_LEVIT_224, 224, 224, &binder, &g));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer1"), 14, 14, 384));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer2"), 7, 7, 512));
    CHECK(shape_is(mark_shape(&g, "pretrained_layer3"), 4, 4, 768));
    CHECK(shape_is(mark_shape(&g, "scratch_layer3_rn"), 4, 4, 256));
    CHECK(shape_is(mark_shape(&g, "scratch_refinenet3"), 7, 7, 256));
    CHECK(shape_is(mark_shape(&g, "scratch_refinenet2"), 14, 14, 256));
    CHECK(shape_is(mark_shape(&g, "scratch_refinenet1"), 28, 28, 256));
    CHECK(shape_is(mark_shape(&g, "scratch_stem_transpose"), 112, 112, 64));
    CHECK(shape_is(mark_shape(&g, "head_pre_relu"), 224, 224, 1));
    CHECK(shape_is(g.nodes[g.output].shape, 224, 224, 1));
    CHECK(!mark_shape(&g, "pretrained_layer4") && !mark_shape(&g, "scratch_refinenet4"));
    CHECK_MSG(g.n_marks == 11, "%d marks", g.n_marks);
    ds_graph_free(&g);
}

/* Each Swin network at its one size: the four stage maps, and where the
 * windows are clipped (one window over the stage) and shifted (odd blocks of
 * stages larger than the window only). */
TEST(swin_stages_and_windows) {
    ds_param_binder binder = {.bind = no_weights};
    static const struct {
        ds_arch arch;
        int size, c0, windows[4], shifted;
    } nets[] = {
        {DS_ARCH_DPT_SWIN2_LARGE_384, 384, 192, {24, 24, 24, 12}, 2},
        {DS_ARCH_DPT_SWIN2_BASE_384, 384, 128, {24, 24, 24, 12}, 2},
        {DS_ARCH_DPT_SWIN2_TINY_256, 256, 96, {16, 16, 16, 8}, 2},
        {DS_ARCH_DPT_SWIN_LARGE_384, 384, 192, {12, 12, 12, 12}, 11}, /* stage 2 (24 > 12) shifts too */
    };
    for (size_t k = 0; k < sizeof nets / sizeof *nets; k++) {
        ds_graph g;
        CHECK_OK(ds_arch_build(nets[k].arch, nets[k].size, nets[k].size, &binder, &g));
        for (int s = 0; s < 4; s++) {
            char name[32];
            snprintf(name, sizeof name, "pretrained_layer%d", s + 1);
            const int res = nets[k].size / (4 << s);
            CHECK_MSG(shape_is(mark_shape(&g, name), res, res, (int64_t)nets[k].c0 << s), "%s %s",
                      ds_arch_name(nets[k].arch), name);
        }
        CHECK(shape_is(g.nodes[g.output].shape, nets[k].size, nets[k].size, 1));
        int shifted = 0;
        for (int i = 0; i < g.n_nodes; i++) {
            const ds_node *n = &g.nodes[i];
            if (n->op != DS_OP_WINDOW_ATTENTION)
                continue;
            const int s = n->shape[3] == nets[k].c0 ? 0 : n->shape[3] == 2 * nets[k].c0 ? 1
                          : n->shape[3] == 4 * nets[k].c0 ? 2 : 3;
            CHECK_MSG(n->a.win.win_h == nets[k].windows[s] && n->a.win.win_w == nets[k].windows[s],
                      "%s stage %d: window %d", ds_arch_name(nets[k].arch), s, n->a.win.win_h);
            if (n->a.win.shift_h) {
                shifted++;
                CHECK(n->a.win.shift_h == n->a.win.win_h / 2 && n->w[1].data); /* and its labels */
            }
            CHECK(n->a.win.cosine == (nets[k].arch != DS_ARCH_DPT_SWIN_LARGE_384));
        }
        CHECK_MSG(shifted == nets[k].shifted, "%s: %d shifted blocks", ds_arch_name(nets[k].arch), shifted);
        ds_graph_free(&g);
    }
}

TEST(rejects_sizes_the_network_does_not_take) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    CHECK_FAILS(ds_arch_build(DS_ARCH_MIDAS_V21_SMALL_256, 65, 96, &binder, &g), DS_ERR_SHAPE,
                "multiples of 32");
    CHECK_FAILS(ds_arch_build(DS_ARCH_MIDAS_V21_384, 0, 96, &binder, &g), DS_ERR_SHAPE,
                "not 0x96");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_LARGE_384, 40, 96, &binder, &g), DS_ERR_SHAPE,
                "multiples of 16");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_LARGE_384, 16384, 96, &binder, &g), DS_ERR_SHAPE,
                "8192");
    CHECK_FAILS(ds_arch_build((ds_arch)42, 64, 64, &binder, &g), DS_ERR_INVALID_ARGUMENT,
                "unknown");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_LEVIT_224, 224, 256, &binder, &g), DS_ERR_SHAPE,
                "dpt_levit_224 takes only 224x224 inputs, not 224x256");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_LEVIT_224, 448, 448, &binder, &g), DS_ERR_SHAPE, "not 448x448");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_SWIN2_TINY_256, 384, 384, &binder, &g), DS_ERR_SHAPE,
                "dpt_swin2_tiny_256 takes only 256x256 inputs, not 384x384");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DPT_SWIN_LARGE_384, 384, 416, &binder, &g), DS_ERR_SHAPE,
                "not 384x416");
}

/* A graph's constants: computed for one input size, owned by the graph
 * (zeroed, aligned, marked), freed with it (ASan checks the freeing). */
TEST(graph_owns_its_constants) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    ds_builder b;
    ds_builder_init(&b, &g, &binder);
    ds_val x = ds_b_input(&b, 4, 6);
    ds_tensor_ref ref[2];
    const int64_t shape[3] = {3, 5, 7};
    float *c0 = ds_b_constant(&b, &ref[0], "bias", 3, shape);
    float *c1 = ds_b_constant(&b, &ref[1], "mask", 1, shape);
    CHECK_OK(b.status);
    CHECK(x >= 0 && c0 && c1 && c0 != c1);
    CHECK(ref[0].graph_owned && ref[0].data == c0 && ref[0].ndim == 3 && ref[0].shape[2] == 7);
    CHECK(ref[1].graph_owned && ref[1].ndim == 1 && ref[1].shape[0] == 3 && ref[1].dtype == DS_F32);
    CHECK((uintptr_t)c0 % 64 == 0 && c0[104] == 0.0f);
    c0[104] = 1.0f; /* the whole 3x5x7 is the caller's to fill */
    CHECK(g.n_constants == 2);
    ds_graph_free(&g);
    CHECK(g.n_constants == 0 && g.constants == NULL);
}

/* Depth Anything V2 on patch grids the reference data does not have: 1 x 2
 * (a 1x1 deepest map), 5 x 7, 37 x 37 (the stored position embedding),
 * portrait and landscape. */
TEST(dav2_head_shapes_follow_the_patch_grid) {
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

TEST(dav2_rejects_sizes_it_does_not_take) {
    ds_param_binder binder = {.bind = no_weights};
    ds_graph g;
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_VITS, 70, 97, &binder, &g), DS_ERR_SHAPE,
                "multiples of 14");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_VITL, 64, 96, &binder, &g), DS_ERR_SHAPE,
                "multiples of 14");
    CHECK_FAILS(ds_arch_build(DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB, 8204, 14, &binder, &g), DS_ERR_SHAPE,
                "8192");
}

TEST(dav2_nine_architectures_by_name) {
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

/* Depth Anything 3 on patch grids the reference data does not have (1 x 1,
 * portrait, landscape, 37 x 37): every output at the input's size, the
 * taps 2C wide (cat_token) for the small model, the camera token and pose. */
TEST(da3_shapes_follow_the_patch_grid) {
    ds_param_binder binder = {.bind = no_weights};
    static const int grids[][2] = {{1, 1}, {1, 2}, {7, 5}, {5, 7}, {37, 37}, {3, 40}};
    for (int a = DS_ARCH_DA3_SMALL; a <= DS_ARCH_DA3METRIC_LARGE; a++) {
        const ds_arch_info *cfg = ds_arch_get((ds_arch)a);
        const int small = a == DS_ARCH_DA3_SMALL, width = small ? 2 * cfg->vit_dim : cfg->vit_dim;
        for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++) {
            const int gh = grids[i][0], gw = grids[i][1], f = cfg->features;
            ds_graph g;
            CHECK_OK(ds_arch_build((ds_arch)a, 14 * gh, 14 * gw, &binder, &g));
            for (int k = 1; k <= 4; k++) {
                char name[32];
                snprintf(name, sizeof name, "backbone_layer%d", k);
                CHECK(shape_is(mark_shape(&g, name), 1, gh * gw, width));
            }
            CHECK(shape_is(mark_shape(&g, "head_project4"), (gh + 1) / 2, (gw + 1) / 2, cfg->reassemble[3]));
            CHECK(shape_is(mark_shape(&g, "scratch_refinenet1"), 8 * gh, 8 * gw, f));
            CHECK(shape_is(mark_shape(&g, "head_pre_act"), 14 * gh, 14 * gw, small ? 2 : 1));
            CHECK_MSG(shape_is(g.nodes[g.output].shape, 14 * gh, 14 * gw, 1), "%s %dx%d patches", cfg->name, gh, gw);
            CHECK(g.nodes[g.output].op == DS_OP_ACT && g.nodes[g.output].a.act == DS_ACT_EXP);
            int outputs = 0;
            for (int m = 0; m < g.n_marks; m++)
                outputs += g.marks[m].output;
            if (small) {
                CHECK(shape_is(mark_shape(&g, "depth_conf"), 14 * gh, 14 * gw, 1));
                CHECK(shape_is(mark_shape(&g, "cam_token"), 1, 1, width));
                CHECK(shape_is(mark_shape(&g, "pose_enc"), 1, 1, 9));
                CHECK_MSG(outputs == 2 && g.n_marks == 22, "%d outputs, %d marks", outputs, g.n_marks);
            } else {
                CHECK(shape_is(mark_shape(&g, "sky"), 14 * gh, 14 * gw, 1));
                CHECK_MSG(outputs == 1 && g.n_marks == 22, "%d outputs, %d marks", outputs, g.n_marks);
            }
            ds_graph_free(&g);
        }
    }
}

/* An attention bias is checked where the graph is built: shapes against
 * the tokens and heads, the index's dtype and every entry against the table. */
TEST(attention_bias_is_checked) {
    ds_param_binder binder = {.bind = no_weights};
    for (int variant = 0; variant < 5; variant++) {
        ds_graph g;
        ds_builder b;
        ds_builder_init(&b, &g, &binder);
        ds_val x = ds_b_input(&b, 16, 16); /* any node to reshape into 5 tokens of 3 x 12 */
        x = ds_b_conv(&b, x, &(ds_conv_spec){.name = "qkv", .out = 36 * 3, .k = 1, .stride = 1}, -1);
        x = ds_b_reshape(&b, x, 1, 1, 256, 108);
        ds_tensor_ref bias, index;
        const int64_t dense[3] = {3, 256, 256}, table[2] = {3, 9}, square[2] = {256, 256};
        float *bd = ds_b_constant(&b, &bias, "bias", variant == 0 ? 3 : 2, variant == 0 ? dense : table);
        int32_t *id = ds_b_constant_i32(&b, &index, "index", 2, square);
        CHECK(bd && id);
        id[77] = variant == 2 ? 9 : variant == 3 ? -1 : 8;
        if (variant == 4)
            index.dtype = DS_F32;
        ds_val y = ds_b_attention_bias(&b, x, 3, &bias, variant ? &index : NULL, 0);
        if (variant <= 1) {
            CHECK_OK(b.status);
            const ds_node *n = &g.nodes[y];
            CHECK(n->w[0].data == bd && (variant ? n->w[2].data == id : !n->w[2].name));
            CHECK(ds_attn_bias_per_head(n) == (variant ? 9 : 256 * 256));
        } else {
            CHECK_MSG(y < 0 && b.status == DS_ERR_INTERNAL, "variant %d accepted", variant);
            CHECK_MSG(strstr(ds_last_error(), variant == 4 ? "int32" : "outside the table"), "%s",
                      ds_last_error());
        }
        ds_graph_free(&g);
    }
}

/* A grid's relative position index (grid_w > 0) is checked entry by entry
 * against ds_grid_rel_index, and the grid against the tokens and table. */
TEST(grid_attention_bias_is_checked) {
    ds_param_binder binder = {.bind = no_weights};
    enum { GH = 3, GW = 5, T = 1 + GH * GW };
    const int64_t R = (2 * GH - 1) * (2 * GW - 1) + 3;
    for (int variant = 0; variant < 5; variant++) {
        ds_graph g;
        ds_builder b;
        ds_builder_init(&b, &g, &binder);
        ds_val x = ds_b_input(&b, 4, 4); /* 16 tokens of 3 x 16 */
        x = ds_b_conv(&b, x, &(ds_conv_spec){.name = "qkv", .out = 16 * 3, .k = 1, .stride = 1}, -1);
        x = ds_b_reshape(&b, x, 1, 1, T, 48);
        ds_tensor_ref bias, index;
        const int64_t table[2] = {2, variant == 3 ? R + 1 : R}, square[2] = {T, T};
        CHECK(ds_b_constant(&b, &bias, "bias", 2, table));
        int32_t *id = ds_b_constant_i32(&b, &index, "index", 2, square);
        CHECK(id);
        for (int64_t i = 0; i < T * T; i++)
            id[i] = ds_grid_rel_index(GH, GW, i / T, i % T);
        if (variant == 1) /* one entry off, still inside the table */
            id[7 * T + 9] -= 1;
        if (variant == 2) /* the class query's row */
            id[3] = 0;
        const int grid_w = variant == 4 ? 4 : GW; /* 4 does not divide 15 patches */
        ds_val y = ds_b_attention_bias(&b, x, 2, &bias, &index, grid_w);
        if (variant == 0) {
            CHECK_OK(b.status);
            CHECK(g.nodes[y].a.attn.grid_w == GW);
        } else {
            CHECK_MSG(y < 0 && b.status == DS_ERR_INTERNAL, "variant %d accepted", variant);
            CHECK_MSG(strstr(ds_last_error(), variant <= 2 ? "is not the 3x5 grid's" : "no grid"), "%s",
                      ds_last_error());
        }
        ds_graph_free(&g);
    }
}

int main(void) {
    RUN(graph_owns_its_constants);
    RUN(attention_bias_is_checked);
    RUN(grid_attention_bias_is_checked);
    RUN(small_keys_match_real_model);
    RUN(v21_384_keys_match_real_model);
    RUN(dpt_hybrid_keys_match_real_model);
    RUN(dpt_large_keys_match_real_model);
    RUN(dpt_levit_keys_match_real_model);
    RUN(a_missing_tensor_anywhere_fails_cleanly);
    RUN(levit_stage_shapes);
    RUN(swin2_large_keys_match_real_model);
    RUN(swin2_base_keys_match_real_model);
    RUN(swin2_tiny_keys_match_real_model);
    RUN(swin_large_keys_match_real_model);
    RUN(depth_anything_v2_keys_match_real_models);
    RUN(beit_large_512_keys_match_real_model);
    RUN(beit_large_384_keys_match_real_model);
    RUN(beit_base_384_keys_match_real_model);
    RUN(stage_shapes_follow_input_size);
    RUN(swin_stages_and_windows);
    RUN(rejects_sizes_the_network_does_not_take);
    RUN(dav2_head_shapes_follow_the_patch_grid);
    RUN(dav2_rejects_sizes_it_does_not_take);
    RUN(dav2_nine_architectures_by_name);
    RUN(da3_keys_match_real_models);
    RUN(da3_shapes_follow_the_patch_grid);
    return test_summary();
}
