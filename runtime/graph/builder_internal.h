/*
 * graph/builder_internal.h: what the builder's files (runtime/graph/builder*.c)
 * share: making a node, binding its parameters, shape helpers. Included by
 * those files only; descriptions use graph/builder.h.
 */
#ifndef DS_BUILDER_INTERNAL_H
#define DS_BUILDER_INTERNAL_H

#include "graph/builder.h" /* ds_builder, ds_val, ds_param_decl */

/* A new node of `op` on in0, in1 (-1: none), zeroed, its name `name` or the
 * op's; NULL when out of memory (b->status says so). It may move the node
 * table: copy a shape read before it. */
ds_node *ds_b_new_node(ds_builder *b, ds_op op, const char *name, ds_val in0, ds_val in1);
/* Declares the parameters d (their names filled in) and stores the bound
 * weight and bias in n's slots 0 and 1 (n may be NULL: declared only). */
void ds_b_bind(ds_builder *b, ds_param_decl *d, ds_node *n);
/* Binds the parameters of node n, just added; its value, or -1 on error. */
ds_val ds_b_bind_node(ds_builder *b, ds_param_decl *d, ds_node *n);
/* A LayerNorm's or GroupNorm's <name>.weight and .bias, c each. */
void ds_b_decl_norm(ds_param_decl *d, const char *name, int64_t c);

/* Whether v is a node of b and no error happened yet. */
static inline int ds_b_live(ds_builder *b, ds_val v) {
    return b->status == DS_OK && v >= 0 && v < b->g->n_nodes;
}

static inline ds_val ds_b_index_of(ds_builder *b, const ds_node *n) { return (ds_val)(n - b->g->nodes); }

static inline void ds_b_set_shape(ds_node *n, int64_t N, int64_t h, int64_t w, int64_t c) {
    n->shape[0] = N;
    n->shape[1] = h;
    n->shape[2] = w;
    n->shape[3] = c;
}

static inline int ds_b_same_shape(const int64_t *a, const int64_t *c) {
    return a[0] == c[0] && a[1] == c[1] && a[2] == c[2] && a[3] == c[3];
}

#endif
