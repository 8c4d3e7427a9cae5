/*
 * stream.cc: emulated streams, events and graphs. Every stream is in order
 * and runs an operation the moment it is issued, so a stream is always
 * idle and synchronizing is free. While a stream is captured its operations
 * are recorded instead; a graph replays them in order, each launch with a
 * fresh random schedule. CUDA's capture rules are kept: no allocation, no
 * synchronous copy and no use of the legacy stream during a capture.
 */
#include <string.h>
#include <time.h>

#include "gpu/emu/emu_internal.h" /* run_launch, mem_inside, emu_lock */
#include "base/error.h"  /* ds_fail */
#include "gpu/gpu_rt.h" /* the functions defined here */

namespace ds_emu {

struct op {
    enum kind_t { KERNEL, COPY, SET, RECORD, HOST } kind;
    launch_cfg cfg;
    std::shared_ptr<kernel_body> body;
    void *dst;
    const void *src;
    size_t bytes;
    int byte;
    struct event *ev;
    std::function<ds_status()> host;
    const char *what;
};

struct stream {
    std::vector<op> *capture; /* the operations recorded so far, or NULL */
};

struct event {
    bool recorded;
    double ms; /* host time when recorded */
};

struct graph {
    std::vector<op> ops;
};

static stream g_legacy; /* stream 0 */
static int g_capturing; /* streams being captured */

bool capture_active(void) { return g_capturing > 0; }

static stream *as_stream(cudaStream_t s) { return s ? (stream *)s : &g_legacy; }

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static ds_status run_op(const op &o) {
    switch (o.kind) {
    case op::KERNEL: return run_launch(o.cfg, o.body.get());
    case op::COPY:
        if (o.bytes)
            memmove(o.dst, o.src, o.bytes);
        return DS_OK;
    case op::SET:
        if (o.bytes)
            memset(o.dst, o.byte, o.bytes);
        return DS_OK;
    case op::RECORD:
        o.ev->recorded = true;
        o.ev->ms = now_ms();
        return DS_OK;
    case op::HOST: return o.host();
    }
    return DS_OK;
}

/* Lock held. */
static ds_status issue(cudaStream_t s, op &&o, const char *what) {
    stream *st = as_stream(s);
    if (st->capture) {
        st->capture->push_back(std::move(o));
        return DS_OK;
    }
    if (!s && g_capturing)
        return ds_fail(DS_ERR_DEVICE, "%s on the legacy stream while a stream is being captured", what);
    return run_op(o);
}

ds_status launch_body(const launch_cfg &cfg, cudaStream_t s, std::shared_ptr<kernel_body> body) {
    std::lock_guard<std::mutex> lock(emu_lock());
    DS_TRY(check_launch_cfg(cfg));
    op o = {};
    o.kind = op::KERNEL;
    o.cfg = cfg;
    o.body = std::move(body);
    return issue(s, std::move(o), cfg.name);
}

ds_status enqueue_host(cudaStream_t s, const char *what, std::function<ds_status()> fn) {
    std::lock_guard<std::mutex> lock(emu_lock());
    op o = {};
    o.kind = op::HOST;
    o.host = std::move(fn);
    o.what = what;
    return issue(s, std::move(o), what);
}

} // namespace ds_emu

namespace ds_cuda_emu {
using namespace ds_emu;

static const char *kind_name(cudaMemcpyKind k) {
    switch (k) {
    case cudaMemcpyHostToHost: return "host to host";
    case cudaMemcpyHostToDevice: return "host to device";
    case cudaMemcpyDeviceToHost: return "device to host";
    case cudaMemcpyDeviceToDevice: return "device to device";
    default: return "default";
    }
}

/* Whether the pointers live where `kind` says (lock held). */
static ds_status check_copy(const char *call, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    bool dst_dev = mem_inside(dst, bytes, MEM_DEVICE), src_dev = mem_inside(src, bytes, MEM_DEVICE);
    bool ok;
    switch (kind) {
    case cudaMemcpyHostToHost: ok = !dst_dev && !src_dev; break;
    case cudaMemcpyHostToDevice: ok = dst_dev && !src_dev; break;
    case cudaMemcpyDeviceToHost: ok = !dst_dev && src_dev; break;
    case cudaMemcpyDeviceToDevice: ok = dst_dev && src_dev; break;
    default: ok = true;
    }
    if (!ok || !strcmp(mem_describe(dst, bytes), "partly outside a device allocation") ||
        !strcmp(mem_describe(src, bytes), "partly outside a device allocation"))
        return ds_fail(DS_ERR_DEVICE, "%s %s of %zu bytes: from %p (%s) to %p (%s)", call, kind_name(kind),
                       bytes, src, mem_describe(src, bytes), dst, mem_describe(dst, bytes));
    return DS_OK;
}

ds_status cuda_memcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (g_capturing)
        return ds_fail(DS_ERR_DEVICE, "cudaMemcpy while a stream is being captured (use an async copy)");
    DS_TRY(check_copy("cudaMemcpy", dst, src, bytes, kind));
    if (bytes)
        memmove(dst, src, bytes);
    return DS_OK;
}

ds_status cuda_memcpy_async(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    DS_TRY(check_copy("cudaMemcpyAsync", dst, src, bytes, kind));
    op o = {};
    o.kind = op::COPY;
    o.dst = dst;
    o.src = src;
    o.bytes = bytes;
    return issue(s, std::move(o), "cudaMemcpyAsync");
}

static ds_status check_set(const char *call, void *dst, size_t bytes) {
    if (!mem_inside(dst, bytes, MEM_DEVICE))
        return ds_fail(DS_ERR_DEVICE, "%s of %zu bytes at %p (%s)", call, bytes, dst, mem_describe(dst, bytes));
    return DS_OK;
}

ds_status cuda_memset(void *dst, int byte, size_t bytes) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (g_capturing)
        return ds_fail(DS_ERR_DEVICE, "cudaMemset while a stream is being captured (use an async set)");
    DS_TRY(check_set("cudaMemset", dst, bytes));
    if (bytes)
        memset(dst, byte, bytes);
    return DS_OK;
}

ds_status cuda_memset_async(void *dst, int byte, size_t bytes, cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    DS_TRY(check_set("cudaMemsetAsync", dst, bytes));
    op o = {};
    o.kind = op::SET;
    o.dst = dst;
    o.byte = byte;
    o.bytes = bytes;
    return issue(s, std::move(o), "cudaMemsetAsync");
}

ds_status cuda_stream_create(cudaStream_t *s) {
    stream *st = new stream();
    *s = (cudaStream_t)st;
    return DS_OK;
}

ds_status cuda_stream_destroy(cudaStream_t s) {
    if (!s)
        return DS_OK;
    std::lock_guard<std::mutex> lock(emu_lock());
    stream *st = as_stream(s);
    if (st->capture)
        return ds_fail(DS_ERR_DEVICE, "cudaStreamDestroy of a stream being captured");
    delete st;
    return DS_OK;
}

ds_status cuda_stream_sync(cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (as_stream(s)->capture || (!s && g_capturing))
        return ds_fail(DS_ERR_DEVICE, "cudaStreamSynchronize during a capture");
    return DS_OK;
}

ds_status cuda_device_sync(void) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (g_capturing)
        return ds_fail(DS_ERR_DEVICE, "cudaDeviceSynchronize during a capture");
    return DS_OK;
}

ds_status cuda_event_create(cudaEvent_t *e) {
    *e = (cudaEvent_t) new event();
    return DS_OK;
}

ds_status cuda_event_destroy(cudaEvent_t e) {
    delete (event *)e;
    return DS_OK;
}

ds_status cuda_event_record(cudaEvent_t e, cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    op o = {};
    o.kind = op::RECORD;
    o.ev = (event *)e;
    return issue(s, std::move(o), "cudaEventRecord");
}

ds_status cuda_event_sync(cudaEvent_t e) {
    (void)e; /* recorded events have happened; CUDA counts an unrecorded one as complete */
    return DS_OK;
}

ds_status cuda_event_elapsed_ms(float *ms, cudaEvent_t start, cudaEvent_t end) {
    const event *a = (const event *)start, *b = (const event *)end;
    if (!a->recorded || !b->recorded)
        return ds_fail(DS_ERR_DEVICE, "cudaEventElapsedTime of an event never recorded");
    *ms = (float)(b->ms - a->ms);
    return DS_OK;
}

ds_status cuda_stream_wait_event(cudaStream_t s, cudaEvent_t e) {
    (void)s; /* every stream is idle: the event, if recorded, has happened */
    (void)e;
    return DS_OK;
}

ds_status cuda_capture_begin(cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (!s)
        return ds_fail(DS_ERR_DEVICE, "cudaStreamBeginCapture of the legacy stream");
    stream *st = as_stream(s);
    if (st->capture)
        return ds_fail(DS_ERR_DEVICE, "cudaStreamBeginCapture of a stream already being captured");
    st->capture = new std::vector<op>();
    g_capturing++;
    return DS_OK;
}

ds_status cuda_capture_end(cudaStream_t s, cudaGraphExec_t *exec, size_t *nodes) {
    std::lock_guard<std::mutex> lock(emu_lock());
    stream *st = as_stream(s);
    if (!st->capture)
        return ds_fail(DS_ERR_DEVICE, "cudaStreamEndCapture of a stream not being captured");
    graph *g = new graph();
    g->ops = std::move(*st->capture);
    if (nodes)
        *nodes = g->ops.size();
    delete st->capture;
    st->capture = NULL;
    g_capturing--;
    *exec = (cudaGraphExec_t)g;
    return DS_OK;
}

ds_status cuda_graph_launch(cudaGraphExec_t exec, cudaStream_t s) {
    std::lock_guard<std::mutex> lock(emu_lock());
    const graph *g = (const graph *)exec;
    stream *st = as_stream(s);
    if (st->capture) {
        st->capture->insert(st->capture->end(), g->ops.begin(), g->ops.end());
        return DS_OK;
    }
    if (!s && g_capturing)
        return ds_fail(DS_ERR_DEVICE, "cudaGraphLaunch on the legacy stream while a stream is being captured");
    for (const op &o : g->ops)
        DS_TRY(run_op(o));
    return DS_OK;
}

ds_status cuda_graph_destroy(cudaGraphExec_t exec) {
    delete (graph *)exec;
    return DS_OK;
}

} // namespace ds_cuda_emu
