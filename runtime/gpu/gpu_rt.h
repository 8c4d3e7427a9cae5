/*
 * gpu_rt.h: the CUDA runtime as the CUDA backend's host code sees it.
 *
 * One source, two builds. nvcc compiles the backend and kernels/ against the
 * real runtime (gpu_rt_cuda.cu); g++ compiles the very same files against
 * the CPU emulator (runtime/gpu/emu/), where device memory is host heap memory and
 * every stream runs in order, at once. Each build keeps its names in its own
 * namespace (DS_CUDA_NS), so both can later live in one library, behind
 * --device cuda and --device cuda-emu.
 *
 * Every call returns a ds_status and, on failure, leaves a message naming
 * the call and the CUDA error in ds_last_error(); nothing prints or exits.
 * Types are the CUDA runtime's own (cudaStream_t, cudaEvent_t, ...): under
 * the emulator they are opaque handles to emulated objects.
 */
#ifndef DS_GPU_RT_H
#define DS_GPU_RT_H

#include <stddef.h>

#include <cuda_runtime_api.h> /* cudaStream_t, cudaEvent_t, cudaGraphExec_t, cudaMemcpyKind */

#include "depthsolve.h" /* ds_status */

#if defined(__CUDACC__)
#define DS_CUDA_NS ds_cuda
#else
#define DS_CUDA_NS ds_cuda_emu
#endif

namespace DS_CUDA_NS {

/* True in the emulated build. */
bool cuda_is_emulated(void);

/* Number of usable devices; a missing driver or device counts as 0 and
 * `why` (if not NULL) receives the runtime's reason. */
ds_status cuda_device_count(int *n, char *why, size_t why_len);
/* Makes `device` the calling thread's current device. */
ds_status cuda_set_device(int device);
/* "NVIDIA H100 80GB HBM3 (sm_90)" or "depthsolve CUDA emulator". */
ds_status cuda_device_name(int device, char *buf, size_t len);

/* Device memory; cuda_free(NULL) is a no-op. Not allowed while a stream is
 * being captured (a graph must not allocate). */
ds_status cuda_malloc(void **p, size_t bytes);
ds_status cuda_free(void *p);
/* Device memory in use now, every process's (cudaMemGetInfo: total - free);
 * under emulation the bytes of the live emulated device allocations. */
ds_status cuda_mem_used(size_t *bytes);
/* Page-locked host memory, for asynchronous copies. */
ds_status cuda_malloc_host(void **p, size_t bytes);
ds_status cuda_free_host(void *p);

/* Copies and byte fills in stream order; the forms without a stream wait
 * for the work. `kind` is checked against where the pointers live (under
 * emulation too). */
ds_status cuda_memcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
ds_status cuda_memcpy_async(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s);
ds_status cuda_memset(void *dst, int byte, size_t bytes);
ds_status cuda_memset_async(void *dst, int byte, size_t bytes, cudaStream_t s);

ds_status cuda_stream_create(cudaStream_t *s);
ds_status cuda_stream_destroy(cudaStream_t s); /* NULL-safe */
ds_status cuda_stream_sync(cudaStream_t s);
ds_status cuda_device_sync(void);

/* Events with timing: elapsed milliseconds between two recorded events
 * (host time under emulation). */
ds_status cuda_event_create(cudaEvent_t *e);
ds_status cuda_event_destroy(cudaEvent_t e); /* NULL-safe */
ds_status cuda_event_record(cudaEvent_t e, cudaStream_t s);
ds_status cuda_event_sync(cudaEvent_t e);
ds_status cuda_event_elapsed_ms(float *ms, cudaEvent_t start, cudaEvent_t end);
ds_status cuda_stream_wait_event(cudaStream_t s, cudaEvent_t e);

/* Stream capture: launches, copies, sets and event records issued to `s`
 * between begin and end become a graph, instantiated by end; a launch of
 * the graph replays them in order. `nodes` (if not NULL) receives the
 * graph's operation count (kernels, the libraries' own kernels, copies;
 * under emulation a library call counts once). */
ds_status cuda_capture_begin(cudaStream_t s);
ds_status cuda_capture_end(cudaStream_t s, cudaGraphExec_t *exec, size_t *nodes = NULL);
ds_status cuda_graph_launch(cudaGraphExec_t exec, cudaStream_t s);
ds_status cuda_graph_destroy(cudaGraphExec_t exec); /* NULL-safe */

/* The status of the kernel launch just issued (see DS_LAUNCH). */
ds_status cuda_launch_status(const char *kernel);

} // namespace DS_CUDA_NS

#endif
