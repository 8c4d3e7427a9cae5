/* cublaslt_load.cu: finding cuBLASLt's functions at run time (see the header). */
#include "cuda/cublaslt_load.h"

#include <dlfcn.h>
#include <stdio.h>

#include <atomic>
#include <mutex>

#include "base/error.h" /* ds_fail */

#define DS_STR_(x) #x
#define DS_STR(x) DS_STR_(x)
/* the ABI the headers describe: libcublasLt.so.13 for CUDA 13 */
static const char CUBLASLT_SONAME[] = "libcublasLt.so." DS_STR(CUBLAS_VER_MAJOR);

static cublaslt_fns fns;
static std::atomic<bool> loaded; /* read by cublaslt_status_string on any thread */
static char failure[512];

template <typename F> static bool find(void *lib, const char *name, F *out) {
    *out = reinterpret_cast<F>(dlsym(lib, name));
    if (!*out)
        snprintf(failure, sizeof failure, "%s has no %s", CUBLASLT_SONAME, name);
    return *out != nullptr;
}

static void load_once(void) {
    /* found the way the loader finds linked libraries: this object's RUNPATH
     * (the CUDA install it was built against), LD_LIBRARY_PATH, ld.so.cache */
    void *lib = dlopen(CUBLASLT_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(failure, sizeof failure, "cannot load cuBLASLt: %s", dlerror());
        return;
    }
    loaded = find(lib, "cublasLtCreate", &fns.Create) &&
             find(lib, "cublasLtDestroy", &fns.Destroy) &&
             find(lib, "cublasLtGetStatusString", &fns.GetStatusString) &&
             find(lib, "cublasLtMatmulDescCreate", &fns.MatmulDescCreate) &&
             find(lib, "cublasLtMatmulDescDestroy", &fns.MatmulDescDestroy) &&
             find(lib, "cublasLtMatmulDescSetAttribute", &fns.MatmulDescSetAttribute) &&
             find(lib, "cublasLtMatrixLayoutCreate", &fns.MatrixLayoutCreate) &&
             find(lib, "cublasLtMatrixLayoutDestroy", &fns.MatrixLayoutDestroy) &&
             find(lib, "cublasLtMatmulPreferenceCreate", &fns.MatmulPreferenceCreate) &&
             find(lib, "cublasLtMatmulPreferenceDestroy", &fns.MatmulPreferenceDestroy) &&
             find(lib, "cublasLtMatmulPreferenceSetAttribute", &fns.MatmulPreferenceSetAttribute) &&
             find(lib, "cublasLtMatmulAlgoGetHeuristic", &fns.MatmulAlgoGetHeuristic) &&
             find(lib, "cublasLtMatmul", &fns.Matmul);
    if (!loaded)
        dlclose(lib); /* kept open otherwise: the functions live there */
}

ds_status cublaslt_load(const cublaslt_fns **out) {
    static std::once_flag once;
    std::call_once(once, load_once);
    *out = loaded ? &fns : nullptr;
    return loaded ? DS_OK : ds_fail(DS_ERR_DEVICE, "%s", failure);
}

const char *cublaslt_status_string(cublasStatus_t st) {
    static thread_local char number[32];
    if (loaded)
        return fns.GetStatusString(st);
    snprintf(number, sizeof number, "cuBLAS status %d", (int)st);
    return number;
}
