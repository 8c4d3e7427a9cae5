/*
 * backend_cpu.c: the CPU backend. Runs every node with the fast kernel
 * table (or the reference one) in one host arena laid out by the plan;
 * weights a kernel packs are packed once per engine and layout, and shared
 * by every input size that uses that layout.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h" /* ds_backend_ops */
#include "cpu_ops.h" /* ds_cpu_kernel tables */
#include "error.h"   /* ds_fail */
#include "gguf.h"    /* ds_gguf_release_pages */

void openblas_set_num_threads(int n);

typedef struct pack_entry {
    const float *w;
    ds_op op;
    int key; /* the kernel's pack_key: which layout */
    void *packed;
} pack_entry;

typedef struct cpu_state {
    const ds_cpu_kernel *kernels;
    ds_gguf *gguf;
    int n_threads;
    ds_backend_shape shape;
    float *arena;        /* plan->arena_floats, 64-byte aligned */
    float *scratch;      /* the largest workspace any node needs */
    size_t scratch_bytes;
    const void **packed; /* per node, owned by the pack cache */
    pack_entry *packs;
    size_t n_packs, cap_packs;
} cpu_state;

static void free_shape(cpu_state *c) {
    free(c->arena);
    free(c->scratch);
    free(c->packed);
    c->arena = c->scratch = NULL;
    c->packed = NULL;
    c->scratch_bytes = 0;
    memset(&c->shape, 0, sizeof c->shape);
}

static void cpu_free(void *state) {
    cpu_state *c = state;
    if (!c)
        return;
    free_shape(c);
    for (size_t i = 0; i < c->n_packs; i++)
        free(c->packs[i].packed);
    free(c->packs);
    free(c);
}

static ds_status cpu_create(const ds_backend_config *cfg, void **state, char *describe,
                            size_t describe_len) {
    cpu_state *c = calloc(1, sizeof *c);
    if (!c)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating the CPU backend");
    c->kernels = cfg->params->reference ? ds_cpu_ref_kernels : ds_cpu_fast_kernels;
    c->gguf = cfg->gguf;
    c->n_threads = cfg->n_threads;
    snprintf(describe, describe_len, "%d CPU thread%s%s", c->n_threads,
             c->n_threads == 1 ? "" : "s", cfg->params->reference ? ", reference ops" : "");
    *state = c;
    return DS_OK;
}

/* Packed weights are shared by every shape that needs the same layout. */
static ds_status packed_for(cpu_state *c, const ds_node *n, const void **out) {
    const ds_cpu_kernel *k = &c->kernels[n->op];
    *out = NULL;
    if (!k->pack || !n->w[0].data)
        return DS_OK;
    int key = k->pack_key ? k->pack_key(n, c->n_threads) : 0;
    for (size_t i = 0; i < c->n_packs; i++)
        if (c->packs[i].w == n->w[0].data && c->packs[i].op == n->op && c->packs[i].key == key) {
            *out = c->packs[i].packed;
            return DS_OK;
        }
    if (c->n_packs == c->cap_packs) {
        size_t cap = c->cap_packs ? c->cap_packs * 2 : 128;
        pack_entry *grown = realloc(c->packs, cap * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing weights");
        c->packs = grown;
        c->cap_packs = cap;
    }
    void *p = k->pack(n, n->w[0].data, c->n_threads);
    if (!p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing %s", n->name);
    c->packs[c->n_packs++] = (pack_entry){n->w[0].data, n->op, key, p};
    /* the packed copy is what runs: let the mapped original leave memory */
    ds_gguf_release_pages(c->gguf, n->w[0].data,
                          (size_t)ds_shape_numel_n(n->w[0].shape, n->w[0].ndim) * sizeof(float));
    *out = p;
    return DS_OK;
}

static ds_status cpu_prepare(void *state, const ds_backend_shape *shape) {
    cpu_state *c = state;
    const ds_graph *g = shape->graph;
    free_shape(c);
    c->packed = calloc((size_t)g->n_nodes, sizeof *c->packed);
    for (int i = 0; i < g->n_nodes && c->packed; i++) {
        const ds_node *n = &g->nodes[i];
        const ds_cpu_kernel *k = &c->kernels[n->op];
        if (!k->run)
            return ds_fail(DS_ERR_INTERNAL, "no CPU kernel for %s (%s)", ds_op_name(n->op), n->name);
        size_t need = k->scratch_bytes ? k->scratch_bytes(n, c->n_threads) : 0;
        if (need > c->scratch_bytes)
            c->scratch_bytes = need;
        DS_TRY(packed_for(c, n, &c->packed[i]));
    }
    size_t arena_bytes = (shape->plan->arena_floats * sizeof(float) + 63) / 64 * 64;
    c->arena = aligned_alloc(64, arena_bytes ? arena_bytes : 64);
    c->scratch = aligned_alloc(64, (c->scratch_bytes + 63) / 64 * 64 + 64);
    if (!c->packed || !c->arena || !c->scratch) {
        size_t total = arena_bytes + c->scratch_bytes;
        free_shape(c);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a %dx%d input (%zu MiB)",
                       shape->h, shape->w, total >> 20);
    }
    c->shape = *shape;
    return DS_OK;
}

static ds_tensor value(const cpu_state *c, int v) {
    ds_tensor t;
    t.data = c->arena + c->shape.plan->offset[v];
    memcpy(t.shape, c->shape.graph->nodes[v].shape, sizeof t.shape);
    return t;
}

/* (C, H, W) planes -> (H, W, C) interleaved. */
static void nchw_to_nhwc(const float *src, float *dst, int64_t ch, int64_t hw) {
    for (int64_t p = 0; p < hw; p++)
        for (int64_t k = 0; k < ch; k++)
            dst[p * ch + k] = src[k * hw + p];
}

static void execute(cpu_state *c, double *node_seconds) {
    const ds_graph *g = c->shape.graph;
    ds_cpu_ctx ctx = {.n_threads = c->n_threads, .scratch = c->scratch,
                      .scratch_bytes = c->scratch_bytes};
    for (int i = 0; i < g->n_nodes; i++) {
        double t0 = node_seconds ? omp_get_wtime() : 0;
        const ds_node *n = &g->nodes[i];
        if (n->op == DS_OP_INPUT)
            continue; /* written by the caller's conversion */
        ds_tensor x, r, y = value(c, i);
        if (n->in[0] >= 0)
            x = value(c, n->in[0]);
        if (n->in[1] >= 0)
            r = value(c, n->in[1]);
        ds_cpu_op op = {.node = n, .x = n->in[0] >= 0 ? &x : NULL, .r = n->in[1] >= 0 ? &r : NULL,
                        .y = &y, .w = n->w[0].data, .b = n->w[1].data,
                        .packed = c->packed[i], .ctx = &ctx};
        c->kernels[n->op].run(&op);
        if (node_seconds)
            node_seconds[i] = omp_get_wtime() - t0;
    }
}

static ds_status cpu_run(void *state, const float *input, float *depth, double *node_seconds) {
    cpu_state *c = state;
    const ds_graph *g = c->shape.graph;
    openblas_set_num_threads(c->n_threads);
    ds_tensor in = value(c, g->input);
    nchw_to_nhwc(input, in.data, 3, (int64_t)c->shape.h * c->shape.w);
    execute(c, node_seconds);
    ds_tensor out = value(c, g->output);
    memcpy(depth, out.data, (size_t)c->shape.h * (size_t)c->shape.w * sizeof(float));
    return DS_OK;
}

static ds_status cpu_read_value(void *state, int node, float *nhwc) {
    cpu_state *c = state;
    ds_tensor t = value(c, node);
    memcpy(nhwc, t.data, (size_t)ds_shape_numel(t.shape) * sizeof(float));
    return DS_OK;
}

const ds_backend_ops ds_backend_cpu = {
    .name = "cpu",
    .create = cpu_create,
    .free = cpu_free,
    .prepare = cpu_prepare,
    .run = cpu_run,
    .read_value = cpu_read_value,
    .solve_rgb8 = NULL,
    .mesh_rgb8 = NULL,
    .read_mesh = NULL,
    .stats = NULL,
    .submit = NULL,
    .collect = NULL,
};
