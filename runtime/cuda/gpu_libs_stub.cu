/*
 * gpu_libs_stub.cu: gpu_libs.h in an nvcc build where cuDNN's headers were
 * not found (the Makefile builds runtime/cuda/gpu_libs_cudnn.cu instead when
 * they are): everything builds, and opening the CUDA backend fails with a
 * clear message.
 */
#include "base/error.h"    /* ds_fail */
#include "gpu/gpu_libs.h" /* the functions defined here */

namespace DS_CUDA_NS {

struct gpu_libs {
    int unused;
};

static ds_status not_built(const char *call) {
    return ds_fail(DS_ERR_UNSUPPORTED, "%s: built without cuDNN (its headers were not found at build time)", call);
}

/* Fails, so that the CUDA backend is not opened at all (auto then takes
 * the CPU) rather than failing at its first convolution. */
ds_status gpu_libs_create(gpu_libs **out) {
    *out = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED, "built without cuDNN (its headers were not found at build time)");
}

void gpu_libs_free(gpu_libs *libs) { delete libs; }

gpu_tuning gpu_tuning_default(void) { return gpu_tuning{true, 8, NULL, false}; }

ds_status gpu_libs_set_tuning(gpu_libs *, const gpu_tuning *) { return not_built("gpu_libs_set_tuning"); }

size_t gpu_libs_workspace_bytes(const gpu_libs *) { return 0; }

ds_status gpu_conv(gpu_libs *, cudaStream_t, const ds_conv_attr *, const ds_tensor *, const float *,
                   const float *, const ds_tensor *, ds_tensor *) {
    return not_built("gpu_conv");
}

ds_status gpu_conv_prepare(gpu_libs *, cudaStream_t, const ds_conv_attr *, const ds_tensor *, const float *,
                           const float *, const ds_tensor *, ds_tensor *) {
    return not_built("gpu_conv_prepare");
}

ds_status gpu_gemm(gpu_libs *, cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const float *, int64_t,
                   const float *, int64_t, const float *, ds_act, float *, int64_t) {
    return not_built("gpu_gemm");
}

ds_status gpu_gemm_prepare(gpu_libs *, cudaStream_t, bool, bool, int64_t, int64_t, int64_t, const float *, int64_t,
                           const float *, int64_t, const float *, ds_act, float *, int64_t) {
    return not_built("gpu_gemm_prepare");
}

ds_status gpu_conv_f16(gpu_libs *, cudaStream_t, const ds_conv_attr *, const int64_t *, const __half *,
                       const __half *, const int64_t *, __half *) {
    return not_built("gpu_conv_f16");
}

ds_status gpu_conv_f16_prepare(gpu_libs *, cudaStream_t, const ds_conv_attr *, const int64_t *, const __half *,
                               const __half *, const int64_t *, __half *) {
    return not_built("gpu_conv_f16_prepare");
}

ds_status gpu_gemm_f16(gpu_libs *, cudaStream_t, int64_t, int64_t, int64_t, const __half *, const __half *,
                       const float *, ds_act, float *, int64_t) {
    return not_built("gpu_gemm_f16");
}

ds_status gpu_gemm_f16_prepare(gpu_libs *, cudaStream_t, int64_t, int64_t, int64_t, const __half *, const __half *,
                               const float *, ds_act, float *, int64_t) {
    return not_built("gpu_gemm_f16_prepare");
}

} // namespace DS_CUDA_NS
