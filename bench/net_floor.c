/*
 * net_floor.c: FLOPs, bytes and the H100 floor of each network, from our
 * own layer graph (the one the engines run), for bench/RESULTS.md.
 *
 *   make build/net_floor && build/net_floor
 *
 * Per network and input size:
 *  - FLOPs: 2 x the multiply-adds of convolutions, transposed convolutions,
 *    linear layers and attention (QK^T and PV), counted as runtime/engine/engine.c's
 *    profile does; elementwise work, norms and softmax are left out (< 1%).
 *  - weights: every parameter the graph binds (folded BatchNorm included
 *    once), in float32 and float16 bytes.
 *  - activations: each node reads its inputs and writes its output once
 *    (reshapes are views), and an attention its bias (BEiT: the block's
 *    table and the (T, T) index, 4 bytes an entry); the least traffic any
 *    implementation has without fusing nodes.
 *  - launches: nodes that run work (not the input, not reshapes).
 *  - floor: max(FLOPs / peak, bytes / bandwidth), a bound no implementation
 *    beats; launch overhead is not in it.
 * Peaks are the H100 SXM5 datasheet's dense figures (see bench/RESULTS.md).
 *
 * A third table prices the fp16 mode as built (runtime/cuda/dispatch.cu):
 * library convolutions and linears on fp16 tensor cores with half weights,
 * the rest (attention, depthwise and transposed convolutions) in float32,
 * float32 values between nodes plus the half copies: each library node
 * writes and reads its input in half (channels padded to 8 for a dense
 * convolution) and a convolution its half output.
 */
#include <stdio.h>
#include <string.h>

#include "model/arch.h"  /* ds_arch_build, ds_arch_get */
#include "graph/graph.h" /* ds_graph, ds_shape_numel */

typedef struct net_case {
    ds_arch arch;
    int h, w;
} net_case;

static const net_case CASES[] = {
    {DS_ARCH_MIDAS_V21_SMALL_256, 256, 256}, {DS_ARCH_MIDAS_V21_384, 384, 384},
    {DS_ARCH_DPT_HYBRID_384, 384, 384},      {DS_ARCH_DPT_LARGE_384, 384, 384},
    {DS_ARCH_DPT_HYBRID_384, 384, 672},      {DS_ARCH_DPT_LARGE_384, 384, 672},
    {DS_ARCH_DPT_SWIN2_LARGE_384, 384, 384}, {DS_ARCH_DPT_SWIN2_BASE_384, 384, 384},
    {DS_ARCH_DPT_SWIN2_TINY_256, 256, 256},  {DS_ARCH_DPT_SWIN_LARGE_384, 384, 384},
    {DS_ARCH_DPT_LEVIT_224, 224, 224},
    {DS_ARCH_DPT_BEIT_LARGE_512, 512, 512},  {DS_ARCH_DPT_BEIT_LARGE_512, 512, 672},
    {DS_ARCH_DPT_BEIT_LARGE_384, 384, 384},  {DS_ARCH_DPT_BEIT_BASE_384, 384, 384},
};

/* H100 SXM5, dense (NVIDIA H100 datasheet). */
static const double FP32_FLOPS = 67e12, TF32_FLOPS = 495e12, FP16_FLOPS = 990e12, HBM_BYTES_S = 3.35e12;

/* Counts the parameters of each bound layer. */
static ds_status count_params(void *ctx, const ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *b) {
    double *params = ctx;
    (void)w, (void)b;
    double n = 1;
    for (int i = 0; i < d->ndim; i++)
        n *= (double)d->shape[i];
    if (d->bias_name)
        n += (double)(d->kind == DS_PARAM_CONV_T ? d->shape[1] : d->shape[0]);
    if (d->kind == DS_PARAM_NORM)
        n *= 2; /* weight and bias of the same length */
    *params += n;
    return DS_OK;
}

typedef struct net_stats {
    double flops, weights, acts; /* FLOPs; parameters and activation values, counted in elements */
    int launches;
    /* fp16 as built: FLOPs and weight elements of the library nodes, and the
     * bytes their half copies move */
    double lib_flops, lib_weights, half_bytes;
} net_stats;

static int is_library_node(const ds_graph *g, const ds_node *n) {
    if (n->op == DS_OP_LINEAR)
        return 1;
    const int64_t c = n->op == DS_OP_CONV2D ? g->nodes[n->in[0]].shape[3] : 0;
    return n->op == DS_OP_CONV2D && !(n->a.conv.groups > 1 && n->a.conv.groups == c && n->shape[3] == c);
}

/* The half traffic of a library node and its weight's element count. */
static void half_costs(const ds_graph *g, const ds_node *n, net_stats *st) {
    const int64_t *in = g->nodes[n->in[0]].shape;
    const double rows = (double)(in[0] * in[1] * in[2]), out = (double)ds_shape_numel(n->shape);
    if (n->op == DS_OP_LINEAR) {
        st->lib_weights += (double)(n->shape[3] * in[3]);
        st->half_bytes += 2 * 2 * rows * (double)in[3];
        return;
    }
    const ds_conv_attr *a = &n->a.conv;
    const int64_t cp = a->groups == 1 ? (in[3] + 7) / 8 * 8 : in[3];
    st->lib_weights += (double)(n->shape[3] * a->kh * a->kw * (cp / a->groups));
    st->half_bytes += 2 * 2 * rows * (double)cp + 2 * 2 * out;
}

static int stats_of(const net_case *nc, net_stats *st) {
    memset(st, 0, sizeof *st);
    const ds_param_binder binder = {&st->weights, count_params, false};
    ds_graph g;
    if (ds_arch_build(nc->arch, nc->h, nc->w, &binder, &g) != DS_OK) {
        fprintf(stderr, "%s %dx%d: %s\n", ds_arch_name(nc->arch), nc->h, nc->w, ds_last_error());
        return -1;
    }
    for (int i = 0; i < g.n_nodes; i++) {
        const ds_node *n = &g.nodes[i];
        st->flops += 2 * ds_node_macs(&g, n);
        if (n->op == DS_OP_RESHAPE || n->op == DS_OP_INPUT)
            continue;
        if (is_library_node(&g, n)) {
            st->lib_flops += 2 * ds_node_macs(&g, n);
            half_costs(&g, n, st);
        }
        st->launches++;
        st->acts += (double)ds_shape_numel(n->shape);
        for (int k = 0; k < DS_NODE_MAX_W; k++)
            if (n->w[k].graph_owned) /* a constant of this size: the weights count the bound ones */
                st->acts += (double)ds_shape_numel_n(n->w[k].shape, n->w[k].ndim);
        for (int k = 0; k < DS_NODE_MAX_IN; k++)
            if (n->in[k] >= 0)
                st->acts += (double)ds_shape_numel(g.nodes[n->in[k]].shape);
    }
    ds_graph_free(&g);
    return 0;
}

static double ms(double work, double rate) { return work / rate * 1e3; }
static double max2(double a, double b) { return a > b ? a : b; }

int main(void) {
    enum { N_CASES = sizeof CASES / sizeof CASES[0] };
    net_stats st[N_CASES];
    for (int c = 0; c < N_CASES; c++)
        if (stats_of(&CASES[c], &st[c]) != 0)
            return 1;
    printf("| network | input | GFLOP | weights fp32 / fp16 MB | activations fp32 / fp16 MB | launches |"
           " floor fp32 FMA ms | floor TF32 ms | floor fp16 ms |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < N_CASES; c++) {
        const double bytes = 4 * (st[c].weights + st[c].acts), f = st[c].flops;
        printf("| %s | %dx%d | %.1f | %.1f / %.1f | %.1f / %.1f | %d | %.3f | %.3f | %.3f |\n",
               ds_arch_name(CASES[c].arch), CASES[c].h, CASES[c].w, f / 1e9, 4 * st[c].weights / 1e6,
               2 * st[c].weights / 1e6, 4 * st[c].acts / 1e6, 2 * st[c].acts / 1e6, st[c].launches,
               max2(ms(f, FP32_FLOPS), ms(bytes, HBM_BYTES_S)), max2(ms(f, TF32_FLOPS), ms(bytes, HBM_BYTES_S)),
               max2(ms(f, FP16_FLOPS), ms(bytes / 2, HBM_BYTES_S)));
    }
    printf("\n| network | input | compute fp32 FMA / TF32 / fp16 ms | memory fp32 / fp16 ms |\n");
    printf("|---|---|---:|---:|\n");
    for (int c = 0; c < N_CASES; c++) {
        const double bytes = 4 * (st[c].weights + st[c].acts), f = st[c].flops;
        printf("| %s | %dx%d | %.3f / %.3f / %.3f | %.3f / %.3f |\n", ds_arch_name(CASES[c].arch), CASES[c].h,
               CASES[c].w, ms(f, FP32_FLOPS), ms(f, TF32_FLOPS), ms(f, FP16_FLOPS), ms(bytes, HBM_BYTES_S),
               ms(bytes / 2, HBM_BYTES_S));
    }
    printf("\n| network | input | library GFLOP (fp16) / other GFLOP (fp32) | bytes MB (weights + values + half copies) |"
           " compute ms | memory ms | estimate ms |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < N_CASES; c++) {
        const net_stats *t = &st[c];
        const double other = t->flops - t->lib_flops;
        const double wbytes = 2 * t->lib_weights + 4 * (t->weights - t->lib_weights);
        const double bytes = wbytes + 4 * t->acts + t->half_bytes;
        const double compute = ms(t->lib_flops, FP16_FLOPS) + ms(other, FP32_FLOPS);
        printf("| %s | %dx%d | %.1f / %.1f | %.0f (%.0f + %.0f + %.0f) | %.3f | %.3f | %.3f |\n",
               ds_arch_name(CASES[c].arch), CASES[c].h, CASES[c].w, t->lib_flops / 1e9, other / 1e9, bytes / 1e6,
               wbytes / 1e6, 4 * t->acts / 1e6, t->half_bytes / 1e6, compute, ms(bytes, HBM_BYTES_S),
               max2(compute, ms(bytes, HBM_BYTES_S)));
    }
    return 0;
}
