/*
 * cpu/backend.c: the CPU backend. Runs every node with the fast kernel
 * table (or the reference one) in one host arena laid out by the plan;
 * weights a kernel packs are packed once per engine and layout, and shared
 * by every input size that uses that layout. Packing happens when a size is
 * prepared, every weight at once on the engine's threads, so that the first
 * run costs what the others do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"     /* ds_fail */
#include "base/large_alloc.h" /* ds_large_alloc, ds_prefault */
#include "base/pool.h"      /* ds_parallel_for */
#include "cpu/isa.h"        /* ds_cpu_isa_select, ds_cpu_has_bf16 */
#include "cpu/ops.h"        /* ds_cpu_kernel tables */
#include "graph/backend.h"  /* ds_backend_ops */

typedef struct pack_entry {
    const float *w;
    ds_op op;
    int key; /* the kernel's pack_key: which layout */
    void *packed;
} pack_entry;

/* One prepared input size. */
typedef struct cpu_shape {
    ds_backend_shape shape;
    const void **packed; /* per node, owned by the pack cache or by own_packs */
    void **own_packs;    /* packs of graph-owned weights: this size's alone */
    int n_own_packs;
} cpu_shape;

typedef struct cpu_state {
    const ds_cpu_kernel *kernels;
    void (*release_weights)(void *ctx, const void *data, size_t bytes);
    void *release_ctx;
    int n_threads;
    float *arena;        /* the largest prepared plan's arena_floats, 64-byte aligned */
    size_t arena_bytes;
    float *scratch;      /* the largest workspace any prepared node needs */
    size_t scratch_bytes;
    pack_entry *packs;
    size_t n_packs, cap_packs;
} cpu_state;

static void cpu_free(void *state) {
    cpu_state *c = state;
    if (!c)
        return;
    free(c->arena);
    free(c->scratch);
    for (size_t i = 0; i < c->n_packs; i++)
        free(c->packs[i].packed);
    free(c->packs);
    free(c);
}

static ds_status cpu_create(const ds_backend_config *cfg, void **state, char *describe,
                            size_t describe_len) {
    char why[128];
    DS_TRY(ds_cpu_isa_select(why, sizeof why));
    const int bf16 = cfg->precision == DS_PRECISION_BF16;
    if (bf16) {
        char features[256];
        ds_cpu_features(features, sizeof features);
        if (!ds_cpu_has_bf16())
            return ds_fail(DS_ERR_UNSUPPORTED,
                           "precision bf16 on the CPU needs AVX512-BF16, which this CPU lacks (%s); use fp32",
                           features);
        if (cfg->reference || ds_cpu_isa_active() < DS_ISA_AVX512)
            return ds_fail(DS_ERR_UNSUPPORTED, "precision bf16 runs on the AVX-512 kernels, not on %s; use fp32",
                           cfg->reference ? "the reference ops" : ds_cpu_isa_name(ds_cpu_isa_active()));
    }
    cpu_state *c = calloc(1, sizeof *c);
    if (!c)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating the CPU backend");
    c->kernels = cfg->reference ? ds_cpu_ref_kernels : bf16 ? ds_cpu_fast_bf16_kernels : ds_cpu_fast_kernels;
    c->release_weights = cfg->release_weights;
    c->release_ctx = cfg->release_ctx;
    c->n_threads = cfg->n_threads;
    snprintf(describe, describe_len, "%d CPU thread%s, %s%s%s", c->n_threads,
             c->n_threads == 1 ? "" : "s",
             cfg->reference ? "reference ops" : ds_cpu_isa_name(ds_cpu_isa_active()),
             cfg->reference ? "" : " kernels", bf16 ? ", bf16 linear layers" : "");
    *state = c;
    return DS_OK;
}

static bool cpu_supports_op(void *state, const ds_node *n) {
    const cpu_state *c = state;
    return (unsigned)n->op < DS_OP_COUNT && c->kernels[n->op].run != NULL;
}

/* The cache entry of node n's weight in the layout it needs, added (not yet
 * packed: packed == NULL) when missing; *fresh says which. */
static ds_status pack_entry_of(cpu_state *c, const ds_node *n, size_t *at, int *fresh) {
    const ds_cpu_kernel *k = &c->kernels[n->op];
    int key = k->pack_key ? k->pack_key(n, c->n_threads) : 0;
    *fresh = 0;
    for (size_t i = 0; i < c->n_packs; i++)
        if (c->packs[i].w == n->w[0].data && c->packs[i].op == n->op && c->packs[i].key == key) {
            *at = i;
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
    c->packs[c->n_packs] = (pack_entry){n->w[0].data, n->op, key, NULL};
    *at = c->n_packs++;
    *fresh = 1;
    return DS_OK;
}

/* A fresh buffer's pages mapped in on the engine's threads, a piece each,
 * before any run: the first run's writes would otherwise fault them in one
 * page at a time (~150 ms of Depth Anything 3 Large's first run). */
typedef struct prefault_job {
    char *p;
    size_t bytes;
} prefault_job;

enum { PREFAULT_PIECE = 2 << 20 };

static void prefault_piece(void *ctx, int64_t i, int thread) {
    (void)thread;
    const prefault_job *j = ctx;
    const size_t at = (size_t)i * PREFAULT_PIECE;
    ds_prefault(j->p + at, j->bytes - at < PREFAULT_PIECE ? j->bytes - at : PREFAULT_PIECE);
}

/* Grows a 64-byte aligned buffer to at least `bytes` (contents dropped),
 * its pages mapped in. */
static ds_status grow(float **buf, size_t *cap, size_t bytes, int n_threads) {
    bytes = (bytes + 63) / 64 * 64 + 64;
    if (bytes <= *cap)
        return DS_OK;
    float *p = ds_large_alloc(bytes);
    if (!p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for %zu MiB of activations", bytes >> 20);
    free(*buf);
    *buf = p;
    *cap = bytes;
    prefault_job j = {(char *)p, bytes};
    ds_parallel_for(n_threads, (int64_t)((bytes + PREFAULT_PIECE - 1) / PREFAULT_PIECE), prefault_piece, &j);
    return DS_OK;
}

static void cpu_release(void *state, void *prepared) {
    (void)state;
    cpu_shape *p = prepared;
    if (!p)
        return;
    for (int i = 0; i < p->n_own_packs; i++)
        free(p->own_packs[i]);
    free(p->own_packs);
    free(p->packed);
    free(p);
}

/* One weight to pack: node n's, into *out (set once the cache stops growing). */
typedef struct pack_job {
    const ds_node *n;
    size_t entry; /* its cache entry, or (size_t)-1 for the size's own packs */
    int own;      /* its slot in own_packs */
    void **out;
} pack_job;

typedef struct pack_jobs {
    const cpu_state *c;
    pack_job *jobs;
} pack_jobs;

/* Packs one weight; the packed copy is what runs, so the mapped original
 * leaves memory at once (not once all are packed: the peak would hold both
 * copies of every weight). */
static void pack_one(void *ctx, int64_t i, int thread) {
    (void)thread;
    const pack_jobs *p = ctx;
    const ds_node *n = p->jobs[i].n;
    *p->jobs[i].out = p->c->kernels[n->op].pack(n, n->w[0].data, p->c->n_threads);
    if (*p->jobs[i].out && !n->w[0].graph_owned && p->c->release_weights)
        p->c->release_weights(p->c->release_ctx, n->w[0].data,
                              (size_t)ds_shape_numel_n(n->w[0].shape, n->w[0].ndim) * sizeof(float));
}

/* Whether node n runs on a packed copy of its weight at this size. */
static int packs(const cpu_state *c, const ds_node *n) {
    return n->w[0].data && ds_cpu_kernel_packs(&c->kernels[n->op], n, c->n_threads);
}

/* Packs what this size needs and the cache lacks, all weights at once on the
 * engine's threads (each pack is serial: the weights are the tasks). A
 * graph-owned weight (computed for this size) gets a pack of this size's own. */
static ds_status pack_size(cpu_state *c, cpu_shape *p) {
    const ds_graph *g = p->shape.graph;
    pack_job *jobs = calloc((size_t)g->n_nodes + 1, sizeof *jobs);
    size_t *entry = calloc((size_t)g->n_nodes + 1, sizeof *entry); /* node -> cache entry */
    p->own_packs = calloc((size_t)g->n_nodes + 1, sizeof *p->own_packs);
    if (!jobs || !entry || !p->own_packs) {
        free(jobs), free(entry);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing weights");
    }
    ds_status s = DS_OK;
    int64_t n_jobs = 0;
    for (int i = 0; i < g->n_nodes && s == DS_OK; i++) {
        const ds_node *n = &g->nodes[i];
        entry[i] = (size_t)-1;
        if (!packs(c, n))
            continue;
        if (n->w[0].graph_owned) {
            jobs[n_jobs++] = (pack_job){n, (size_t)-1, p->n_own_packs++, NULL};
            continue;
        }
        int fresh;
        s = pack_entry_of(c, n, &entry[i], &fresh);
        if (s == DS_OK && fresh)
            jobs[n_jobs++] = (pack_job){n, entry[i], 0, NULL};
    }
    for (int64_t j = 0; j < n_jobs; j++) /* c->packs no longer moves */
        jobs[j].out = jobs[j].entry == (size_t)-1 ? &p->own_packs[jobs[j].own]
                                                  : &c->packs[jobs[j].entry].packed;
    pack_jobs all = {c, jobs};
    if (s == DS_OK)
        ds_parallel_for(c->n_threads, n_jobs, pack_one, &all);
    for (int64_t j = 0; j < n_jobs && s == DS_OK; j++) {
        const ds_node *n = jobs[j].n;
        if (!*jobs[j].out)
            s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing %s", n->name);
    }
    /* a failed pack leaves a NULL entry: drop those, so a later prepare packs again */
    size_t kept = 0;
    for (size_t i = 0; i < c->n_packs; i++)
        if (c->packs[i].packed)
            c->packs[kept++] = c->packs[i];
    if (kept != c->n_packs && s == DS_OK)
        s = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing weights");
    c->n_packs = kept;
    if (s == DS_OK) {
        int own = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            const ds_node *n = &g->nodes[i];
            if (!packs(c, n))
                continue;
            p->packed[i] = n->w[0].graph_owned ? p->own_packs[own++] : c->packs[entry[i]].packed;
        }
    }
    free(jobs);
    free(entry);
    return s;
}

static ds_status cpu_prepare(void *state, const ds_backend_shape *shape, void **prepared) {
    cpu_state *c = state;
    const ds_graph *g = shape->graph;
    *prepared = NULL;
    cpu_shape *p = calloc(1, sizeof *p);
    if (!p || !(p->packed = calloc((size_t)g->n_nodes, sizeof *p->packed))) {
        free(p);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory preparing a %dx%d input", shape->h, shape->w);
    }
    p->shape = *shape;
    size_t scratch = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ds_node *n = &g->nodes[i];
        const ds_cpu_kernel *k = &c->kernels[n->op];
        size_t need = k->scratch_bytes ? k->scratch_bytes(n, c->n_threads) : 0;
        if (need > scratch)
            scratch = need;
    }
    ds_status s = pack_size(c, p);
    if (s == DS_OK)
        s = grow(&c->arena, &c->arena_bytes, shape->plan->arena_floats * sizeof(float), c->n_threads);
    if (s == DS_OK)
        s = grow(&c->scratch, &c->scratch_bytes, scratch, c->n_threads);
    if (s != DS_OK) {
        cpu_release(c, p);
        return ds_fail_context(s, "a %dx%d input", shape->h, shape->w);
    }
    *prepared = p;
    return DS_OK;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static ds_tensor value(const cpu_state *c, const cpu_shape *p, int v) {
    return ds_plan_value(p->shape.plan, p->shape.graph, c->arena, v);
}

static void execute(cpu_state *c, const cpu_shape *p, double *node_seconds) {
    const ds_graph *g = p->shape.graph;
    ds_cpu_ctx ctx = {.n_threads = c->n_threads, .scratch = c->scratch, .scratch_bytes = c->scratch_bytes};
    for (int i = 0; i < g->n_nodes; i++) {
        double t0 = node_seconds ? now() : 0;
        const ds_node *n = &g->nodes[i];
        if (n->op == DS_OP_INPUT)
            continue; /* written by the caller's conversion */
        ds_tensor x, r, y = value(c, p, i);
        if (n->in[0] >= 0)
            x = value(c, p, n->in[0]);
        if (n->in[1] >= 0)
            r = value(c, p, n->in[1]);
        ds_cpu_op op = {.node = n, .x = n->in[0] >= 0 ? &x : NULL, .r = n->in[1] >= 0 ? &r : NULL,
                        .y = &y, .w = n->w[0].data, .b = n->w[1].data, .w2 = n->w[2].data, .w3 = n->w[3].data,
                        .packed = p->packed[i], .ctx = &ctx};
        c->kernels[n->op].run(&op);
        if (node_seconds)
            node_seconds[i] = now() - t0;
    }
}

static ds_status cpu_run(void *state, void *prepared, const float *input, float *depth, double *node_seconds) {
    cpu_state *c = state;
    const cpu_shape *p = prepared;
    const ds_graph *g = p->shape.graph;
    ds_tensor in = value(c, p, g->input);
    ds_nchw_to_nhwc(input, in.data, 3, (int64_t)p->shape.h * p->shape.w);
    execute(c, p, node_seconds);
    ds_tensor out = value(c, p, g->output);
    memcpy(depth, out.data, (size_t)p->shape.h * (size_t)p->shape.w * sizeof(float));
    return DS_OK;
}

static ds_status cpu_read(void *state, void *prepared, int node, float *nhwc) {
    ds_tensor t = value(state, prepared, node);
    memcpy(nhwc, t.data, (size_t)ds_shape_numel(t.shape) * sizeof(float));
    return DS_OK;
}

const ds_backend_ops ds_backend_cpu = {
    .name = "cpu",
    .create = cpu_create,
    .free = cpu_free,
    .supports_op = cpu_supports_op,
    .prepare = cpu_prepare,
    .release = cpu_release,
    .run = cpu_run,
    .read = cpu_read,
    .submit = NULL,  /* the engine runs at submit */
    .collect = NULL,
    .stats = NULL,
    .photo = NULL,   /* the engine resizes on the CPU */
};
