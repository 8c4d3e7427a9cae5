/*
 * cublaslt_load.h: cuBLASLt opened on first use (dlopen) instead of linked.
 * Loading libcublasLt at program start relocates enough of it to make ~150 MB
 * resident, which every run paid, CPU-only ones and `depthsolve --help`
 * included. Its types and constants still come from <cublasLt.h>; the
 * functions the seam calls come from here, named as in cuBLASLt without the
 * "cublasLt" prefix.
 */
#ifndef DS_CUBLASLT_LOAD_H
#define DS_CUBLASLT_LOAD_H

#include <cublasLt.h>

#include "depthsolve.h" /* ds_status */

struct cublaslt_fns {
    decltype(&cublasLtCreate) Create;
    decltype(&cublasLtDestroy) Destroy;
    decltype(&cublasLtGetStatusString) GetStatusString;
    decltype(&cublasLtMatmulDescCreate) MatmulDescCreate;
    decltype(&cublasLtMatmulDescDestroy) MatmulDescDestroy;
    decltype(&cublasLtMatmulDescSetAttribute) MatmulDescSetAttribute;
    decltype(&cublasLtMatrixLayoutCreate) MatrixLayoutCreate;
    decltype(&cublasLtMatrixLayoutDestroy) MatrixLayoutDestroy;
    decltype(&cublasLtMatmulPreferenceCreate) MatmulPreferenceCreate;
    decltype(&cublasLtMatmulPreferenceDestroy) MatmulPreferenceDestroy;
    decltype(&cublasLtMatmulPreferenceSetAttribute) MatmulPreferenceSetAttribute;
    decltype(&cublasLtMatmulAlgoGetHeuristic) MatmulAlgoGetHeuristic;
    decltype(&cublasLtMatmul) Matmul;
};

/* libcublasLt.so.<major of the headers>, opened and its functions found
 * once per process (thread-safe). Fails with DS_ERR_DEVICE naming the file
 * or the missing function; later calls fail the same way. */
ds_status cublaslt_load(const cublaslt_fns **out);

/* cuBLASLt's text for a status once it is loaded, else the number. */
const char *cublaslt_status_string(cublasStatus_t st);

#endif
