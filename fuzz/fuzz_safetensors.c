/* fuzz_safetensors.c: libFuzzer target: raw bytes through ds_ckpt_load_safetensors,
 * then every tensor's invariants and bytes checked. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weights_tools/readers/checkpoint.h"
#include "base/error.h"

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ds_ckpt ck;
    if (ds_ckpt_load_safetensors(data, size, "fuzz.safetensors", &ck) != DS_OK) {
        const char *m = ds_last_error();
        /* a failed load leaves nothing behind, and a one-line message naming the input */
        if (ck.tensors || ck.n_tensors || strncmp(m, "fuzz.safetensors: ", 18) != 0 ||
            strchr(m, '\n'))
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < ck.n_tensors; i++) {
        const ds_ckpt_tensor *t = &ck.tensors[i];
        if (t->ndim < 0 || t->ndim > DS_MAX_DIMS || (t->nbytes == 0) != (t->data == NULL))
            __builtin_trap();
        if ((size_t)ds_ckpt_tensor_numel(t) * ds_dtype_size(t->dtype) != t->nbytes)
            __builtin_trap();
        const uint8_t *p = t->data;
        size_t sum = strlen(t->name);
        for (size_t k = 0; k < t->nbytes; k++)
            sum += p[k];
        sink += sum;
    }
    ds_ckpt_free(&ck);
    return 0;
}
