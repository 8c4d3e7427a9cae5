/* params.c: the stored layout of declared parameters (see params.h). */
#include "graph/params.h"

void ds_param_weight_shape(const ds_param_decl *d, int *ndim, int64_t shape[4]) {
    *ndim = d->ndim;
    for (int i = 0; i < 4; i++)
        shape[i] = i < d->ndim ? d->shape[i] : 0;
    if ((d->kind == DS_PARAM_CONV || d->kind == DS_PARAM_CONV_T) && d->ndim == 4) {
        shape[1] = d->shape[2];
        shape[2] = d->shape[3];
        shape[3] = d->shape[1];
    }
}

int64_t ds_param_bias_len(const ds_param_decl *d) {
    if (!d->bias_name)
        return 0;
    switch (d->kind) {
    case DS_PARAM_CONV: return d->shape[0];
    case DS_PARAM_CONV_T: return d->shape[1];
    case DS_PARAM_LINEAR: return d->shape[0];
    case DS_PARAM_NORM: return d->shape[0];
    case DS_PARAM_TENSOR: return 0;
    case DS_PARAM_BUFFER: return 0;
    case DS_PARAM_BATCHNORM: return 0;
    }
    return 0;
}

bool ds_param_weight_may_be_f16(const ds_param_decl *d) {
    return d->kind == DS_PARAM_CONV || d->kind == DS_PARAM_CONV_T || d->kind == DS_PARAM_LINEAR;
}
