/* ckpt_view.c: name lookups over a checkpoint, with an optional common prefix. */
#include "weights_tools/readers/ckpt_view.h"

#include <string.h>

static const char DATA_PARALLEL[] = "module.";

void ds_ckpt_view_init(ds_ckpt_view *v, const ds_ckpt *ck) {
    v->ck = ck;
    v->strip = 0;
    size_t n = sizeof DATA_PARALLEL - 1;
    if (ck->n_tensors == 0)
        return;
    for (size_t i = 0; i < ck->n_tensors; i++)
        if (strncmp(ck->tensors[i].name, DATA_PARALLEL, n) != 0)
            return;
    v->strip = n;
}

const char *ds_ckpt_view_name(const ds_ckpt_view *v, size_t i) {
    return v->ck->tensors[i].name + v->strip;
}

long ds_ckpt_view_find(const ds_ckpt_view *v, const char *name) {
    for (size_t i = 0; i < v->ck->n_tensors; i++)
        if (strcmp(ds_ckpt_view_name(v, i), name) == 0)
            return (long)i;
    return -1;
}

int ds_ckpt_view_shape_is(const ds_ckpt_view *v, size_t i, int ndim, const int64_t *shape) {
    const ds_ckpt_tensor *t = &v->ck->tensors[i];
    if (t->ndim != ndim)
        return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d])
            return 0;
    return 1;
}
