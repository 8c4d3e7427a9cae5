/* fuzz_torch.c: checkpoint loading from raw bytes (zip or legacy, by content). */
#include <stdint.h>

#include "weights_tools/readers/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ds_ckpt ck;
    if (ds_ckpt_load_memory(data, size, "fuzz.pt", &ck) == DS_OK)
        ds_ckpt_free(&ck);
    return 0;
}
