/*
 * planner.h: one activation arena per input shape. Each value gets an offset
 * in the arena; values whose lifetimes do not overlap share memory, and an
 * elementwise op may write over an input that dies at that op. A RESHAPE is
 * a view: it shares its input's memory.
 *
 * Contract for backends: an op whose output the plan places on top of one of
 * its inputs (see ds_plan_inplace_input) must give the right result then.
 */
#ifndef DS_PLANNER_H
#define DS_PLANNER_H

#include <stdbool.h>
#include <stddef.h>

#include "graph/graph.h"  /* ds_graph */
#include "graph/tensor.h" /* ds_tensor */

#ifdef __cplusplus
extern "C" {
#endif

enum { DS_PLAN_ALIGN_FLOATS = 16 }; /* 64-byte alignment of every value */

typedef struct ds_plan {
    int n_nodes;
    size_t *offset;      /* per node: offset of its value in floats */
    int *last_use;       /* per node: last node reading the value (n_nodes: kept to the end) */
    size_t arena_floats; /* arena size */
    size_t sum_floats;   /* all values added up, what no reuse would need */
} ds_plan;

typedef struct ds_plan_options {
    bool keep_marks; /* marked stage outputs stay valid until the end (dumps) */
    bool in_place;   /* let outputs overwrite dying inputs where the op allows */
} ds_plan_options;

ds_status ds_plan_make(const ds_graph *g, const ds_plan_options *o, ds_plan *out);
void ds_plan_free(ds_plan *p); /* NULL-safe */

/* Value `node` of g in an arena laid out by p (host or device memory). */
ds_tensor ds_plan_value(const ds_plan *p, const ds_graph *g, float *arena, int node);

/* The input index an op may overwrite with its output, or -1. */
int ds_plan_inplace_input(const ds_node *n);

#ifdef __cplusplus
}
#endif

#endif
