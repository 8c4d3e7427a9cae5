/*
 * fuzz_pickle.c: the pickle VM on raw bytes (up to four pickles back to back,
 * as in the legacy format), then the state_dict walk and, for small views,
 * the bounds check and copy against an exactly-sized fake storage.
 */
#include <stdint.h>
#include <stdlib.h>

#include "weights_tools/readers/pickle.h"
#include "weights_tools/readers/torch_common.h"

static void copy_small_views(const ds_torch_entry *e, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const ds_pk_tensor *t = e[k].tensor;
        const ds_pk_storage *st = &t->storage->u.storage;
        size_t nbytes, elem = ds_dtype_size(st->dtype);
        if (ds_torch_view_nbytes(t, "fuzz.pkl", e[k].name, &nbytes) != DS_OK ||
            nbytes > (1u << 20) || st->numel > (1 << 20) / (int64_t)elem || nbytes == 0)
            continue;
        uint8_t *storage = calloc((size_t)st->numel * elem + !st->numel, 1);
        uint8_t *dst = malloc(nbytes);
        if (storage && dst)
            ds_torch_copy_view(t, storage, dst);
        free(storage);
        free(dst);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ds_pickle_limits lim = ds_pickle_default_limits;
    lim.max_bytes = (size_t)64 << 20;
    ds_pickle *pk;
    if (ds_pickle_new("fuzz.pkl", &lim, &pk) != DS_OK)
        return 0;
    size_t pos = 0;
    for (int i = 0; i < 4 && pos < size; i++) {
        const ds_pk_value *root;
        size_t end;
        if (ds_pickle_run(pk, data, size, pos, &end, &root) != DS_OK)
            break;
        ds_torch_entry *entries;
        size_t n;
        if (ds_torch_collect(root, "fuzz.pkl", &entries, &n) == DS_OK) {
            copy_small_views(entries, n);
            ds_torch_entries_free(entries, n);
        }
        pos = end;
    }
    ds_pickle_free(pk);
    return 0;
}
