/*
 * engine/queue.c: ds_engine_submit, ds_engine_submit_rgb8 and
 * ds_engine_collect, a FIFO of up to DS_ENGINE_QUEUE_DEPTH runs. A backend
 * with submit/collect (CUDA) gets each run in a slot of its own and overlaps
 * them on its streams, photos with their resizes on the device; for the
 * others (the CPU, and a profiled engine, whose runs time their nodes one by
 * one) submit runs at once into the slot's buffer here.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h" /* ds_engine_prepare_network, ds_engine_backend */
#include "base/error.h"           /* ds_fail, DS_TRY */

struct ds_run_queue {
    int head, count;                    /* the oldest slot, and the runs waiting */
    int h[DS_ENGINE_QUEUE_DEPTH], w[DS_ENGINE_QUEUE_DEPTH]; /* the depth map each run gives */
    bool on_backend[DS_ENGINE_QUEUE_DEPTH]; /* queued in the backend, else made at submit into out */
    bool photo[DS_ENGINE_QUEUE_DEPTH];  /* a photo's run (ds_engine_submit_rgb8) */
    float *out[DS_ENGINE_QUEUE_DEPTH];  /* (h, w): runs made at submit */
    size_t cap[DS_ENGINE_QUEUE_DEPTH];  /* floats of out */
    ds_extras extras[DS_ENGINE_QUEUE_DEPTH]; /* runs made at submit: what they gave beside the depth */
    float *conf[DS_ENGINE_QUEUE_DEPTH]; /* (h, w): their confidence maps */
    size_t conf_cap[DS_ENGINE_QUEUE_DEPTH];
};

void ds_run_queue_free(ds_run_queue *q) {
    if (!q)
        return;
    for (int i = 0; i < DS_ENGINE_QUEUE_DEPTH; i++) {
        free(q->out[i]);
        free(q->conf[i]);
    }
    free(q);
}

int ds_engine_pending(const ds_engine *e) {
    if (!e)
        return 0;
    const ds_run_queue *q = *ds_engine_run_queue((ds_engine *)e);
    return q ? q->count : 0;
}

/* The queue with a free slot, or why there is none. */
static ds_status free_slot(ds_engine *e, const char *call, ds_run_queue **out, int *slot) {
    ds_run_queue **qp = ds_engine_run_queue(e);
    if (!*qp && !(*qp = calloc(1, sizeof **qp)))
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", call);
    ds_run_queue *q = *qp;
    if (q->count == DS_ENGINE_QUEUE_DEPTH)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: %d runs are waiting: collect one first", call,
                       DS_ENGINE_QUEUE_DEPTH);
    *out = q;
    *slot = (q->head + q->count) % DS_ENGINE_QUEUE_DEPTH;
    return DS_OK;
}

/* The slot's buffer for a run made now, of h x w floats. */
static ds_status slot_buffer(ds_run_queue *q, int slot, int h, int w) {
    const size_t n = (size_t)h * w;
    if (n <= q->cap[slot])
        return DS_OK;
    float *grown = realloc(q->out[slot], n * sizeof *grown);
    if (!grown)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "submit: out of memory for a %dx%d depth map", h, w);
    q->out[slot] = grown;
    q->cap[slot] = n;
    return DS_OK;
}

/* Whether runs must be made here: a model with outputs beside the depth
 * (read, and the sky step applied, after each run) or a profiled engine
 * (ds_engine_run times the nodes one by one). */
static bool made_here(ds_engine *e) {
    ds_model_info info;
    return ds_engine_profiling(e) || ds_engine_model_info(e, &info) != DS_OK || info.outputs || info.resize_da3;
}

/* The slot's extras, with room for a confidence map of h x w when the model gives one. */
static ds_status slot_extras(ds_engine *e, ds_run_queue *q, int slot, int h, int w) {
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    memset(&q->extras[slot], 0, sizeof q->extras[slot]);
    const size_t n = (size_t)h * w;
    if (!(info.outputs & DS_OUTPUT_CONFIDENCE))
        return DS_OK;
    if (n > q->conf_cap[slot]) {
        float *grown = realloc(q->conf[slot], n * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "submit: out of memory for a %dx%d confidence map", h, w);
        q->conf[slot] = grown;
        q->conf_cap[slot] = n;
    }
    q->extras[slot].confidence = q->conf[slot];
    return DS_OK;
}

static void enqueue(ds_run_queue *q, int slot, int h, int w, bool on_backend, bool photo) {
    q->h[slot] = h;
    q->w[slot] = w;
    q->on_backend[slot] = on_backend;
    q->photo[slot] = photo;
    q->count++;
}

ds_status ds_engine_submit(ds_engine *e, const float *input, int h, int w) {
    if (!e || !input)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "submit: NULL argument");
    ds_run_queue *q;
    int slot;
    DS_TRY(free_slot(e, "submit", &q, &slot));
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    const bool on_backend = b->submit && b->collect && !made_here(e);
    if (on_backend) {
        void *prepared;
        DS_TRY(ds_engine_prepare_network(e, h, w, &prepared));
        DS_TRY(b->submit(state, prepared, slot, input));
    } else {
        DS_TRY(slot_buffer(q, slot, h, w));
        DS_TRY(slot_extras(e, q, slot, h, w));
        DS_TRY(ds_engine_run_ex(e, input, h, w, q->out[slot], &q->extras[slot]));
    }
    enqueue(q, slot, h, w, on_backend, false);
    return DS_OK;
}

ds_status ds_engine_submit_rgb8(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                                const ds_solve_params *params) {
    if (!e || !rgb)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "submit: NULL argument");
    if (width <= 0 || height <= 0 || stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "submit: a %dx%d photo with %zu bytes per row", width, height,
                       stride);
    ds_run_queue *q;
    int slot;
    DS_TRY(free_slot(e, "submit", &q, &slot));
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    const bool on_backend = b->photo && b->photo->submit_rgb8 && !made_here(e) && !(params && params->net_output);
    if (on_backend) {
        int nw, nh;
        void *prepared;
        DS_TRY(ds_engine_input_size(e, width, height, params, &nw, &nh));
        DS_TRY(ds_engine_prepare_network(e, nh, nw, &prepared));
        DS_TRY(b->photo->submit_rgb8(state, prepared, slot, rgb, width, height, stride));
    } else {
        int ow = width, oh = height; /* the depth map's size: the photo's, or the network's */
        if (params && params->net_output)
            DS_TRY(ds_engine_input_size(e, width, height, params, &ow, &oh));
        DS_TRY(slot_buffer(q, slot, oh, ow));
        DS_TRY(slot_extras(e, q, slot, oh, ow));
        DS_TRY(ds_engine_solve_rgb8_ex(e, rgb, width, height, stride, params, q->out[slot], &q->extras[slot]));
        enqueue(q, slot, oh, ow, false, true);
        return DS_OK;
    }
    enqueue(q, slot, height, width, on_backend, true);
    return DS_OK;
}

ds_status ds_engine_collect(ds_engine *e, float *depth) { return ds_engine_collect_ex(e, depth, NULL); }

ds_status ds_engine_collect_ex(ds_engine *e, float *depth, ds_extras *extras) {
    if (extras)
        ds_extras_clear(extras);
    if (!e || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "collect: NULL argument");
    ds_run_queue *q = *ds_engine_run_queue(e);
    if (!q || q->count == 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "collect: no run was submitted");
    const int slot = q->head;
    /* the slot leaves the queue even when its run failed: the next collect is the next run's */
    q->head = (q->head + 1) % DS_ENGINE_QUEUE_DEPTH;
    q->count--;
    if (!q->on_backend[slot]) {
        const size_t n = (size_t)q->h[slot] * q->w[slot];
        memcpy(depth, q->out[slot], n * sizeof *depth);
        if (extras) {
            float *conf = extras->confidence;
            *extras = q->extras[slot];
            extras->confidence = conf;
            extras->has_confidence = q->extras[slot].has_confidence && conf;
            if (extras->has_confidence)
                memcpy(conf, q->conf[slot], n * sizeof *conf);
        }
        return DS_OK;
    }
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    return q->photo[slot] ? b->photo->collect_rgb8(state, slot, depth) : b->collect(state, slot, depth);
}
