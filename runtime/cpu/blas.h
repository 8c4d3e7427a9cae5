/*
 * cpu/blas.h: OpenBLAS as the CPU kernels use it: single-threaded, inside our
 * own tasks. Its OpenMP build takes its thread count from the calling
 * thread's OpenMP setting, and would start an OpenMP team (threads that spin
 * at every barrier) from each of our workers for a large call.
 */
#ifndef DS_CPU_BLAS_H
#define DS_CPU_BLAS_H

/* Makes OpenBLAS single-threaded on the calling thread (once per thread);
 * call before any cblas_* call, on the thread that makes it. */
void ds_blas_serial(void);

#endif
