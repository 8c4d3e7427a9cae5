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
};

void ds_run_queue_free(ds_run_queue *q) {
    if (!q)
        return;
    for (int i = 0; i < DS_ENGINE_QUEUE_DEPTH; i++)
        free(q->out[i]);
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
    /* a profiled run times its nodes one by one: ds_engine_run does that */
    const bool on_backend = b->submit && b->collect && !ds_engine_profiling(e);
    if (on_backend) {
        void *prepared;
        DS_TRY(ds_engine_prepare_network(e, h, w, &prepared));
        DS_TRY(b->submit(state, prepared, slot, input));
    } else {
        DS_TRY(slot_buffer(q, slot, h, w));
        DS_TRY(ds_engine_run(e, input, h, w, q->out[slot]));
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
    const bool on_backend = b->photo && b->photo->submit_rgb8 && !ds_engine_profiling(e);
    if (on_backend) {
        int nw, nh;
        void *prepared;
        DS_TRY(ds_engine_input_size(e, width, height, params, &nw, &nh));
        DS_TRY(ds_engine_prepare_network(e, nh, nw, &prepared));
        DS_TRY(b->photo->submit_rgb8(state, prepared, slot, rgb, width, height, stride));
    } else {
        DS_TRY(slot_buffer(q, slot, height, width));
        DS_TRY(ds_engine_solve_rgb8(e, rgb, width, height, stride, params, q->out[slot]));
    }
    enqueue(q, slot, height, width, on_backend, true);
    return DS_OK;
}

ds_status ds_engine_collect(ds_engine *e, float *depth) {
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
        memcpy(depth, q->out[slot], (size_t)q->h[slot] * q->w[slot] * sizeof *depth);
        return DS_OK;
    }
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    return q->photo[slot] ? b->photo->collect_rgb8(state, slot, depth) : b->collect(state, slot, depth);
}
