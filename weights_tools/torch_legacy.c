/* torch_legacy.c: PLACEHOLDER until the PyTorch legacy reader lands (replaced in this same series). */
#include "checkpoint.h"
#include "error.h"

ds_status ds_ckpt_load_torch_legacy(const uint8_t *data, size_t len, const char *label, ds_ckpt *out) {
    (void)data; (void)len; (void)out;
    return ds_fail(DS_ERR_UNSUPPORTED, "%s: PyTorch legacy reader not built yet", label);
}
