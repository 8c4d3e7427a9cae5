/* torch_zip.c: PLACEHOLDER until the PyTorch zip reader lands (replaced in this same series). */
#include "checkpoint.h"
#include "error.h"

ds_status ds_ckpt_load_torch_zip(const uint8_t *data, size_t len, const char *label, ds_ckpt *out) {
    (void)data; (void)len; (void)out;
    return ds_fail(DS_ERR_UNSUPPORTED, "%s: PyTorch zip reader not built yet", label);
}
