/* backend_cuda_none.c: ds_backend_cuda in a build without nvcc (or a
 * sanitizer build): the device reports why it cannot run. */
#include "backend.h" /* ds_backend_ops */
#include "error.h"   /* ds_fail */

static ds_status none_create(const ds_backend_config *cfg, void **state, char *describe,
                             size_t describe_len) {
    (void)cfg;
    (void)describe;
    (void)describe_len;
    *state = NULL;
    return ds_fail(DS_ERR_UNSUPPORTED, "no CUDA device: built without CUDA (no nvcc at build time)");
}

static void none_free(void *state) { (void)state; }

const ds_backend_ops ds_backend_cuda = {.name = "cuda", .create = none_create, .free = none_free};
