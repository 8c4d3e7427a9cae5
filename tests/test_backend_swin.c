/*
 * test_backend_swin.c: the Swin backbone on the emulated CUDA backend
 * (cuda-emu), against the PyTorch dumps. Everything Swin adds to a device
 * run is in the backbone: the window attention kernel with the graph's
 * constants (position-bias tables from the MLP, region labels, head scales)
 * uploaded per prepared size, patch merging, the q|0|v bias as a constant
 * of a linear, linears without bias. The decoder after it is DPT's, which
 * test_backend_cuda.c runs on this backend already; under emulation it
 * would take three quarters of the time (the emulated convolutions are the
 * reference loops): Swin2-T's whole network there takes ~45 s of CPU, its
 * backbone ~11 s. So this runs Swin2-T's graph cut after its last stage,
 * through the backend table itself, in the plain build (the sanitizer build
 * checks the same kernels in tests/test_cuda_nn_*.cu); DS_TEST_SLOW=1
 * runs the four whole networks in test_backend_cuda.c.
 *
 * Tolerance: relative L2 <= 1e-4 at every stage, as test_net_parity.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "base/error.h"      /* ds_fail */
#include "gguf/gguf.h"       /* ds_gguf_open */
#include "graph/backend.h"   /* ds_backend_cuda_emu */
#include "graph/planner.h"   /* ds_plan_make */
#include "model/bind.h"      /* ds_model_binder_init */
#include "src/io/npy.h"      /* ds_npy_read */
#include "tests/op_check.h"  /* op_rel_l2 */
#include "tests/test.h"
#include "weights_tools/synth.h" /* ds_synth_input */

/* The graph up to `last` (kept node indices), its marks up to there, its
 * output a node with at least h * w values (what run() copies out). */
static void cut_after(ds_graph *g, int last, int output) {
    g->n_nodes = last + 1;
    g->output = output;
    int kept = 0;
    for (int m = 0; m < g->n_marks; m++)
        if (g->marks[m].node <= last)
            g->marks[kept++] = g->marks[m];
    g->n_marks = kept;
}

TEST(swin2_tiny_backbone_on_cuda_emu_matches_pytorch) {
    const char *arch = "dpt_swin2_tiny_256";
    const int size = 256;
    char model[512];
    snprintf(model, sizeof model, "%s/%s.gguf", test_models_dir(), arch);
    ds_gguf *gguf;
    CHECK_OK(ds_gguf_open(model, &gguf));
    ds_model_binder binder;
    const ds_arch_info *info;
    ds_status s = ds_model_binder_init(&binder, gguf, &info);
    ds_graph g;
    memset(&g, 0, sizeof g);
    ds_plan plan;
    memset(&plan, 0, sizeof plan);
    if (s == DS_OK)
        s = ds_arch_build(info->id, size, size, &binder.binder, &g);
    int last = -1;
    if (s == DS_OK) {
        last = ds_graph_find_mark(&g, "pretrained_layer4");
        cut_after(&g, last, ds_graph_find_mark(&g, "pretrained_layer1"));
        ds_plan_options po = {.keep_marks = true, .in_place = true};
        s = ds_plan_make(&g, &po, &plan);
    }
    const ds_backend_ops *be = &ds_backend_cuda_emu;
    void *state = NULL, *prepared = NULL;
    char describe[256];
    ds_backend_config cfg = {.n_threads = 2, .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
    if (s == DS_OK)
        s = be->create(&cfg, &state, describe, sizeof describe);
    ds_backend_shape shape = {.graph = &g, .plan = &plan, .h = size, .w = size, .keep_marks = true};
    for (int i = 0; s == DS_OK && i < g.n_nodes; i++)
        if (!be->supports_op(state, &g.nodes[i]))
            s = ds_fail(DS_ERR_UNSUPPORTED, "cuda-emu cannot run %s", g.nodes[i].name);
    if (s == DS_OK)
        s = be->prepare(state, &shape, &prepared);
    float *x = malloc((size_t)3 * size * size * sizeof *x), *out = malloc((size_t)size * size * sizeof *out);
    ds_synth_input(size, size, x);
    if (s == DS_OK)
        s = be->run(state, prepared, x, out, NULL);
    int compared = 0;
    double worst = 0;
    char failure[300] = "";
    for (int m = 0; s == DS_OK && m < g.n_marks; m++) {
        const ds_node *n = &g.nodes[g.marks[m].node];
        const int64_t hw = n->shape[1] * n->shape[2], c = n->shape[3];
        float *nhwc = malloc((size_t)(hw * c) * sizeof(float)), *nchw = malloc((size_t)(hw * c) * sizeof(float));
        s = be->read(state, prepared, g.marks[m].node, nhwc);
        for (int64_t k = 0; k < c; k++)
            for (int64_t p = 0; p < hw; p++)
                nchw[k * hw + p] = nhwc[p * c + k];
        char path[600];
        snprintf(path, sizeof path, "tests/data/reference/%s/net_%dx%d/%s.npy", arch, size, size, g.marks[m].name);
        ds_npy ref;
        if (s == DS_OK && ds_npy_read(path, &ref) == DS_OK) {
            const double e = ds_npy_numel(&ref) == hw * c ? op_rel_l2(nchw, ref.data, (size_t)(hw * c)) : INFINITY;
            printf("    %-20s rel L2 %.2e\n", g.marks[m].name, e);
            worst = e > worst ? e : worst;
            if (!(e <= 1e-4) && !failure[0])
                snprintf(failure, sizeof failure, "%s: relative L2 %.3g", g.marks[m].name, e);
            compared++;
            ds_npy_free(&ref);
        }
        free(nhwc);
        free(nchw);
    }
    free(x);
    free(out);
    be->release(state, prepared);
    be->free(state);
    ds_plan_free(&plan);
    ds_graph_free(&g);
    ds_model_binder_free(&binder);
    ds_gguf_close(gguf);
    CHECK_OK(s);
    CHECK_MSG(!failure[0], "%s", failure);
    CHECK_MSG(compared == 4, "%d stages compared", compared);
}

int main(void) {
    if (SANITIZED)
        printf("SKIP swin2_tiny_backbone_on_cuda_emu_matches_pytorch: the plain build's (its kernels: "
               "test_cuda_nn_attention, test_cuda_nn_tokens)\n");
    else
        RUN(swin2_tiny_backbone_on_cuda_emu_matches_pytorch);
    return test_summary();
}
