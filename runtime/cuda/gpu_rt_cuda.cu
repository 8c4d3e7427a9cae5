/* gpu_rt_cuda.cu: gpu_rt.h on the real CUDA runtime (the nvcc build). */
#include <stdio.h>

#include <cuda_runtime.h>

#include "cuda/cudart_check.h" /* CUDART_TRY */
#include "base/error.h"        /* ds_fail */
#include "gpu/gpu_rt.h" /* the functions defined here */


namespace ds_cuda {

bool cuda_is_emulated(void) { return false; }

ds_status cuda_device_count(int *n, char *why, size_t why_len) {
    cudaError_t e = cudaGetDeviceCount(n);
    /* the runtime says "driver version is insufficient" also when there is no driver at all */
    const char *reason = e == cudaErrorInsufficientDriver ? "no NVIDIA driver, or one older than the CUDA runtime"
                         : e == cudaErrorNoDevice         ? "no CUDA-capable device"
                         : e == cudaSuccess               ? ""
                                                          : cudaGetErrorString(e);
    if (why && why_len)
        snprintf(why, why_len, "%s", reason);
    if (e != cudaSuccess) {
        *n = 0;
        cudaGetLastError(); /* not sticky: no device is not an error here */
    }
    return DS_OK;
}

ds_status cuda_set_device(int device) {
    CUDART_TRY(cudaSetDevice(device));
    return DS_OK;
}

ds_status cuda_device_name(int device, char *buf, size_t len) {
    cudaDeviceProp p;
    CUDART_TRY(cudaGetDeviceProperties(&p, device));
    snprintf(buf, len, "%s (sm_%d%d)", p.name, p.major, p.minor);
    return DS_OK;
}

ds_status cuda_mem_used(size_t *bytes) {
    size_t free_b = 0, total = 0;
    CUDART_TRY(cudaMemGetInfo(&free_b, &total));
    *bytes = total - free_b;
    return DS_OK;
}

/* An allocation that fails says how much was asked for (and, out of memory, how much is free). */
static ds_status alloc_failed(const char *call, cudaError_t e, size_t bytes) {
    size_t free_b = 0, total = 0;
    cudaGetLastError(); /* reset the last error: a failed allocation is not sticky */
    if (e == cudaErrorMemoryAllocation && cudaMemGetInfo(&free_b, &total) == cudaSuccess)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s of %zu bytes (%.1f MiB): out of memory (%.1f of %.1f MiB free)", call,
                       bytes, bytes / 1048576.0, free_b / 1048576.0, total / 1048576.0);
    return ds_fail(e == cudaErrorMemoryAllocation ? DS_ERR_OUT_OF_MEMORY : DS_ERR_DEVICE, "%s of %zu bytes: %s", call,
                   bytes, cudaGetErrorString(e));
}

ds_status cuda_malloc(void **p, size_t bytes) {
    const cudaError_t e = cudaMalloc(p, bytes);
    return e == cudaSuccess ? DS_OK : alloc_failed("cudaMalloc", e, bytes);
}

ds_status cuda_free(void *p) {
    CUDART_TRY(cudaFree(p));
    return DS_OK;
}

ds_status cuda_malloc_host(void **p, size_t bytes) {
    const cudaError_t e = cudaMallocHost(p, bytes);
    return e == cudaSuccess ? DS_OK : alloc_failed("cudaMallocHost", e, bytes);
}

ds_status cuda_free_host(void *p) {
    CUDART_TRY(cudaFreeHost(p));
    return DS_OK;
}

ds_status cuda_memcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    CUDART_TRY(cudaMemcpy(dst, src, bytes, kind));
    return DS_OK;
}

ds_status cuda_memcpy_async(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
    CUDART_TRY(cudaMemcpyAsync(dst, src, bytes, kind, s));
    return DS_OK;
}

ds_status cuda_memset(void *dst, int byte, size_t bytes) {
    CUDART_TRY(cudaMemset(dst, byte, bytes));
    return DS_OK;
}

ds_status cuda_memset_async(void *dst, int byte, size_t bytes, cudaStream_t s) {
    CUDART_TRY(cudaMemsetAsync(dst, byte, bytes, s));
    return DS_OK;
}

ds_status cuda_stream_create(cudaStream_t *s) {
    CUDART_TRY(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking));
    return DS_OK;
}

ds_status cuda_stream_destroy(cudaStream_t s) {
    if (s)
        CUDART_TRY(cudaStreamDestroy(s));
    return DS_OK;
}

ds_status cuda_stream_sync(cudaStream_t s) {
    CUDART_TRY(cudaStreamSynchronize(s));
    return DS_OK;
}

ds_status cuda_device_sync(void) {
    CUDART_TRY(cudaDeviceSynchronize());
    return DS_OK;
}

ds_status cuda_event_create(cudaEvent_t *e) {
    CUDART_TRY(cudaEventCreate(e));
    return DS_OK;
}

ds_status cuda_event_destroy(cudaEvent_t e) {
    if (e)
        CUDART_TRY(cudaEventDestroy(e));
    return DS_OK;
}

ds_status cuda_event_record(cudaEvent_t e, cudaStream_t s) {
    CUDART_TRY(cudaEventRecord(e, s));
    return DS_OK;
}

ds_status cuda_event_sync(cudaEvent_t e) {
    CUDART_TRY(cudaEventSynchronize(e));
    return DS_OK;
}

ds_status cuda_event_elapsed_ms(float *ms, cudaEvent_t start, cudaEvent_t end) {
    CUDART_TRY(cudaEventElapsedTime(ms, start, end));
    return DS_OK;
}

ds_status cuda_stream_wait_event(cudaStream_t s, cudaEvent_t e) {
    CUDART_TRY(cudaStreamWaitEvent(s, e, 0));
    return DS_OK;
}

ds_status cuda_capture_begin(cudaStream_t s) {
    CUDART_TRY(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    return DS_OK;
}

ds_status cuda_capture_end(cudaStream_t s, cudaGraphExec_t *exec, size_t *nodes) {
    cudaGraph_t g;
    CUDART_TRY(cudaStreamEndCapture(s, &g));
    cudaError_t e = nodes ? cudaGraphGetNodes(g, NULL, nodes) : cudaSuccess;
    if (e == cudaSuccess)
        e = cudaGraphInstantiate(exec, g, 0);
    cudaGraphDestroy(g);
    CUDART_TRY(e);
    return DS_OK;
}

ds_status cuda_graph_launch(cudaGraphExec_t exec, cudaStream_t s) {
    CUDART_TRY(cudaGraphLaunch(exec, s));
    return DS_OK;
}

ds_status cuda_graph_destroy(cudaGraphExec_t exec) {
    if (exec)
        CUDART_TRY(cudaGraphExecDestroy(exec));
    return DS_OK;
}

ds_status cuda_launch_status(const char *kernel) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return ds_fail(DS_ERR_DEVICE, "%s: launch failed: %s", kernel, cudaGetErrorString(e));
    return DS_OK;
}

} // namespace ds_cuda
