/*
 * emu_device.h: CUDA device code under g++. Included after the CUDA headers
 * by kernels/common.cuh when the compiler is not nvcc, so that a kernel's
 * source compiles unchanged into a plain C++ function that the emulator runs
 * once per CUDA thread, each on its own fiber.
 *
 *  - threadIdx, blockIdx, blockDim, gridDim, warpSize;
 *  - __syncthreads(): a real barrier (a scheduling point), which also reports
 *    a barrier that only part of the block reaches;
 *  - __shared__ is `static`: blocks run one after another, so one instance
 *    is one block's shared memory; dynamic shared memory is DS_DYNAMIC_SHARED
 *    (kernels/common.cuh), a fresh heap buffer per block, so ASan sees overruns;
 *  - warp shuffles and votes with their lane and mask rules (warp.cc);
 *  - atomics (plain read-modify-writes: only one CUDA thread runs at a time;
 *    each may first yield to another thread, so retry loops get exercised);
 *  - intrinsics and the device-only __half functions, on the host's libm.
 */
#ifndef DS_EMU_DEVICE_H
#define DS_EMU_DEVICE_H

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "gpu/emu/emu_state.h" /* g_thread, g_block, syncthreads, warp_op, atomic_point */

namespace ds_emu {

inline const uint3 &cur_thread_idx() { return g_thread->tid; }
inline const uint3 &cur_block_idx() { return g_block.idx; }
inline const dim3 &cur_block_dim() { return g_block.dim; }
inline const dim3 &cur_grid_dim() { return g_block.grid; }

template <class T> inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "a warp value is 1 to 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof v);
    return b;
}

template <class T> inline T from_bits(uint64_t b) {
    T v;
    memcpy(&v, &b, sizeof v);
    return v;
}

inline uint64_t warp_call(warp_kind kind, const char *file, int line, unsigned mask, uint64_t value,
                          int b, int width) {
    warp_req r = {kind, mask, b, width, value, 0, file, line};
    return warp_op(r);
}

template <class T>
inline T shfl(warp_kind kind, const char *file, int line, unsigned mask, T v, int b, int width = 32) {
    return from_bits<T>(warp_call(kind, file, line, mask, to_bits(v), b, width));
}

/* __syncwarp() and __syncwarp(mask) both: the macro builds this with the
 * call site and calls it with whatever arguments were given (an empty
 * ##__VA_ARGS__ keeps its comma in strict C++17). */
struct syncwarp_site {
    const char *file;
    int line;
    void operator()(unsigned mask = 0xffffffffu) const { warp_call(W_SYNCWARP, file, line, mask, 0, 0, 0); }
};

template <class T, class F> inline T rmw(T *p, F op) {
    atomic_point();
    T old = *p;
    *p = op(old);
    return old;
}

} // namespace ds_emu

/* CUDA's launch-configuration built-ins, read-only as on the device. */
#define threadIdx (::ds_emu::cur_thread_idx())
#define blockIdx (::ds_emu::cur_block_idx())
#define blockDim (::ds_emu::cur_block_dim())
#define gridDim (::ds_emu::cur_grid_dim())
#define warpSize 32

#undef __shared__
#define __shared__ static
#define __launch_bounds__(...)

#define __syncthreads() ::ds_emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::ds_emu::syncwarp_site{__FILE__, __LINE__}(__VA_ARGS__)
#define __shfl_sync(...) ::ds_emu::shfl(::ds_emu::W_SHFL_IDX, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) ::ds_emu::shfl(::ds_emu::W_SHFL_UP, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) ::ds_emu::shfl(::ds_emu::W_SHFL_DOWN, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) ::ds_emu::shfl(::ds_emu::W_SHFL_XOR, __FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(mask, pred) \
    ((unsigned)::ds_emu::warp_call(::ds_emu::W_BALLOT, __FILE__, __LINE__, (mask), (pred) != 0, 0, 0))
#define __any_sync(mask, pred) \
    ((int)::ds_emu::warp_call(::ds_emu::W_ANY, __FILE__, __LINE__, (mask), (pred) != 0, 0, 0))
#define __all_sync(mask, pred) \
    ((int)::ds_emu::warp_call(::ds_emu::W_ALL, __FILE__, __LINE__, (mask), (pred) != 0, 0, 0))

/* ---- atomics ---------------------------------------------------------------- */
#define DS_EMU_ATOMIC(name, T, expr) \
    inline T name(T *p, T v) { return ::ds_emu::rmw(p, [v](T old) { (void)old; return (T)(expr); }); }
DS_EMU_ATOMIC(atomicAdd, int, old + v)
DS_EMU_ATOMIC(atomicAdd, unsigned, old + v)
DS_EMU_ATOMIC(atomicAdd, unsigned long long, old + v)
DS_EMU_ATOMIC(atomicAdd, float, old + v)
DS_EMU_ATOMIC(atomicAdd, double, old + v)
DS_EMU_ATOMIC(atomicSub, int, old - v)
DS_EMU_ATOMIC(atomicSub, unsigned, old - v)
DS_EMU_ATOMIC(atomicMax, int, old > v ? old : v)
DS_EMU_ATOMIC(atomicMax, unsigned, old > v ? old : v)
DS_EMU_ATOMIC(atomicMin, int, old < v ? old : v)
DS_EMU_ATOMIC(atomicMin, unsigned, old < v ? old : v)
DS_EMU_ATOMIC(atomicMin, unsigned long long, old < v ? old : v)
DS_EMU_ATOMIC(atomicMax, unsigned long long, old > v ? old : v)
DS_EMU_ATOMIC(atomicExch, int, v)
DS_EMU_ATOMIC(atomicExch, unsigned, v)
DS_EMU_ATOMIC(atomicExch, unsigned long long, v)
DS_EMU_ATOMIC(atomicExch, float, v)
DS_EMU_ATOMIC(atomicAnd, int, old & v)
DS_EMU_ATOMIC(atomicAnd, unsigned, old & v)
DS_EMU_ATOMIC(atomicOr, int, old | v)
DS_EMU_ATOMIC(atomicOr, unsigned, old | v)
DS_EMU_ATOMIC(atomicXor, int, old ^ v)
DS_EMU_ATOMIC(atomicXor, unsigned, old ^ v)
#undef DS_EMU_ATOMIC

#define DS_EMU_CAS(T) \
    inline T atomicCAS(T *p, T cmp, T v) { return ::ds_emu::rmw(p, [cmp, v](T old) { return old == cmp ? v : old; }); }
DS_EMU_CAS(int)
DS_EMU_CAS(unsigned)
DS_EMU_CAS(unsigned long long)
#undef DS_EMU_CAS

inline void __threadfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* ---- loads and float intrinsics (host libm: results within a few ulp of the GPU's) ---- */
template <class T> inline T __ldg(const T *p) { return *p; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float_as_int(float x) { return ::ds_emu::from_bits<int>(::ds_emu::to_bits(x)); }
inline unsigned __float_as_uint(float x) { return ::ds_emu::from_bits<unsigned>(::ds_emu::to_bits(x)); }
inline float __int_as_float(int x) { return ::ds_emu::from_bits<float>(::ds_emu::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return ::ds_emu::from_bits<float>(::ds_emu::to_bits(x)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __ffs(int x) { return __builtin_ffs(x); }

/* ---- __half functions that cuda_fp16.h gives the device only ---- */
/* One rounding from double: a*b is exact there, so the result differs from a
 * true fused operation only when a*b + c itself rounds in double to a point
 * halfway between two halves. */
inline __half __hfma(__half a, __half b, __half c) {
    return __double2half(fma((double)__half2float(a), (double)__half2float(b), (double)__half2float(c)));
}
/* float's sqrt rounded again to half is correctly rounded (24 >= 2 * 11 + 2 bits). */
inline __half hsqrt(__half a) { return __float2half_rn(sqrtf(__half2float(a))); }
inline __half hrsqrt(__half a) { return __float2half_rn(1.0f / sqrtf(__half2float(a))); }
inline __half hexp(__half a) { return __float2half_rn(expf(__half2float(a))); }
inline __half hlog(__half a) { return __float2half_rn(logf(__half2float(a))); }
/* Round half to even; NaN gives 0, infinities saturate (CUDA's documented results). */
inline int __half2int_rn(__half h) {
    float f = __half2float(h);
    if (f != f)
        return 0;
    if (isinf(f))
        return f > 0 ? INT32_MAX : INT32_MIN;
    return (int)nearbyintf(f);
}

#endif
