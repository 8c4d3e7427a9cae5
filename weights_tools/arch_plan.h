/*
 * arch_plan.h: the parameters an architecture declares, listed for the
 * converter, and the raw checkpoint tensors each declaration stands for.
 */
#ifndef DS_ARCH_PLAN_H
#define DS_ARCH_PLAN_H

#include <stddef.h>

#include "model/arch.h"  /* ds_arch_build */
#include "graph/graph.h" /* ds_graph */

typedef struct ds_arch_plan {
    ds_arch arch;
    ds_graph graph;        /* owns the names the declarations point to */
    ds_param_decl *decls;  /* in forward order, unused ones included */
    size_t n_decls;
} ds_arch_plan;

/* Describes `arch` at its training resolution and records every declaration. */
ds_status ds_arch_plan_make(ds_arch arch, ds_arch_plan *out);
void ds_arch_plan_free(ds_arch_plan *p); /* NULL-safe */

/* One tensor of the original state_dict. */
typedef struct ds_raw_key {
    char name[192];
    int ndim;
    int64_t shape[4];
    int is_int64;  /* num_batches_tracked, index buffers */
    int optional;  /* may be absent (num_batches_tracked, written by PyTorch >= 0.4.1;
                      buffers the model recomputes) */
} ds_raw_key;

enum { DS_RAW_KEYS_MAX = 8 };

/* The raw tensors a declaration consumes, in this order: weight, bias,
 * the BatchNorm's five, the row scale (each when the declaration has it);
 * returns how many were written. */
int ds_raw_keys(const ds_param_decl *d, ds_raw_key out[DS_RAW_KEYS_MAX]);

#endif
