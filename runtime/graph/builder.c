/*
 * builder.c: the builder's core: errors, names the graph owns, constants,
 * nodes and parameter binding, declared-only parameters, marks and
 * outputs. The layers are in builder_conv.c (convolutions, pooling,
 * resizes, elementwise ops, norms), builder_transformer.c (linear layers,
 * attention) and builder_tokens.c (token sequences and their layout).
 */
#include "graph/builder.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"       /* ds_fail */
#include "base/large_alloc.h" /* ds_large_alloc */
#include "graph/builder_internal.h" /* ds_b_live, ds_b_index_of, ds_b_set_shape */

void ds_builder_init(ds_builder *b, ds_graph *g, const ds_param_binder *binder) {
    memset(g, 0, sizeof *g);
    g->input = g->output = -1;
    b->g = g;
    b->binder = binder;
    b->status = DS_OK;
}

ds_status ds_b_error(ds_builder *b, ds_status status, const char *fmt, ...) {
    if (b->status != DS_OK)
        return b->status; /* keep the first error */
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->status = ds_fail(status, "%s", msg);
    return b->status;
}

static int grow(void **items, int *cap, int need, size_t size) {
    if (need <= *cap)
        return 1;
    int cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*items, (size_t)cap2 * size);
    if (!p)
        return 0;
    *items = p;
    *cap = cap2;
    return 1;
}

const char *ds_b_name(ds_builder *b, const char *fmt, ...) {
    if (b->status != DS_OK)
        return "";
    ds_graph *g = b->g;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s || !grow((void **)&g->strings, &g->cap_strings, g->n_strings + 1, sizeof *g->strings)) {
        free(s);
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return "";
    }
    g->strings[g->n_strings++] = s;
    return s;
}

/* A zeroed, 64-byte aligned tensor of `ndim` dims the graph owns (ds_b_constant). */
static void *constant(ds_builder *b, ds_tensor_ref *out, const char *name, ds_dtype dtype, int ndim,
                      const int64_t *shape) {
    memset(out, 0, sizeof *out);
    if (b->status != DS_OK)
        return NULL;
    ds_graph *g = b->g;
    const int64_t n = ndim >= 1 && ndim <= 4 ? ds_shape_numel_n(shape, ndim) : -1;
    if (n < 0 || (uint64_t)n > (SIZE_MAX - 128) / ds_dtype_size(dtype)) {
        ds_b_error(b, DS_ERR_INTERNAL, "constant %s: bad shape", name);
        return NULL;
    }
    const size_t bytes = ((size_t)n * ds_dtype_size(dtype) + 63) / 64 * 64 + 64;
    void *data = ds_large_alloc(bytes);
    if (!data || !grow((void **)&g->constants, &g->cap_constants, g->n_constants + 1, sizeof *g->constants)) {
        free(data);
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory for the constant %s (%zu MiB)", name, bytes >> 20);
        return NULL;
    }
    memset(data, 0, bytes);
    g->constants[g->n_constants++] = data;
    out->name = name;
    out->dtype = dtype;
    out->ndim = ndim;
    memcpy(out->shape, shape, (size_t)ndim * sizeof *shape);
    out->data = data;
    out->graph_owned = true;
    return data;
}

float *ds_b_constant(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape) {
    return constant(b, out, name, DS_F32, ndim, shape);
}

int32_t *ds_b_constant_i32(ds_builder *b, ds_tensor_ref *out, const char *name, int ndim, const int64_t *shape) {
    return constant(b, out, name, DS_I32, ndim, shape);
}

/* A failed op's value (< 0: the builder holds the error) has a shape of
 * zeros, so that the description goes on to its end without reading past
 * the nodes; every op on that value fails too. */
const int64_t *ds_b_shape(const ds_builder *b, ds_val v) {
    static const int64_t none[4];
    return v >= 0 && v < b->g->n_nodes ? b->g->nodes[v].shape : none;
}

ds_node *ds_b_new_node(ds_builder *b, ds_op op, const char *name, ds_val in0, ds_val in1) {
    ds_graph *g = b->g;
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) {
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return NULL;
    }
    ds_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = name ? name : ds_op_name(op);
    n->in[0] = in0;
    n->in[1] = in1;
    return n;
}

/* Declares a layer's parameters and receives the tensors the graph uses
 * (*w and *bias zeroed first). */
static void bind_refs(ds_builder *b, ds_param_decl *d, ds_tensor_ref *w, ds_tensor_ref *bias) {
    memset(w, 0, sizeof *w);
    memset(bias, 0, sizeof *bias);
    if (b->status != DS_OK)
        return;
    const int whole = d->kind == DS_PARAM_TENSOR || d->kind == DS_PARAM_BUFFER;
    d->weight_name = whole ? d->name : ds_b_name(b, "%s.weight", d->name);
    d->bias_name = (d->has_bias || d->bn) ? ds_b_name(b, "%s.bias", d->name) : NULL;
    if (b->status != DS_OK)
        return;
    ds_status s = b->binder->bind(b->binder->ctx, d, w, bias);
    if (s != DS_OK)
        b->status = s;
}

void ds_b_bind(ds_builder *b, ds_param_decl *d, ds_node *n) {
    ds_tensor_ref w, bias;
    bind_refs(b, d, &w, &bias);
    if (n && b->status == DS_OK) {
        n->w[0] = w;
        n->w[1] = bias;
    }
}

ds_val ds_b_bind_node(ds_builder *b, ds_param_decl *d, ds_node *n) {
    ds_val v = ds_b_index_of(b, n);
    ds_b_bind(b, d, &b->g->nodes[v]);
    return b->status == DS_OK ? v : -1;
}

void ds_b_decl_norm(ds_param_decl *d, const char *name, int64_t c) {
    memset(d, 0, sizeof *d);
    d->kind = DS_PARAM_NORM;
    d->name = name;
    d->ndim = 1;
    d->shape[0] = c;
    d->has_bias = true;
}

ds_val ds_b_input(ds_builder *b, int h, int w) {
    if (b->status != DS_OK)
        return -1;
    ds_node *n = ds_b_new_node(b, DS_OP_INPUT, "input", -1, -1);
    if (!n)
        return -1;
    ds_b_set_shape(n, 1, h, w, 3);
    b->g->input = ds_b_index_of(b, n);
    return b->g->input;
}

/* A declaration of `kind` for <name>, of the given PyTorch shape. */
static ds_param_decl decl_of(ds_param_kind kind, const char *name, int ndim, const int64_t *shape, bool has_bias) {
    ds_param_decl d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.name = name;
    d.ndim = ndim;
    for (int i = 0; i < ndim && i < 4; i++)
        d.shape[i] = shape[i];
    d.has_bias = has_bias;
    return d;
}

void ds_b_param(ds_builder *b, ds_param_kind kind, const char *name, int ndim, const int64_t *shape,
                bool has_bias, ds_tensor_ref *w, ds_tensor_ref *bias) {
    ds_param_decl d = decl_of(kind, name, ndim, shape, has_bias);
    ds_tensor_ref unused_bias;
    bind_refs(b, &d, w, bias ? bias : &unused_bias);
}

bool ds_b_lists_params(const ds_builder *b) { return b->binder->declare_unused; }

void ds_b_buffer(ds_builder *b, const char *name, int ndim, const int64_t *shape, bool is_int64,
                 const float *expect) {
    if (b->status != DS_OK || !ds_b_lists_params(b))
        return;
    ds_param_decl d = decl_of(DS_PARAM_BUFFER, name, ndim, shape, false);
    d.unused = true;
    d.expect = expect;
    d.is_int64 = is_int64;
    ds_b_bind(b, &d, NULL);
}

void ds_b_unused(ds_builder *b, ds_param_kind kind, const char *name, int ndim,
                 const int64_t *shape, bool has_bias) {
    if (b->status != DS_OK || !b->binder->declare_unused)
        return;
    ds_param_decl d = decl_of(kind, name, ndim, shape, has_bias);
    d.unused = true;
    ds_b_bind(b, &d, NULL);
}

void ds_b_mark(ds_builder *b, const char *stage_name, ds_val v) {
    if (!ds_b_live(b, v))
        return;
    ds_graph *g = b->g;
    if (!grow((void **)&g->marks, &g->cap_marks, g->n_marks + 1, sizeof *g->marks)) {
        ds_b_error(b, DS_ERR_OUT_OF_MEMORY, "out of memory building the graph");
        return;
    }
    g->marks[g->n_marks].name = stage_name;
    g->marks[g->n_marks].node = v;
    g->marks[g->n_marks].output = false;
    g->n_marks++;
}

void ds_b_output(ds_builder *b, ds_val v) {
    if (ds_b_live(b, v))
        b->g->output = v;
}

void ds_b_output_named(ds_builder *b, const char *name, ds_val v) {
    ds_b_mark(b, name, v);
    if (b->status == DS_OK && ds_b_live(b, v))
        b->g->marks[b->g->n_marks - 1].output = true;
}
