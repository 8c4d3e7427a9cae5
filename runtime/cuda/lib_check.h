/*
 * lib_check.h: every cuDNN, cuBLASLt and CUDA runtime call of the real build goes through
 * one of these macros: a failure returns ds_fail(DS_ERR_DEVICE, ...) naming
 * the statement, the library's status and message, the function, file and
 * line. They return; nothing prints or exits.
 */
#ifndef DS_LIB_CHECK_H
#define DS_LIB_CHECK_H

#include <cudnn.h>    /* cudnnStatus_t, cudnnGetErrorString, cudnnGetLastErrorString */

#include "cuda/cublaslt_load.h" /* cublaslt_status_string */
#include "cuda/cudart_check.h" /* CUDART_TRY */
#include "base/error.h"        /* ds_fail */

#define CUDNN_TRY(stmt)                                                                              \
    do {                                                                                             \
        cudnnStatus_t st_ = (stmt);                                                                  \
        if (st_ != CUDNN_STATUS_SUCCESS) {                                                           \
            char why_[256];                                                                          \
            cudnnGetLastErrorString(why_, sizeof why_);                                              \
            return ds_fail(DS_ERR_DEVICE, "%s: %s (%s) (%s, %s:%d)", #stmt, cudnnGetErrorString(st_), \
                           why_, __func__, __FILE__, __LINE__);                                      \
        }                                                                                            \
    } while (0)

#define CUBLAS_TRY(stmt)                                                                           \
    do {                                                                                           \
        cublasStatus_t st_ = (stmt);                                                               \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                          \
            return ds_fail(DS_ERR_DEVICE, "%s: %s (%s, %s:%d)", #stmt, cublaslt_status_string(st_), \
                           __func__, __FILE__, __LINE__);                                          \
    } while (0)

#endif
