/*
 * cuda/dispatch.cu: which device routine runs each graph op (NHWC float32):
 *  - dense and grouped convolutions: gpu_conv (cuDNN seam, gpu_libs.h);
 *    depthwise ones (groups == C == O): op_conv_depthwise (kernels/);
 *  - linear: gpu_gemm, x (M, Cin) times W^T with W (Cout, Cin), with the
 *    bias and activation fused when there is no residual, else op_bias_act
 *    after it (exact erf GELU either way);
 *  - every other op: its kernel of kernels.h; RESHAPE is the planner's
 *    alias (no work), or a device copy if a plan ever places it apart.
 * fp16 mode: the library convolutions and linears read half operands: the
 * input converted into the node's scratch (op_to_half, with the conv's
 * in_act and its channels padded like the weight), the weight converted
 * once at load; a convolution's half output goes through op_bias_act_half
 * (bias, residual, activation), a GEMM writes float32 itself. Every other
 * op, and every value between nodes, stays float32.
 */
#include <string.h>

#include "cuda/dispatch.h" /* node_exec, run_node */
#include "base/error.h"         /* ds_fail, DS_TRY */

namespace DS_CUDA_NS {

static ds_tensor value(const node_exec *x, int v) { return ds_plan_value(x->plan, x->graph, x->arena, v); }

static bool is_depthwise(const ds_graph *g, const ds_node *n) {
    const int64_t c = g->nodes[n->in[0]].shape[3];
    return n->a.conv.groups > 1 && n->a.conv.groups == c && n->shape[3] == c;
}

/* A linear with a residual whose output the plan puts on the residual:
 * the GEMM would overwrite the residual before the epilogue reads it. */
static bool gemm_needs_scratch(const ds_plan *plan, const ds_node *n, int i) {
    return n->op == DS_OP_LINEAR && n->in[1] >= 0 && plan->offset[i] == plan->offset[n->in[1]];
}

/* fp16: the input channels a library convolution reads, c padded to a
 * multiple of 8 when dense (grouped ones keep their groups' layout). */
static int64_t f16_channels(const ds_node *n, int64_t c) { return n->a.conv.groups == 1 ? (c + 7) / 8 * 8 : c; }

bool node_half_weight(const ds_graph *g, int i, int64_t *cols, int64_t *cols_padded) {
    const ds_node *n = &g->nodes[i];
    if (n->op == DS_OP_LINEAR) {
        *cols = *cols_padded = g->nodes[n->in[0]].shape[3];
        return true;
    }
    if (n->op != DS_OP_CONV2D || is_depthwise(g, n))
        return false;
    const int64_t c = g->nodes[n->in[0]].shape[3];
    *cols = c / n->a.conv.groups;
    *cols_padded = f16_channels(n, c) / n->a.conv.groups;
    return true;
}

static size_t align_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

/* The scratch regions of node i: the GEMM's float output, then in fp16 the
 * half input (padded channels) and a convolution's half output. */
struct scratch_layout {
    size_t gemm_out, half_in, half_out;
};

static scratch_layout layout_of(const ds_graph *g, const ds_plan *plan, int i, bool fp16) {
    const ds_node *n = &g->nodes[i];
    scratch_layout l = {0, 0, 0};
    if (gemm_needs_scratch(plan, n, i))
        l.gemm_out = align_up((size_t)ds_shape_numel(n->shape) * sizeof(float));
    int64_t cols = 0, padded = 0;
    if (fp16 && node_half_weight(g, i, &cols, &padded)) {
        const int64_t *xs = g->nodes[n->in[0]].shape;
        const int64_t rows = xs[0] * xs[1] * xs[2];
        const int64_t channels = n->op == DS_OP_LINEAR ? xs[3] : f16_channels(n, xs[3]);
        l.half_in = align_up((size_t)(rows * channels) * sizeof(__half));
        if (n->op == DS_OP_CONV2D)
            l.half_out = align_up((size_t)ds_shape_numel(n->shape) * sizeof(__half));
    }
    return l;
}

size_t node_scratch_bytes(const ds_graph *g, const ds_plan *plan, int i, bool fp16) {
    const scratch_layout l = layout_of(g, plan, i, fp16);
    return l.gemm_out + l.half_in + l.half_out;
}

/* The library calls of a node, issued (plan_only false) or only planned
 * (true: the seam picks and tunes its algorithm, before any capture). */
static ds_status lib_conv(const node_exec *x, bool plan_only, const ds_node *n, const ds_tensor *in,
                          const float *w, const float *b, const ds_tensor *r, ds_tensor *y) {
    if (plan_only)
        return gpu_conv_prepare(x->libs, x->k.stream, &n->a.conv, in, w, b, r, y);
    return gpu_conv(x->libs, x->k.stream, &n->a.conv, in, w, b, r, y);
}

static ds_status need_scratch(const node_exec *x, int i) {
    if (node_scratch_bytes(x->graph, x->plan, i, x->fp16) > x->scratch_bytes)
        return ds_fail(DS_ERR_INTERNAL, "%s: device scratch too small", x->graph->nodes[i].name);
    return DS_OK;
}

/* fp16: a dense or grouped convolution on half operands, then its epilogue. */
static ds_status run_conv_f16(const node_exec *x, int i, bool plan_only, const ds_tensor *in, const ds_tensor *r,
                              ds_tensor *y) {
    const ds_node *n = &x->graph->nodes[i];
    const ds_conv_attr *a = &n->a.conv;
    DS_TRY(need_scratch(x, i));
    const scratch_layout l = layout_of(x->graph, x->plan, i, true);
    __half *xh = (__half *)(x->scratch + l.gemm_out), *yh = (__half *)(x->scratch + l.gemm_out + l.half_in);
    const int64_t c = in->shape[3], cp = f16_channels(n, c);
    const int64_t xs[4] = {in->shape[0], in->shape[1], in->shape[2], cp}; /* (N, H, W, Cp) */
    if (plan_only)
        return gpu_conv_f16_prepare(x->libs, x->k.stream, a, xs, xh, x->wh_dev[i], y->shape, yh);
    DS_TRY(op_to_half(&x->k, in->data, xs[0] * xs[1] * xs[2], c, a->in_act, cp, xh));
    DS_TRY(gpu_conv_f16(x->libs, x->k.stream, a, xs, xh, x->wh_dev[i], y->shape, yh));
    return op_bias_act_half(&x->k, yh, y->shape, x->w_dev[i].slot[1], r, a->res_act, a->act, y);
}

/* out (M, Cout) = act(in W^T + b): float32 operands, or in fp16 the input
 * converted to half in the node's scratch and the half weight. */
static ds_status lib_gemm(const node_exec *x, int i, bool plan_only, int64_t m, int64_t cout, int64_t cin,
                          const float *in, const float *b, ds_act act, float *out) {
    if (!x->fp16) {
        const float *w = x->w_dev[i].slot[0];
        if (plan_only)
            return gpu_gemm_prepare(x->libs, x->k.stream, false, true, m, cout, cin, in, cin, w, cin, b, act, out,
                                    cout);
        return gpu_gemm(x->libs, x->k.stream, false, true, m, cout, cin, in, cin, w, cin, b, act, out, cout);
    }
    DS_TRY(need_scratch(x, i));
    const scratch_layout l = layout_of(x->graph, x->plan, i, true);
    __half *ah = (__half *)(x->scratch + l.gemm_out); /* (M, Cin) */
    if (plan_only)
        return gpu_gemm_f16_prepare(x->libs, x->k.stream, m, cout, cin, ah, x->wh_dev[i], b, act, out, cout);
    DS_TRY(op_to_half(&x->k, in, m, cin, DS_ACT_NONE, cin, ah));
    return gpu_gemm_f16(x->libs, x->k.stream, m, cout, cin, ah, x->wh_dev[i], b, act, out, cout);
}

static ds_status run_linear(const node_exec *x, int i, bool plan_only, const ds_tensor *in,
                            const ds_tensor *r, ds_tensor *y) {
    const ds_node *n = &x->graph->nodes[i];
    const int64_t cin = in->shape[3], cout = n->shape[3];
    const int64_t m = ds_shape_numel(in->shape) / (cin ? cin : 1); /* rows: N * H * W */
    const float *b = x->w_dev[i].slot[1];
    if (!r)
        return lib_gemm(x, i, plan_only, m, cout, cin, in->data, b, n->a.linear.act, y->data);
    ds_tensor g = *y; /* (M, Cout): the bare product, then act(g + b + r) */
    if (gemm_needs_scratch(x->plan, n, i)) {
        DS_TRY(need_scratch(x, i));
        g.data = (float *)x->scratch;
    }
    DS_TRY(lib_gemm(x, i, plan_only, m, cout, cin, in->data, NULL, DS_ACT_NONE, g.data));
    if (plan_only)
        return DS_OK;
    return op_bias_act(&x->k, &g, b, r, DS_ACT_NONE, n->a.linear.act, y);
}

bool node_supported(const ds_node *n) {
    switch (n->op) {
    case DS_OP_ATTENTION:
        return n->a.attn.heads > 0 && n->shape[3] / n->a.attn.heads <= ATTENTION_MAX_HEAD_DIM;
    case DS_OP_WINDOW_ATTENTION:
        return n->a.win.heads > 0 && n->shape[3] / n->a.win.heads <= WINDOW_ATTENTION_MAX_HEAD_DIM;
    case DS_OP_COUNT:
        return false;
    default:
        return (unsigned)n->op < DS_OP_COUNT;
    }
}

static ds_status issue(const node_exec *x, int i, bool plan_only) {
    const ds_node *n = &x->graph->nodes[i];
    ds_tensor in, r, y = value(x, i);
    if (n->in[0] >= 0)
        in = value(x, n->in[0]);
    if (n->in[1] >= 0)
        r = value(x, n->in[1]);
    const ds_tensor *pin = n->in[0] >= 0 ? &in : NULL, *pr = n->in[1] >= 0 ? &r : NULL;
    const node_weights &nw = x->w_dev[i];
    gpu_op op = {n, pin, pr, &y, nw.slot[0], nw.slot[1], nw.slot[2], nw.slot[3]};
    const kern_ctx *k = &x->k;
    if (n->op == DS_OP_CONV2D && !is_depthwise(x->graph, n))
        return x->fp16 ? run_conv_f16(x, i, plan_only, pin, pr, &y) : lib_conv(x, plan_only, n, pin, op.w, op.b, pr, &y);
    if (n->op == DS_OP_LINEAR)
        return run_linear(x, i, plan_only, pin, pr, &y);
    if (plan_only)
        return DS_OK; /* our own kernels need no planning */
    switch (n->op) {
    case DS_OP_INPUT:
        return DS_OK;
    case DS_OP_CONV2D:
        return op_conv_depthwise(k, &op);
    case DS_OP_CONV_TRANSPOSE: return op_conv_transpose(k, &op);
    case DS_OP_MAXPOOL: return op_maxpool(k, &op);
    case DS_OP_RESIZE: return op_resize(k, &op);
    case DS_OP_ADD: return op_add(k, &op);
    case DS_OP_ACT: return op_act(k, &op);
    case DS_OP_GROUPNORM: return op_groupnorm(k, &op);
    case DS_OP_LAYERNORM: return op_layernorm(k, &op);
    case DS_OP_LINEAR: break; /* above */
    case DS_OP_ATTENTION: return op_attention(k, &op);
    case DS_OP_POS_EMBED: return op_pos_embed(k, &op);
    case DS_OP_PREPEND_TOKEN: return op_prepend_token(k, &op);
    case DS_OP_READOUT_CAT: return op_readout_cat(k, &op);
    case DS_OP_WINDOW_ATTENTION: return op_window_attention(k, &op);
    case DS_OP_PATCH_MERGE: return op_patch_merge(k, &op);
    case DS_OP_LEVIT_ATTENTION: return op_levit_attention(k, &op);
    case DS_OP_POS_EMBED_BICUBIC: return op_pos_embed_bicubic(k, &op);
    case DS_OP_DROP_TOKEN: return op_drop_token(k, &op);
    case DS_OP_SCALE: return op_scale(k, &op);
    case DS_OP_RESHAPE:
        if (y.data == in.data)
            return DS_OK; /* the planner's view */
        return cuda_memcpy_async(y.data, in.data, (size_t)ds_shape_numel(y.shape) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, k->stream);
    case DS_OP_QK_ROPE: return op_qk_rope(k, &op);
    case DS_OP_CONCAT: return op_concat(k, &op);
    case DS_OP_SET_TOKEN: return op_set_token(k, &op);
    case DS_OP_SLICE: return op_slice(k, &op);
    case DS_OP_CONSTANT: return op_constant(k, &op);
    case DS_OP_COUNT:
        break;
    }
    return ds_fail(DS_ERR_INTERNAL, "no CUDA routine for op %d", (int)n->op);
}

static ds_status with_node_name(const node_exec *x, int i, ds_status s) {
    if (s != DS_OK)
        return ds_fail_context(s, "%s (%s)", x->graph->nodes[i].name, ds_op_name(x->graph->nodes[i].op));
    return DS_OK;
}

ds_status run_node(const node_exec *x, int i) { return with_node_name(x, i, issue(x, i, false)); }

ds_status plan_node(const node_exec *x, int i) { return with_node_name(x, i, issue(x, i, true)); }

} // namespace DS_CUDA_NS
