/* cpu/fast/gemm.c: packing of weights for the GEMM of cpu/fast/gemm_avx2.c. */
#include "cpu/conv/conv.h"

size_t ds_gemm_packed_floats(int64_t n, int64_t k) {
    return (size_t)((n + 15) / 16 * 16) * (size_t)k;
}

void ds_gemm_pack(const float *w, int64_t n, int64_t k, float *b) {
    for (int64_t j = 0; j < (n + 15) / 16 * 16; j++)
        for (int64_t i = 0; i < k; i++)
            b[(j / 16 * k + i) * 16 + j % 16] = j < n ? w[j * k + i] : 0.0f;
}
