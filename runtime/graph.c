/* graph.c: graph ownership and names of ops and activations. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ds_graph_free(ds_graph *g) {
    if (!g)
        return;
    for (int i = 0; i < g->n_strings; i++)
        free(g->strings[i]);
    free(g->strings);
    free(g->nodes);
    free(g->marks);
    memset(g, 0, sizeof *g);
}

int64_t ds_shape_numel(const int64_t shape[4]) {
    return shape[0] * shape[1] * shape[2] * shape[3];
}

int64_t ds_shape_numel_n(const int64_t *shape, int ndim) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

const char *ds_op_name(ds_op op) {
    static const char *names[DS_OP_COUNT] = {
        "input",     "conv2d",    "conv_transpose", "maxpool",   "resize",
        "add",       "act",       "groupnorm",      "layernorm", "linear",
        "attention", "pos_embed", "prepend_token",  "readout_cat", "reshape",
    };
    return (unsigned)op < DS_OP_COUNT ? names[op] : "?";
}

const char *ds_act_name(ds_act act) {
    switch (act) {
    case DS_ACT_NONE: return "none";
    case DS_ACT_RELU: return "relu";
    case DS_ACT_RELU6: return "relu6";
    case DS_ACT_GELU: return "gelu";
    }
    return "?";
}

int ds_graph_find_mark(const ds_graph *g, const char *name) {
    for (int i = 0; i < g->n_marks; i++)
        if (strcmp(g->marks[i].name, name) == 0)
            return g->marks[i].node;
    return -1;
}

void ds_format_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    if (ndim == 0) {
        snprintf(buf, len, "scalar");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < ndim && used < len; d++) {
        int n = snprintf(buf + used, len - used, d ? "x%lld" : "%lld", (long long)shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}
