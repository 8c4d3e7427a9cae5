/* cpu/fast/gemm.c: packing of weights for the GEMM of cpu/fast/gemm_avx2.c. */
#include "cpu/conv/conv.h"

size_t ds_gemm_packed_floats(int64_t n, int64_t k) {
    return (size_t)((n + 15) / 16 * 16) * (size_t)k;
}

/* Panel by panel, the 16 values of each k written together: the writes stream. */
void ds_gemm_pack(const float *w, int64_t n, int64_t k, float *b) {
    for (int64_t p = 0; p < (n + 15) / 16; p++)
        for (int64_t i = 0; i < k; i++)
            for (int64_t l = 0; l < 16; l++) {
                const int64_t j = p * 16 + l;
                b[(p * k + i) * 16 + l] = j < n ? w[j * k + i] : 0.0f;
            }
}
