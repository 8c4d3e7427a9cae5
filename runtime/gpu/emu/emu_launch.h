/*
 * emu_launch.h: DS_LAUNCH under the emulator. The kernel's arguments are
 * converted to its parameter types once, at the launch (as CUDA does), and
 * kept with the kernel in a kernel_body that each emulated thread calls.
 * Pointer arguments must point into device or page-locked memory (or be
 * NULL): a host pointer handed to a kernel is an illegal address on a GPU.
 */
#ifndef DS_EMU_LAUNCH_H
#define DS_EMU_LAUNCH_H

#include <stddef.h>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <cuda_runtime_api.h> /* cudaStream_t, dim3 */

#include "depthsolve.h" /* ds_status */

namespace ds_emu {

struct kernel_body {
    virtual ~kernel_body() {}
    virtual void run() = 0; /* the kernel, as one CUDA thread */
};

struct launch_cfg {
    const char *name;
    dim3 grid, block;
    size_t smem_bytes; /* dynamic shared memory */
};

/* Runs the launch in stream order (or records it into the stream's capture). */
ds_status launch_body(const launch_cfg &cfg, cudaStream_t stream, std::shared_ptr<kernel_body> body);
/* DS_ERR_INVALID_ARGUMENT unless p is NULL or in device or page-locked memory. */
ds_status check_kernel_pointer(const char *kernel, int index, const void *p);

template <class... P> struct bound_kernel final : kernel_body {
    void (*fn)(P...);
    std::tuple<P...> args;
    template <class... A>
    explicit bound_kernel(void (*f)(P...), A &&...a) : fn(f), args(std::forward<A>(a)...) {}
    void run() override { std::apply(fn, args); }
};

template <size_t I, class... P>
ds_status check_pointers(const char *kernel, const std::tuple<P...> &args) {
    if constexpr (I == sizeof...(P)) {
        return DS_OK;
    } else {
        using T = std::tuple_element_t<I, std::tuple<P...>>;
        if constexpr (std::is_pointer<T>::value) {
            ds_status s = check_kernel_pointer(kernel, (int)I, (const void *)std::get<I>(args));
            if (s != DS_OK)
                return s;
        }
        return check_pointers<I + 1>(kernel, args);
    }
}

template <class... P, class... A>
ds_status launch(const char *kernel, dim3 grid, dim3 block, size_t smem_bytes, cudaStream_t stream,
                 void (*fn)(P...), A &&...args) {
    static_assert(sizeof...(P) == sizeof...(A), "wrong number of kernel arguments");
    auto body = std::make_shared<bound_kernel<P...>>(fn, std::forward<A>(args)...);
    ds_status s = check_pointers<0>(kernel, body->args);
    if (s != DS_OK)
        return s;
    return launch_body(launch_cfg{kernel, grid, block, smem_bytes}, stream, std::move(body));
}

/* Dynamic shared memory of the running block (DS_DYNAMIC_SHARED). */
void *dynamic_shared(void);

} // namespace ds_emu

#endif
