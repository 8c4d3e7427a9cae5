/* planner.c: lifetimes, then best-fit placement of values in one arena. */
#include "graph/planner.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */

int ds_plan_inplace_input(const ds_node *n) {
    switch (n->op) {
    case DS_OP_ACT:
    case DS_OP_ADD:
    case DS_OP_LAYERNORM:
    case DS_OP_QK_ROPE:
    case DS_OP_SET_TOKEN:
        return 0;
    case DS_OP_CONV2D:
    case DS_OP_LINEAR:
    case DS_OP_GROUPNORM:
        return n->in[1] >= 0 ? 1 : -1; /* the residual, read where it is written */
    default:
        return -1;
    }
}

typedef struct block {
    size_t off, len;
} block;

typedef struct free_list {
    block *b;
    int n, cap;
    size_t end; /* arena high-water mark */
} free_list;

static size_t round_up(size_t n) {
    return (n + DS_PLAN_ALIGN_FLOATS - 1) / DS_PLAN_ALIGN_FLOATS * DS_PLAN_ALIGN_FLOATS;
}

/* Best fit among free blocks, else grow the arena (extending a free tail). */
static size_t take(free_list *f, size_t len) {
    int best = -1;
    for (int i = 0; i < f->n; i++)
        if (f->b[i].len >= len && (best < 0 || f->b[i].len < f->b[best].len))
            best = i;
    if (best >= 0) {
        size_t off = f->b[best].off;
        f->b[best].off += len;
        f->b[best].len -= len;
        if (f->b[best].len == 0)
            f->b[best] = f->b[--f->n];
        return off;
    }
    for (int i = 0; i < f->n; i++)
        if (f->b[i].off + f->b[i].len == f->end) { /* a free tail: grow from it */
            size_t off = f->b[i].off;
            f->end = off + len;
            f->b[i] = f->b[--f->n];
            return off;
        }
    size_t off = f->end;
    f->end += len;
    return off;
}

static int give(free_list *f, size_t off, size_t len) {
    for (int i = 0; i < f->n; i++) { /* merge with neighbours */
        if (f->b[i].off + f->b[i].len == off) {
            off = f->b[i].off;
            len += f->b[i].len;
            f->b[i--] = f->b[--f->n];
        } else if (off + len == f->b[i].off) {
            len += f->b[i].len;
            f->b[i--] = f->b[--f->n];
        }
    }
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 64;
        block *g = realloc(f->b, (size_t)cap * sizeof *g);
        if (!g)
            return 0;
        f->b = g;
        f->cap = cap;
    }
    f->b[f->n++] = (block){off, len};
    return 1;
}

/* The node whose memory a value lives in (RESHAPE chains resolve to their source). */
static int storage_of(const ds_graph *g, int v) {
    while (g->nodes[v].op == DS_OP_RESHAPE)
        v = g->nodes[v].in[0];
    return v;
}

ds_status ds_plan_make(const ds_graph *g, const ds_plan_options *o, ds_plan *p) {
    memset(p, 0, sizeof *p);
    int n = g->n_nodes;
    p->n_nodes = n;
    p->offset = calloc((size_t)n + 1, sizeof *p->offset);
    p->last_use = calloc((size_t)n + 1, sizeof *p->last_use);
    int *owner_last = calloc((size_t)n + 1, sizeof *owner_last); /* per storage */
    if (!p->offset || !p->last_use || !owner_last) {
        free(owner_last);
        ds_plan_free(p);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory planning the graph");
    }
    for (int i = 0; i < n; i++)
        p->last_use[i] = i;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < DS_NODE_MAX_IN; k++)
            if (g->nodes[i].in[k] >= 0)
                p->last_use[g->nodes[i].in[k]] = i;
    p->last_use[g->output] = n;
    for (int m = 0; m < g->n_marks; m++)
        if (o->keep_marks || g->marks[m].output)
            p->last_use[g->marks[m].node] = n;
    for (int i = 0; i < n; i++) {
        int s = storage_of(g, i);
        if (p->last_use[i] > owner_last[s])
            owner_last[s] = p->last_use[i];
    }
    free_list f = {0};
    ds_status status = DS_OK;
    for (int i = 0; i < n && status == DS_OK; i++) {
        const ds_node *node = &g->nodes[i];
        size_t len = round_up((size_t)ds_shape_numel(node->shape));
        p->sum_floats += node->op == DS_OP_RESHAPE ? 0 : len;
        int reuse = o->in_place ? ds_plan_inplace_input(node) : -1;
        int src = reuse >= 0 ? storage_of(g, node->in[reuse]) : -1;
        /* a residual may be overwritten only if the main input lives elsewhere */
        if (src >= 0 && reuse == 1 && node->op != DS_OP_ADD && storage_of(g, node->in[0]) == src)
            src = -1;
        if (node->op == DS_OP_RESHAPE) {
            p->offset[i] = p->offset[storage_of(g, i)];
        } else if (src >= 0 && owner_last[src] == i &&
                   round_up((size_t)ds_shape_numel(g->nodes[src].shape)) == len) {
            p->offset[i] = p->offset[src]; /* takes over the dying input's memory */
            owner_last[src] = -1;
        } else {
            p->offset[i] = take(&f, len);
        }
        /* release the storage of every value whose last reader is this node */
        for (int k = 0; k < DS_NODE_MAX_IN; k++) {
            int in = node->in[k];
            if (in < 0)
                continue;
            int s = storage_of(g, in);
            if (owner_last[s] == i) {
                owner_last[s] = -1;
                if (!give(&f, p->offset[s],
                          round_up((size_t)ds_shape_numel(g->nodes[s].shape))))
                    status = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory planning the graph");
            }
        }
        if (owner_last[i] == i && node->op != DS_OP_RESHAPE) { /* never read */
            owner_last[i] = -1;
            if (!give(&f, p->offset[i], len))
                status = ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory planning the graph");
        }
    }
    p->arena_floats = f.end;
    free(f.b);
    free(owner_last);
    if (status != DS_OK)
        ds_plan_free(p);
    return status;
}

void ds_plan_free(ds_plan *p) {
    if (!p)
        return;
    free(p->offset);
    free(p->last_use);
    memset(p, 0, sizeof *p);
}

ds_tensor ds_plan_value(const ds_plan *p, const ds_graph *g, float *arena, int node) {
    ds_tensor t;
    t.data = arena + p->offset[node];
    memcpy(t.shape, g->nodes[node].shape, sizeof t.shape);
    return t;
}
