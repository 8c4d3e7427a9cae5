/*
 * engine.c: the public inference API. Opens a GGUF model, binds its tensors
 * to the architecture's graph, plans memory per input shape and runs the
 * nodes with the CPU backend's kernels.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"     /* ds_arch_get, ds_arch_build */
#include "cpu_ops.h"  /* ds_cpu_kernel tables */
#include "error.h"    /* ds_fail */
#include "gguf.h"     /* ds_gguf_open */
#include "log.h"      /* ds_log */
#include "engine_internal.h"
#include "model_bind.h"
#include "planner.h"  /* ds_plan_make */

void openblas_set_num_threads(int n);

/* What is planned for one input size; rebuilt when the size changes. */
typedef struct shape_state {
    int h, w;
    bool keep_marks;
    ds_graph graph;
    ds_plan plan;
    float *arena;      /* plan.arena_floats, 64-byte aligned */
    float *scratch;    /* the largest workspace any node needs */
    size_t scratch_bytes;
    const void **packed; /* per node, owned by the engine's pack cache */
    float *stage_buf;  /* NCHW copy of a stage for the callback */
} shape_state;

typedef struct pack_entry {
    const float *w;
    ds_op op;
    void *packed;
} pack_entry;

struct ds_engine {
    ds_engine_params params;
    ds_gguf *gguf;
    ds_model_binder binder;
    const ds_arch_info *arch;
    const ds_cpu_kernel *kernels;
    int n_threads;
    shape_state shape;
    pack_entry *packs;
    size_t n_packs, cap_packs;
    float *pipe_in, *pipe_out; /* network input and output of ds_engine_solve_rgb8 */
    size_t pipe_in_cap, pipe_out_cap;
};

ds_engine_params ds_engine_default_params(void) {
    ds_engine_params p;
    memset(&p, 0, sizeof p);
    p.device = DS_DEVICE_AUTO;
    return p;
}

static void free_shape(shape_state *s) {
    ds_graph_free(&s->graph);
    ds_plan_free(&s->plan);
    free(s->arena);
    free(s->scratch);
    free(s->packed);
    free(s->stage_buf);
    memset(s, 0, sizeof *s);
}

void ds_engine_free(ds_engine *e) {
    if (!e)
        return;
    free_shape(&e->shape);
    for (size_t i = 0; i < e->n_packs; i++)
        free(e->packs[i].packed);
    free(e->packs);
    free(e->pipe_in);
    free(e->pipe_out);
    ds_model_binder_free(&e->binder);
    ds_gguf_close(e->gguf);
    free(e);
}

static ds_status select_device(ds_engine *e) {
    switch (e->params.device) {
    case DS_DEVICE_AUTO:
    case DS_DEVICE_CPU:
        return DS_OK;
    case DS_DEVICE_CUDA:
    case DS_DEVICE_CUDA_EMU:
        return ds_fail(DS_ERR_UNSUPPORTED, "%s: this build has no CUDA backend yet; use the CPU",
                       e->params.model_path);
    }
    return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown device %d", (int)e->params.device);
}

ds_status ds_engine_create(const ds_engine_params *params, ds_engine **out) {
    *out = NULL;
    if (!params || !params->model_path)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine: a model path is required");
    if (params->n_threads < 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine: %d threads", params->n_threads);
    ds_engine *e = calloc(1, sizeof *e);
    if (!e)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating the engine");
    e->params = *params;
    e->n_threads = params->n_threads ? params->n_threads : omp_get_num_procs();
    e->kernels = params->reference ? ds_cpu_ref_kernels : ds_cpu_fast_kernels;
    ds_status s = select_device(e);
    if (s == DS_OK)
        s = ds_gguf_open(params->model_path, &e->gguf);
    if (s == DS_OK)
        s = ds_model_binder_init(&e->binder, e->gguf, &e->arch);
    if (s != DS_OK) {
        ds_engine_free(e);
        return s;
    }
    ds_log(params->log, params->log_user, DS_LOG_INFO, "%s: %s, %d CPU thread%s%s",
           params->model_path, e->arch->name, e->n_threads, e->n_threads == 1 ? "" : "s",
           params->reference ? ", reference ops" : "");
    *out = e;
    return DS_OK;
}

ds_status ds_engine_model_info(const ds_engine *e, ds_model_info *out) {
    if (!e || !out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "model_info: NULL argument");
    memset(out, 0, sizeof *out);
    out->arch = e->arch->id;
    out->arch_name = e->arch->name;
    out->net_size = e->arch->net_size;
    out->input_multiple = e->arch->multiple;
    out->resize_upper_bound = strcmp(e->arch->resize_method, "upper_bound") == 0;
    memcpy(out->mean, e->arch->mean, sizeof out->mean);
    memcpy(out->std, e->arch->std, sizeof out->std);
    out->n_params = e->binder.n_params;
    out->n_threads = e->n_threads;
    return DS_OK;
}

/* Packed weights are shared by every shape: they depend on the weights only. */
static ds_status packed_for(ds_engine *e, const ds_node *n, const void **out) {
    const ds_cpu_kernel *k = &e->kernels[n->op];
    *out = NULL;
    if (!k->pack || !n->w[0].data)
        return DS_OK;
    for (size_t i = 0; i < e->n_packs; i++)
        if (e->packs[i].w == n->w[0].data && e->packs[i].op == n->op) {
            *out = e->packs[i].packed;
            return DS_OK;
        }
    if (e->n_packs == e->cap_packs) {
        size_t cap = e->cap_packs ? e->cap_packs * 2 : 128;
        pack_entry *grown = realloc(e->packs, cap * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing weights");
        e->packs = grown;
        e->cap_packs = cap;
    }
    void *p = k->pack(n, n->w[0].data);
    if (!p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory packing %s", n->name);
    e->packs[e->n_packs++] = (pack_entry){n->w[0].data, n->op, p};
    /* the packed copy is what runs: let the mapped original leave memory */
    ds_gguf_release_pages(e->gguf, n->w[0].data,
                          (size_t)ds_shape_numel_n(n->w[0].shape, n->w[0].ndim) * sizeof(float));
    *out = p;
    return DS_OK;
}

static ds_status prepare_shape(ds_engine *e, int h, int w, bool keep_marks) {
    shape_state *s = &e->shape;
    if (s->arena && s->h == h && s->w == w && s->keep_marks == keep_marks)
        return DS_OK;
    free_shape(s);
    ds_status st = ds_arch_build(e->arch->id, h, w, &e->binder.binder, &s->graph);
    if (st != DS_OK)
        return ds_fail_context(st, "%s", e->params.model_path);
    ds_plan_options po = {.keep_marks = keep_marks, .in_place = true};
    DS_TRY(ds_plan_make(&s->graph, &po, &s->plan));
    s->packed = calloc((size_t)s->graph.n_nodes, sizeof *s->packed);
    size_t stage_floats = 0;
    for (int i = 0; i < s->graph.n_nodes && s->packed; i++) {
        const ds_node *n = &s->graph.nodes[i];
        const ds_cpu_kernel *k = &e->kernels[n->op];
        if (!k->run)
            return ds_fail(DS_ERR_INTERNAL, "no CPU kernel for %s (%s)", ds_op_name(n->op), n->name);
        size_t need = k->scratch_bytes ? k->scratch_bytes(n, e->n_threads) : 0;
        if (need > s->scratch_bytes)
            s->scratch_bytes = need;
        DS_TRY(packed_for(e, n, &s->packed[i]));
    }
    for (int m = 0; m < s->graph.n_marks; m++) {
        size_t n = (size_t)ds_shape_numel(s->graph.nodes[s->graph.marks[m].node].shape);
        if (n > stage_floats)
            stage_floats = n;
    }
    size_t arena_bytes = (s->plan.arena_floats * sizeof(float) + 63) / 64 * 64;
    s->arena = aligned_alloc(64, arena_bytes ? arena_bytes : 64);
    s->scratch = aligned_alloc(64, (s->scratch_bytes + 63) / 64 * 64 + 64);
    s->stage_buf = keep_marks ? malloc(stage_floats * sizeof(float) + 1) : NULL;
    if (!s->packed || !s->arena || !s->scratch || (keep_marks && !s->stage_buf)) {
        size_t total = arena_bytes + s->scratch_bytes;
        free_shape(s);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %dx%d input (%zu MiB)",
                       e->params.model_path, h, w, total >> 20);
    }
    s->h = h;
    s->w = w;
    s->keep_marks = keep_marks;
    ds_log(e->params.log, e->params.log_user, DS_LOG_DEBUG,
           "%dx%d: %d nodes, arena %.1f MiB (%.1f MiB without reuse), scratch %.1f MiB", h, w,
           s->graph.n_nodes, (double)s->plan.arena_floats * 4 / 1048576.0,
           (double)s->plan.sum_floats * 4 / 1048576.0, (double)s->scratch_bytes / 1048576.0);
    return DS_OK;
}

static ds_tensor value(const shape_state *s, int v) {
    ds_tensor t;
    t.data = s->arena + s->plan.offset[v];
    memcpy(t.shape, s->graph.nodes[v].shape, sizeof t.shape);
    return t;
}

/* (C, H, W) planes -> (H, W, C) interleaved, and back. */
static void nchw_to_nhwc(const float *src, float *dst, int64_t c, int64_t hw) {
    for (int64_t p = 0; p < hw; p++)
        for (int64_t k = 0; k < c; k++)
            dst[p * c + k] = src[k * hw + p];
}

static void nhwc_to_nchw(const float *src, float *dst, int64_t c, int64_t hw) {
    for (int64_t k = 0; k < c; k++)
        for (int64_t p = 0; p < hw; p++)
            dst[k * hw + p] = src[p * c + k];
}

static void execute(ds_engine *e, double *node_seconds) {
    shape_state *s = &e->shape;
    ds_cpu_ctx ctx = {.n_threads = e->n_threads, .scratch = s->scratch,
                      .scratch_bytes = s->scratch_bytes};
    for (int i = 0; i < s->graph.n_nodes; i++) {
        double t0 = node_seconds ? omp_get_wtime() : 0;
        const ds_node *n = &s->graph.nodes[i];
        if (n->op == DS_OP_INPUT)
            continue; /* written by the caller's conversion */
        ds_tensor x, r, y = value(s, i);
        if (n->in[0] >= 0)
            x = value(s, n->in[0]);
        if (n->in[1] >= 0)
            r = value(s, n->in[1]);
        ds_cpu_op op = {.node = n, .x = n->in[0] >= 0 ? &x : NULL, .r = n->in[1] >= 0 ? &r : NULL,
                        .y = &y, .w = n->w[0].data, .b = n->w[1].data,
                        .packed = s->packed[i], .ctx = &ctx};
        e->kernels[n->op].run(&op);
        if (node_seconds)
            node_seconds[i] = omp_get_wtime() - t0;
    }
}

/* Work of a node in multiply-adds, for the profile. */
static double node_macs(const ds_graph *g, const ds_node *n) {
    const int64_t *in = n->in[0] >= 0 ? g->nodes[n->in[0]].shape : n->shape;
    double out = (double)ds_shape_numel(n->shape);
    switch (n->op) {
    case DS_OP_CONV2D:
        return out * n->a.conv.kh * n->a.conv.kw * (double)(in[3] / n->a.conv.groups);
    case DS_OP_CONV_TRANSPOSE:
        return out * (double)in[3];
    case DS_OP_LINEAR:
        return out * (double)in[3];
    case DS_OP_ATTENTION:
        return 2.0 * (double)n->shape[2] * (double)n->shape[2] * (double)n->shape[3];
    default:
        return 0;
    }
}

/* Logs time per op kind, and the slowest nodes, through the log callback. */
static void log_profile(const ds_engine *e, const double *sec, double total) {
    const ds_graph *g = &e->shape.graph;
    ds_log_fn log = e->params.log;
    void *u = e->params.log_user;
    ds_log(log, u, DS_LOG_INFO, "profile %dx%d: %.2f ms", e->shape.h, e->shape.w, total * 1e3);
    for (int op = 0; op < DS_OP_COUNT; op++) {
        double t = 0, macs = 0;
        int count = 0;
        for (int i = 0; i < g->n_nodes; i++)
            if ((int)g->nodes[i].op == op) {
                t += sec[i];
                macs += node_macs(g, &g->nodes[i]);
                count++;
            }
        if (count)
            ds_log(log, u, DS_LOG_INFO, "  %-15s %4d nodes %9.2f ms %5.1f%% %7.1f GFLOP/s",
                   ds_op_name((ds_op)op), count, t * 1e3, 100 * t / total,
                   t > 0 ? 2 * macs / t / 1e9 : 0);
    }
    int shown[12];
    for (int k = 0; k < 12 && k < g->n_nodes; k++) {
        int best = -1;
        for (int i = 0; i < g->n_nodes; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= shown[j] == i;
            if (!taken && (best < 0 || sec[i] > sec[best]))
                best = i;
        }
        shown[k] = best;
        const ds_node *n = &g->nodes[best];
        ds_log(log, u, DS_LOG_INFO, "  %8.2f ms %7.1f GFLOP/s  %s %s %lldx%lldx%lld", sec[best] * 1e3,
               sec[best] > 0 ? 2 * node_macs(g, n) / sec[best] / 1e9 : 0, ds_op_name(n->op),
               n->name, (long long)n->shape[1], (long long)n->shape[2], (long long)n->shape[3]);
    }
}

ds_status ds_engine_run_stages(ds_engine *e, const float *input, int h, int w, float *depth,
                               ds_stage_fn on_stage, void *user) {
    if (!e || !input || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "run: NULL argument");
    DS_TRY(prepare_shape(e, h, w, on_stage != NULL));
    shape_state *s = &e->shape;
    openblas_set_num_threads(e->n_threads);
    ds_tensor in = value(s, s->graph.input);
    nchw_to_nhwc(input, in.data, 3, (int64_t)h * w);
    double *sec = e->params.profile ? calloc((size_t)s->graph.n_nodes, sizeof *sec) : NULL;
    double t0 = omp_get_wtime();
    execute(e, sec);
    if (sec)
        log_profile(e, sec, omp_get_wtime() - t0);
    free(sec);
    ds_tensor out = value(s, s->graph.output);
    memcpy(depth, out.data, (size_t)h * (size_t)w * sizeof(float));
    for (int m = 0; on_stage && m < s->graph.n_marks; m++) {
        ds_tensor t = value(s, s->graph.marks[m].node);
        nhwc_to_nchw(t.data, s->stage_buf, t.shape[3], t.shape[1] * t.shape[2]);
        on_stage(s->graph.marks[m].name, s->stage_buf, (int)t.shape[3], (int)t.shape[1],
                 (int)t.shape[2], user);
    }
    return DS_OK;
}

ds_status ds_engine_run(ds_engine *e, const float *input, int h, int w, float *depth) {
    return ds_engine_run_stages(e, input, h, w, depth, NULL, NULL);
}

static ds_status ensure(float **buf, size_t *cap, size_t n) {
    if (n <= *cap)
        return DS_OK;
    float *p = realloc(*buf, n * sizeof *p);
    if (!p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a %zu-float buffer", n);
    *buf = p;
    *cap = n;
    return DS_OK;
}

ds_status ds_engine_pipeline_buffers(ds_engine *e, size_t n_in, size_t n_out, float **in,
                                     float **out) {
    DS_TRY(ensure(&e->pipe_in, &e->pipe_in_cap, n_in));
    DS_TRY(ensure(&e->pipe_out, &e->pipe_out_cap, n_out));
    *in = e->pipe_in;
    *out = e->pipe_out;
    return DS_OK;
}

int ds_engine_threads(const ds_engine *e) { return e->n_threads; }
