/*
 * engine.c: the public inference API and the executor. Opens a GGUF model,
 * binds its tensors to the architecture's graph, plans memory per input
 * shape, and has the backend the params name (backend.h) run the nodes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/arch.h"     /* ds_arch_get, ds_arch_build */
#include "graph/backend.h"  /* ds_backend_ops, ds_backend_cpu, ds_backend_cuda* */
#include "base/cpus.h"     /* ds_cpus */
#include "base/device.h"   /* ds_device_open */
#include "base/error.h"    /* ds_fail */
#include "gguf/gguf.h"     /* ds_gguf_open */
#include "base/log.h"      /* ds_log */
#include "engine/engine_internal.h"
#include "model/bind.h"
#include "model/da3_post.h"  /* ds_da3_sky_fill */
#include "graph/planner.h"  /* ds_plan_make */

/* Input sizes kept prepared at once: a folder that mixes portrait and
 * landscape photos (and a third size) does not rebuild at every change. */
enum { ENGINE_SHAPES = 3 };

/* What is planned for one input size. */
typedef struct shape_state {
    int h, w;
    bool keep_marks;
    bool ready;
    uint64_t last_used; /* the engine's clock at its last use: the oldest goes first */
    ds_graph graph;
    ds_plan plan;
    void *prepared; /* the backend's */
} shape_state;

struct ds_engine {
    ds_engine_params params;
    ds_gguf *gguf;
    ds_model_binder binder;
    const ds_arch_info *arch;
    int n_threads;
    const ds_backend_ops *backend;
    void *backend_state;
    shape_state shapes[ENGINE_SHAPES];
    uint64_t clock;
    float *stage_nhwc, *stage_nchw; /* a stage read back, and its NCHW copy for the callback */
    size_t stage_cap;               /* floats of both */
    float *pipe_in, *pipe_out; /* network input and output of ds_engine_solve_rgb8 */
    size_t pipe_in_cap, pipe_out_cap;
    ds_run_queue *queue; /* ds_engine_submit's, created at the first submit */
    ds_net_extras extras; /* the last run's outputs beside the depth */
    float *conf_buf, *sky_buf;
    size_t extras_cap;
};

ds_engine_params ds_engine_default_params(void) {
    ds_engine_params p;
    memset(&p, 0, sizeof p);
    p.device = DS_DEVICE_AUTO;
    p.autotune = 1;
    return p;
}

static void free_shape(ds_engine *e, shape_state *s) {
    if (s->prepared)
        e->backend->release(e->backend_state, s->prepared);
    ds_graph_free(&s->graph);
    ds_plan_free(&s->plan);
    memset(s, 0, sizeof *s);
}

void ds_engine_free(ds_engine *e) {
    if (!e)
        return;
    for (int i = 0; i < ENGINE_SHAPES; i++)
        free_shape(e, &e->shapes[i]);
    if (e->backend)
        e->backend->free(e->backend_state);
    ds_run_queue_free(e->queue);
    free(e->stage_nhwc);
    free(e->stage_nchw);
    free(e->pipe_in);
    free(e->pipe_out);
    free(e->conf_buf);
    free(e->sky_buf);
    ds_model_binder_free(&e->binder);
    ds_gguf_close(e->gguf);
    free(e);
}

static void release_weights(void *ctx, const void *data, size_t bytes) {
    ds_gguf_release_pages(ctx, data, bytes);
}

static ds_status open_backend(ds_engine *e, const ds_backend_ops *b, char *describe, size_t len) {
    ds_backend_config cfg = {
        .n_threads = e->n_threads,
        .device_index = e->params.device_index,
        .reference = e->params.reference != 0,
        .autotune = e->params.autotune != 0,
        .precision = e->params.precision,
        .release_weights = release_weights,
        .release_ctx = e->gguf,
    };
    memcpy(cfg.mean, e->arch->mean, sizeof cfg.mean);
    memcpy(cfg.std, e->arch->std, sizeof cfg.std);
    cfg.depth_resize = e->arch->depth_resize;
    DS_TRY(b->create(&cfg, &e->backend_state, describe, len));
    e->backend = b;
    return DS_OK;
}

typedef struct backend_opening {
    ds_engine *e;
    char *describe;
    size_t len;
} backend_opening;

/* The backend of one concrete device (ds_device_open picks for auto). */
static ds_status open_device(void *ctx, ds_device which) {
    backend_opening *o = ctx;
    const ds_backend_ops *b = which == DS_DEVICE_CUDA       ? &ds_backend_cuda
                              : which == DS_DEVICE_CUDA_EMU ? &ds_backend_cuda_emu
                                                            : &ds_backend_cpu;
    return open_backend(o->e, b, o->describe, o->len);
}

/* The backend of params.device; auto falls back to the CPU with one line
 * that says why the GPU is not used. */
static ds_status select_backend(ds_engine *e, char *describe, size_t len) {
    backend_opening o = {e, describe, len};
    return ds_device_open(e->params.device, open_device, &o, e->params.log, e->params.log_user, "device auto");
}

ds_status ds_engine_create(const ds_engine_params *params, ds_engine **out) {
    *out = NULL;
    if (!params || !params->model_path)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine: a model path is required");
    if (params->n_threads < 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine: %d threads", params->n_threads);
    if (params->precision != DS_PRECISION_FP32 && params->precision != DS_PRECISION_TF32 &&
        params->precision != DS_PRECISION_FP16 && params->precision != DS_PRECISION_BF16)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine: unknown precision %d", (int)params->precision);
    ds_engine *e = calloc(1, sizeof *e);
    if (!e)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory creating the engine");
    e->params = *params;
    e->n_threads = params->n_threads ? params->n_threads : ds_cpus();
    char describe[256] = "";
    ds_status s = ds_gguf_open(params->model_path, &e->gguf);
    if (s == DS_OK)
        s = ds_model_binder_init(&e->binder, e->gguf, &e->arch);
    if (s == DS_OK && params->precision == DS_PRECISION_BF16 && e->arch->no_bf16)
        s = ds_fail(DS_ERR_UNSUPPORTED, "%s: precision bf16: %s; use fp32", params->model_path, e->arch->no_bf16);
    if (s == DS_OK)
        s = select_backend(e, describe, sizeof describe);
    if (s != DS_OK) {
        ds_engine_free(e);
        return s;
    }
    ds_log(params->log, params->log_user, DS_LOG_INFO, "%s: %s, %s", params->model_path,
           e->arch->name, describe);
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
    out->resize_lower_bound = strcmp(e->arch->resize_method, "lower_bound") == 0;
    out->depth_resize = e->arch->depth_resize;
    out->quantity = e->arch->quantity;
    out->max_depth = e->arch->max_depth;
    out->resize_da3 = strcmp(e->arch->resize_method, "da3") == 0;
    out->outputs = e->arch->outputs;
    out->metric_focal_ref = e->arch->metric_focal_ref;
    memcpy(out->mean, e->arch->mean, sizeof out->mean);
    memcpy(out->std, e->arch->std, sizeof out->std);
    out->n_params = e->binder.n_params;
    out->n_threads = e->n_threads;
    out->device = e->backend->name;
    out->fixed_size = e->arch->fixed_size;
    return DS_OK;
}

ds_status ds_engine_get_stats(const ds_engine *e, ds_engine_stats *out) {
    if (!e || !out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "engine_stats: NULL argument");
    memset(out, 0, sizeof *out);
    if (e->backend->stats)
        e->backend->stats(e->backend_state, out);
    return DS_OK;
}

/* Grows the stage buffers to the largest marked value of g. */
static ds_status stage_buffers(ds_engine *e, const ds_graph *g) {
    size_t need = 0;
    for (int m = 0; m < g->n_marks; m++) {
        size_t n = (size_t)ds_shape_numel(g->nodes[g->marks[m].node].shape);
        if (n > need)
            need = n;
    }
    if (need <= e->stage_cap)
        return DS_OK;
    free(e->stage_nhwc);
    free(e->stage_nchw);
    e->stage_nhwc = malloc(need * sizeof(float));
    e->stage_nchw = malloc(need * sizeof(float));
    e->stage_cap = e->stage_nhwc && e->stage_nchw ? need : 0;
    return e->stage_cap ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for the stage outputs");
}

/* Every node of g on the engine's backend, or the first it cannot run. */
static ds_status check_support(const ds_engine *e, const ds_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!e->backend->supports_op(e->backend_state, &g->nodes[i]))
            return ds_fail(DS_ERR_UNSUPPORTED, "%s: the %s backend cannot run %s (%s)", e->params.model_path,
                           e->backend->name, g->nodes[i].name, ds_op_name(g->nodes[i].op));
    return DS_OK;
}

/* The prepared size (h, w): kept from before, or made in the slot of the
 * one used longest ago. A size prepared with its marks kept serves runs
 * that do not read them. */
static ds_status prepare_shape(ds_engine *e, int h, int w, bool keep_marks, shape_state **out) {
    shape_state *s = NULL;
    for (int i = 0; i < ENGINE_SHAPES && !s; i++) {
        shape_state *c = &e->shapes[i];
        if (c->ready && c->h == h && c->w == w && (c->keep_marks || !keep_marks))
            s = c;
    }
    if (!s) {
        s = &e->shapes[0];
        for (int i = 1; i < ENGINE_SHAPES; i++)
            if (!e->shapes[i].ready || (s->ready && e->shapes[i].last_used < s->last_used))
                s = &e->shapes[i];
        free_shape(e, s);
        ds_status st = ds_arch_build(e->arch->id, h, w, &e->binder.binder, &s->graph);
        if (st != DS_OK) {
            free_shape(e, s);
            return ds_fail_context(st, "%s", e->params.model_path);
        }
        ds_plan_options po = {.keep_marks = keep_marks, .in_place = true};
        st = check_support(e, &s->graph);
        if (st == DS_OK)
            st = ds_plan_make(&s->graph, &po, &s->plan);
        if (st == DS_OK && keep_marks)
            st = stage_buffers(e, &s->graph);
        if (st == DS_OK) {
            ds_backend_shape bs = {.graph = &s->graph, .plan = &s->plan, .h = h, .w = w, .keep_marks = keep_marks};
            st = e->backend->prepare(e->backend_state, &bs, &s->prepared);
            if (st != DS_OK)
                st = ds_fail_context(st, "%s", e->params.model_path);
        }
        if (st != DS_OK) {
            free_shape(e, s);
            return st;
        }
        s->h = h;
        s->w = w;
        s->keep_marks = keep_marks;
        s->ready = true;
        ds_log(e->params.log, e->params.log_user, DS_LOG_DEBUG,
               "%dx%d: %d nodes, arena %.1f MiB (%.1f MiB without reuse)", h, w, s->graph.n_nodes,
               (double)s->plan.arena_floats * 4 / 1048576.0, (double)s->plan.sum_floats * 4 / 1048576.0);
    }
    s->last_used = ++e->clock;
    *out = s;
    return DS_OK;
}

/* Logs time per op kind, and the slowest nodes, through the log callback. */
static void log_profile(const ds_engine *e, const shape_state *s, const double *sec, double total) {
    const ds_graph *g = &s->graph;
    ds_log_fn log = e->params.log;
    void *u = e->params.log_user;
    ds_log(log, u, DS_LOG_INFO, "profile %dx%d: %.2f ms", s->h, s->w, total * 1e3);
    for (int op = 0; op < DS_OP_COUNT; op++) {
        double t = 0, macs = 0;
        int count = 0;
        for (int i = 0; i < g->n_nodes; i++)
            if ((int)g->nodes[i].op == op) {
                t += sec[i];
                macs += ds_node_macs(g, &g->nodes[i]);
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
               sec[best] > 0 ? 2 * ds_node_macs(g, n) / sec[best] / 1e9 : 0, ds_op_name(n->op),
               n->name, (long long)n->shape[1], (long long)n->shape[2], (long long)n->shape[3]);
    }
}

/* The model outputs beside the depth (marks with .output) read back into
 * the engine's buffers; then the large Depth Anything 3's sky step on the
 * depth (network size). */
static ds_status read_extras(ds_engine *e, const shape_state *s, float *depth) {
    const size_t n = (size_t)s->h * s->w;
    memset(&e->extras, 0, sizeof e->extras);
    e->extras.width = s->w;
    e->extras.height = s->h;
    for (int m = 0; m < s->graph.n_marks; m++) {
        const ds_graph_mark *k = &s->graph.marks[m];
        if (!k->output)
            continue;
        const int64_t numel = ds_shape_numel(s->graph.nodes[k->node].shape);
        float *dst = NULL;
        if (!strcmp(k->name, "pose_enc") && numel == 9) {
            dst = e->extras.pose_enc;
            e->extras.has_pose = 1;
        } else if ((!strcmp(k->name, "depth_conf") || !strcmp(k->name, "sky")) && (size_t)numel == n) {
            if (n > e->extras_cap) {
                free(e->conf_buf);
                free(e->sky_buf);
                e->conf_buf = malloc(n * sizeof(float));
                e->sky_buf = malloc(n * sizeof(float));
                e->extras_cap = e->conf_buf && e->sky_buf ? n : 0;
                if (!e->extras_cap)
                    return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a %dx%d output", s->h, s->w);
            }
            dst = k->name[0] == 'd' ? e->conf_buf : e->sky_buf;
            *(k->name[0] == 'd' ? &e->extras.confidence : &e->extras.sky) = dst;
        } else {
            return ds_fail(DS_ERR_INTERNAL, "%s: unknown output %s", e->arch->name, k->name);
        }
        DS_TRY(e->backend->read(e->backend_state, s->prepared, k->node, dst));
    }
    if (e->extras.sky && ds_da3_sky_fill(depth, e->extras.sky, n) < 0.0f)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for the sky step");
    return DS_OK;
}

const ds_net_extras *ds_engine_net_extras(const ds_engine *e) { return &e->extras; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

ds_status ds_engine_run_stages(ds_engine *e, const float *input, int h, int w, float *depth,
                               ds_stage_fn on_stage, void *user) {
    if (!e || !input || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "run: NULL argument");
    shape_state *s;
    DS_TRY(prepare_shape(e, h, w, on_stage != NULL, &s));
    double *sec = e->params.profile ? calloc((size_t)s->graph.n_nodes, sizeof *sec) : NULL;
    double t0 = now();
    ds_status st = e->backend->run(e->backend_state, s->prepared, input, depth, sec);
    if (sec && st == DS_OK)
        log_profile(e, s, sec, now() - t0);
    free(sec);
    DS_TRY(st);
    DS_TRY(read_extras(e, s, depth));
    for (int m = 0; on_stage && m < s->graph.n_marks; m++) {
        const int64_t *shape = s->graph.nodes[s->graph.marks[m].node].shape;
        DS_TRY(e->backend->read(e->backend_state, s->prepared, s->graph.marks[m].node, e->stage_nhwc));
        ds_nhwc_to_nchw(e->stage_nhwc, e->stage_nchw, shape[3], shape[1] * shape[2]);
        on_stage(s->graph.marks[m].name, e->stage_nchw, (int)shape[3], (int)shape[1], (int)shape[2], user);
    }
    return DS_OK;
}

ds_status ds_engine_run(ds_engine *e, const float *input, int h, int w, float *depth) {
    return ds_engine_run_stages(e, input, h, w, depth, NULL, NULL);
}

ds_status ds_engine_prepare_size(ds_engine *e, int h, int w) {
    if (!e)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: NULL engine");
    shape_state *s;
    return prepare_shape(e, h, w, false, &s);
}

ds_status ds_engine_prepare_network(ds_engine *e, int h, int w, void **prepared) {
    shape_state *s;
    DS_TRY(prepare_shape(e, h, w, false, &s));
    *prepared = s->prepared;
    return DS_OK;
}

const ds_backend_ops *ds_engine_backend(const ds_engine *e, void **state) {
    *state = e->backend_state;
    return e->backend;
}

bool ds_engine_profiling(const ds_engine *e) { return e->params.profile != 0; }

ds_run_queue **ds_engine_run_queue(ds_engine *e) { return &e->queue; }

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
