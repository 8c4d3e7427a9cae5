/*
 * cudart_check.h: CUDART_TRY(stmt) for CUDA runtime calls of the real build:
 * a failure returns ds_fail(DS_ERR_DEVICE, ...) naming the statement, the
 * runtime's message, the function, file and line. (cuDNN and cuBLASLt have
 * theirs in lib_check.h.)
 */
#ifndef DS_CUDART_CHECK_H
#define DS_CUDART_CHECK_H

#include <cuda_runtime.h> /* cudaError_t, cudaGetErrorString */

#include "base/error.h" /* ds_fail */

#define CUDART_TRY(stmt)                                                                      \
    do {                                                                                      \
        cudaError_t e_ = (stmt);                                                              \
        if (e_ != cudaSuccess)                                                                \
            return ds_fail(DS_ERR_DEVICE, "%s: %s (%s, %s:%d)", #stmt, cudaGetErrorString(e_), \
                           __func__, __FILE__, __LINE__);                                     \
    } while (0)

#endif
