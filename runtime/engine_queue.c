/*
 * engine_queue.c: ds_engine_submit and ds_engine_collect, a FIFO of up to
 * DS_ENGINE_QUEUE_DEPTH runs. A backend with submit/collect (CUDA) gets
 * each run in a slot of its own and overlaps them on its streams; for the
 * others (the CPU, and a profiled engine, whose runs time their nodes one by
 * one) submit runs the network at once into the slot's buffer here.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h" /* ds_engine_prepare_network, ds_engine_backend */
#include "error.h"           /* ds_fail, DS_TRY */

struct ds_run_queue {
    int head, count;                    /* the oldest slot, and the runs waiting */
    int h[DS_ENGINE_QUEUE_DEPTH], w[DS_ENGINE_QUEUE_DEPTH];
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

/* Whether the backend queues runs itself (not when profiling: a profiled
 * run times its nodes one by one, which ds_engine_run does). */
static bool backend_queues(const ds_engine *e) {
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    return b->submit && b->collect && !ds_engine_profiling(e);
}

/* The engine runs the network now into the slot's buffer. */
static ds_status run_now(ds_engine *e, ds_run_queue *q, int slot, const float *input, int h, int w) {
    const size_t n = (size_t)h * w;
    if (n > q->cap[slot]) {
        float *grown = realloc(q->out[slot], n * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "submit: out of memory for a %dx%d depth map", h, w);
        q->out[slot] = grown;
        q->cap[slot] = n;
    }
    return ds_engine_run(e, input, h, w, q->out[slot]);
}

ds_status ds_engine_submit(ds_engine *e, const float *input, int h, int w) {
    if (!e || !input)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "submit: NULL argument");
    ds_run_queue **qp = ds_engine_run_queue(e);
    if (!*qp && !(*qp = calloc(1, sizeof **qp)))
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "submit: out of memory");
    ds_run_queue *q = *qp;
    if (q->count == DS_ENGINE_QUEUE_DEPTH)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "submit: %d runs are waiting: collect one first",
                       DS_ENGINE_QUEUE_DEPTH);
    const int slot = (q->head + q->count) % DS_ENGINE_QUEUE_DEPTH;
    if (backend_queues(e)) {
        /* a new size is prepared once the runs in flight are done (the backend's prepare waits) */
        DS_TRY(ds_engine_prepare_network(e, h, w));
        void *state;
        DS_TRY(ds_engine_backend(e, &state)->submit(state, slot, input));
    } else {
        DS_TRY(run_now(e, q, slot, input, h, w));
    }
    q->h[slot] = h;
    q->w[slot] = w;
    q->count++;
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
    if (!backend_queues(e)) {
        memcpy(depth, q->out[slot], (size_t)q->h[slot] * q->w[slot] * sizeof *depth);
        return DS_OK;
    }
    void *state;
    return ds_engine_backend(e, &state)->collect(state, slot, depth);
}
