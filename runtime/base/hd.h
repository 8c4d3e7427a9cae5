/*
 * hd.h: DS_HD marks a small function that the plain C code and the CUDA
 * kernels share (one definition, the same float arithmetic on both sides):
 * host + device inline under nvcc, static inline in C and under the g++
 * emulator.
 */
#ifndef DS_HD_H
#define DS_HD_H

#if defined(__CUDACC__)
#define DS_HD static __host__ __device__ __forceinline__
#else
#define DS_HD static inline
#endif

/* min and max of finite values without libm's NaN rules (fminf/fmaxf are a
 * call each under -O2 on the CPU); shared by C and CUDA code. */
DS_HD float ds_minf(float a, float b) { return a < b ? a : b; }
DS_HD float ds_maxf(float a, float b) { return a > b ? a : b; }

#endif
