/* rt_emu.cc: the emulated device, its memory, and kernel argument checks. */
#include <stdio.h>

#include "gpu/emu/emu_internal.h" /* emu_lock, mem_*, capture_active */
#include "base/error.h"  /* ds_fail */
#include "gpu/gpu_rt.h" /* the functions defined here */

namespace ds_emu {

ds_status check_kernel_pointer(const char *kernel, int index, const void *p) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (!p || mem_known(p))
        return DS_OK;
    return ds_fail(DS_ERR_DEVICE, "%s: argument %d (%p) is neither device nor page-locked memory "
                   "(an illegal address on a GPU)", kernel, index, p);
}

} // namespace ds_emu

namespace ds_cuda_emu {
using namespace ds_emu;

bool cuda_is_emulated(void) { return true; }

ds_status cuda_device_count(int *n, char *why, size_t why_len) {
    *n = 1;
    if (why && why_len)
        why[0] = '\0';
    return DS_OK;
}

ds_status cuda_set_device(int device) {
    if (device != 0)
        return ds_fail(DS_ERR_DEVICE, "no emulated CUDA device %d", device);
    return DS_OK;
}

ds_status cuda_device_name(int device, char *buf, size_t len) {
    if (device != 0)
        return ds_fail(DS_ERR_DEVICE, "no emulated CUDA device %d", device);
    snprintf(buf, len, "depthsolve CUDA emulator (CPU)");
    return DS_OK;
}

static ds_status alloc(void **p, size_t bytes, mem_kind kind, const char *call) {
    std::lock_guard<std::mutex> lock(emu_lock());
    if (capture_active())
        return ds_fail(DS_ERR_DEVICE, "%s while a stream is being captured", call);
    return mem_alloc(p, bytes, kind);
}

static ds_status release(void *p, mem_kind kind, const char *call) {
    if (!p)
        return DS_OK;
    std::lock_guard<std::mutex> lock(emu_lock());
    if (capture_active())
        return ds_fail(DS_ERR_DEVICE, "%s while a stream is being captured", call);
    return mem_free(p, kind);
}

ds_status cuda_malloc(void **p, size_t bytes) { return alloc(p, bytes, MEM_DEVICE, "cudaMalloc"); }
ds_status cuda_mem_used(size_t *bytes) {
    std::lock_guard<std::mutex> lock(emu_lock());
    *bytes = mem_live_bytes(MEM_DEVICE);
    return DS_OK;
}
ds_status cuda_free(void *p) { return release(p, MEM_DEVICE, "cudaFree"); }
ds_status cuda_malloc_host(void **p, size_t bytes) { return alloc(p, bytes, MEM_PINNED, "cudaMallocHost"); }
ds_status cuda_free_host(void *p) { return release(p, MEM_PINNED, "cudaFreeHost"); }

ds_status cuda_launch_status(const char *kernel) {
    (void)kernel; /* an emulated launch returns its own status */
    return DS_OK;
}

} // namespace ds_cuda_emu
