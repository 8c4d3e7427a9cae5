/*
 * cuda_dispatch.cu: which device routine runs each graph op (NHWC float32):
 *  - dense and grouped convolutions: gpu_conv (cuDNN seam, gpu_libs.h);
 *    depthwise ones (groups == C == O): op_conv_depthwise (kernels/);
 *  - linear: gpu_gemm, x (M, Cin) times W^T with W (Cout, Cin), with the
 *    bias and activation fused when there is no residual, else op_bias_act
 *    after it (exact erf GELU either way);
 *  - every other op: its kernel of kernels.h; RESHAPE is the planner's
 *    alias (no work), or a device copy if a plan ever places it apart.
 */
#include <string.h>

#include "cuda_dispatch.h" /* node_exec, run_node */
#include "error.h"         /* ds_fail, DS_TRY */

namespace DS_CUDA_NS {

static ds_tensor value(const node_exec *x, int v) {
    ds_tensor t;
    t.data = x->arena + x->plan->offset[v];
    memcpy(t.shape, x->graph->nodes[v].shape, sizeof t.shape);
    return t;
}

static bool is_depthwise(const ds_graph *g, const ds_node *n) {
    const int64_t c = g->nodes[n->in[0]].shape[3];
    return n->a.conv.groups > 1 && n->a.conv.groups == c && n->shape[3] == c;
}

/* A linear with a residual whose output the plan puts on the residual:
 * the GEMM would overwrite the residual before the epilogue reads it. */
static bool gemm_needs_scratch(const ds_plan *plan, const ds_node *n, int i) {
    return n->op == DS_OP_LINEAR && n->in[1] >= 0 && plan->offset[i] == plan->offset[n->in[1]];
}

size_t node_scratch_floats(const ds_graph *g, const ds_plan *plan, int i) {
    const ds_node *n = &g->nodes[i];
    return gemm_needs_scratch(plan, n, i) ? (size_t)ds_shape_numel(n->shape) : 0;
}

static ds_status run_linear(const node_exec *x, int i, const ds_tensor *in, const ds_tensor *r,
                            ds_tensor *y) {
    const ds_node *n = &x->graph->nodes[i];
    const int64_t cin = in->shape[3], cout = n->shape[3];
    const int64_t m = ds_shape_numel(in->shape) / (cin ? cin : 1); /* rows: N * H * W */
    const float *w = x->w_dev[i], *b = x->b_dev[i];
    if (!r)
        return gpu_gemm(x->libs, x->k.stream, false, true, m, cout, cin, in->data, cin, w, cin, b,
                        n->a.linear.act, y->data, cout);
    ds_tensor g = *y; /* (M, Cout): the bare product, then act(g + b + r) */
    if (gemm_needs_scratch(x->plan, n, i)) {
        if ((size_t)ds_shape_numel(y->shape) > x->scratch_floats)
            return ds_fail(DS_ERR_INTERNAL, "%s: device scratch too small", n->name);
        g.data = x->scratch;
    }
    DS_TRY(gpu_gemm(x->libs, x->k.stream, false, true, m, cout, cin, in->data, cin, w, cin, NULL,
                    DS_ACT_NONE, g.data, cout));
    return op_bias_act(&x->k, &g, b, r, DS_ACT_NONE, n->a.linear.act, y);
}

static ds_status issue(const node_exec *x, int i) {
    const ds_node *n = &x->graph->nodes[i];
    ds_tensor in, r, y = value(x, i);
    if (n->in[0] >= 0)
        in = value(x, n->in[0]);
    if (n->in[1] >= 0)
        r = value(x, n->in[1]);
    const ds_tensor *pin = n->in[0] >= 0 ? &in : NULL, *pr = n->in[1] >= 0 ? &r : NULL;
    gpu_op op = {n, pin, pr, &y, x->w_dev[i], x->b_dev[i]};
    const kern_ctx *k = &x->k;
    switch (n->op) {
    case DS_OP_INPUT:
        return DS_OK;
    case DS_OP_CONV2D:
        if (is_depthwise(x->graph, n))
            return op_conv_depthwise(k, &op);
        return gpu_conv(x->libs, k->stream, &n->a.conv, pin, op.w, op.b, pr, &y);
    case DS_OP_CONV_TRANSPOSE: return op_conv_transpose(k, &op);
    case DS_OP_MAXPOOL: return op_maxpool(k, &op);
    case DS_OP_RESIZE: return op_resize(k, &op);
    case DS_OP_ADD: return op_add(k, &op);
    case DS_OP_ACT: return op_act(k, &op);
    case DS_OP_GROUPNORM: return op_groupnorm(k, &op);
    case DS_OP_LAYERNORM: return op_layernorm(k, &op);
    case DS_OP_LINEAR: return run_linear(x, i, pin, pr, &y);
    case DS_OP_ATTENTION: return op_attention(k, &op);
    case DS_OP_POS_EMBED: return op_pos_embed(k, &op);
    case DS_OP_PREPEND_TOKEN: return op_prepend_token(k, &op);
    case DS_OP_READOUT_CAT: return op_readout_cat(k, &op);
    case DS_OP_RESHAPE:
        if (y.data == in.data)
            return DS_OK; /* the planner's view */
        return cuda_memcpy_async(y.data, in.data, (size_t)ds_shape_numel(y.shape) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, k->stream);
    case DS_OP_COUNT:
        break;
    }
    return ds_fail(DS_ERR_INTERNAL, "no CUDA routine for op %d", (int)n->op);
}

ds_status run_node(const node_exec *x, int i) {
    ds_status s = issue(x, i);
    if (s != DS_OK)
        return ds_fail_context(s, "%s (%s)", x->graph->nodes[i].name, ds_op_name(x->graph->nodes[i].op));
    return DS_OK;
}

} // namespace DS_CUDA_NS
