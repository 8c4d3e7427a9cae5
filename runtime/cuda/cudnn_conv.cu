/* cudnn_conv.cu: a convolution as a cuDNN operation graph, its heuristics and plans (cudnn_conv.h). */
#include <stdio.h>
#include <string.h>

#include "cuda/cudnn_conv.h" /* the functions defined here */
#include "cuda/lib_check.h"  /* CUDNN_TRY */

namespace ds_cuda {

ds_status be_create(cudnnBackendDescriptorType_t type, be_desc *out) {
    out->reset();
    CUDNN_TRY(cudnnBackendCreateDescriptor(type, &out->d));
    return DS_OK;
}

conv_desc conv_desc_make(const ds_conv_attr *a, const int64_t xs[4], const int64_t ys[4], bool bias, bool residual,
                         int align, bool f16) {
    conv_desc d;
    d.n = xs[0], d.h = xs[1], d.w = xs[2], d.c = xs[3];
    d.oh = ys[1], d.ow = ys[2], d.o = ys[3];
    d.kh = a->kh, d.kw = a->kw, d.stride_h = a->stride_h, d.stride_w = a->stride_w;
    d.dil_h = a->dil_h, d.dil_w = a->dil_w;
    d.pad_t = a->pad_t, d.pad_b = a->pad_b, d.pad_l = a->pad_l, d.pad_r = a->pad_r;
    d.groups = a->groups;
    d.bias = bias, d.residual = residual, d.act = a->act, d.res_act = residual ? a->res_act : DS_ACT_NONE;
    d.align = align;
    d.f16 = f16;
    return d;
}

std::string conv_key(const conv_desc &d) {
    char buf[256];
    snprintf(buf, sizeof buf, "x%lldx%lldx%lldx%lld y%lldx%lldx%lld k%dx%d s%dx%d d%dx%d p%d,%d,%d,%d g%d b%d r%d%s%s %s a%d%s",
             (long long)d.n, (long long)d.h, (long long)d.w, (long long)d.c, (long long)d.oh, (long long)d.ow,
             (long long)d.o, d.kh, d.kw, d.stride_h, d.stride_w, d.dil_h, d.dil_w, d.pad_t, d.pad_b, d.pad_l, d.pad_r,
             d.groups, (int)d.bias, (int)d.residual, d.residual ? ":" : "", d.residual ? ds_act_name(d.res_act) : "",
             ds_act_name(d.act), d.align, d.f16 ? " f16" : "");
    return buf;
}

bool conv_fusable(const ds_conv_attr *a, bool bias, bool residual) {
    const bool act_ok = a->act == DS_ACT_NONE || a->act == DS_ACT_RELU || a->act == DS_ACT_RELU6;
    const bool res_ok = !residual || a->res_act == DS_ACT_NONE;
    return act_ok && res_ok && (bias || residual || a->act != DS_ACT_NONE);
}

/* A tensor (N, C, H, W) stored NHWC, or a broadcast (1, C, 1, 1) bias. */
static ds_status tensor(int64_t uid, int64_t n, int64_t c, int64_t h, int64_t w, bool is_virtual, int align,
                        cudnnDataType_t type, be_desc *t) {
    DS_TRY(be_create(CUDNN_BACKEND_TENSOR_DESCRIPTOR, t));
    const int64_t dims[4] = {n, c, h, w}, strides[4] = {h * w * c, 1, w * c, c}, alignment = align;
    const bool virt = is_virtual;
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type));
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims));
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides));
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid));
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment));
    CUDNN_TRY(cudnnBackendSetAttribute(t->d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &virt));
    CUDNN_TRY(cudnnBackendFinalize(t->d));
    return DS_OK;
}

/* A finalized pointwise operation y = mode(x[, b]); ReLU clipped to [lo, hi] when hi > lo. */
static ds_status pointwise(cudnnPointwiseMode_t mode, const be_desc &x, const be_desc *b, const be_desc &y,
                           double lo, double hi, be_desc *op) {
    be_desc pw;
    DS_TRY(be_create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR, &pw));
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    CUDNN_TRY(cudnnBackendSetAttribute(pw.d, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode));
    CUDNN_TRY(cudnnBackendSetAttribute(pw.d, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec));
    if (hi > lo) {
        CUDNN_TRY(cudnnBackendSetAttribute(pw.d, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, CUDNN_TYPE_DOUBLE, 1, &lo));
        CUDNN_TRY(cudnnBackendSetAttribute(pw.d, CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, 1, &hi));
    }
    CUDNN_TRY(cudnnBackendFinalize(pw.d));
    DS_TRY(be_create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, op));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw.d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                       1, &x.d));
    if (b)
        CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b->d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                       1, &y.d));
    CUDNN_TRY(cudnnBackendFinalize(op->d));
    return DS_OK;
}

/* The convolution forward operation x * w -> y. */
static ds_status conv_op(const conv_desc &d, const be_desc &x, const be_desc &w, const be_desc &y, be_desc *op) {
    be_desc conv;
    DS_TRY(be_create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &conv));
    const int64_t dims = 2, pre[2] = {d.pad_t, d.pad_l}, post[2] = {d.pad_b, d.pad_r};
    const int64_t stride[2] = {d.stride_h, d.stride_w}, dil[2] = {d.dil_h, d.dil_w};
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1,
                                       &mode));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride));
    CUDNN_TRY(cudnnBackendSetAttribute(conv.d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil));
    CUDNN_TRY(cudnnBackendFinalize(conv.d));
    DS_TRY(be_create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, op));
    const float alpha = 1.0f, beta = 0.0f;
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x.d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w.d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y.d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv.d));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1,
                                       &alpha));
    CUDNN_TRY(cudnnBackendSetAttribute(op->d, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1,
                                       &beta));
    CUDNN_TRY(cudnnBackendFinalize(op->d));
    return DS_OK;
}

ds_status conv_graph(const conv_desc &d, bool fused, be_desc *graph) {
    if (d.groups < 1 || d.c % d.groups)
        return ds_fail(DS_ERR_SHAPE, "cudnn conv: %lld channels in %d groups", (long long)d.c, d.groups);
    be_desc x, w, y, r, b; /* alive until the graph is finalized */
    std::vector<be_desc> ops, tensors;
    /* fp16: every tensor in memory half (cuDNN 9.19 plans no graph that mixes
     * half operands with a float32 output), the fused steps' values float32 */
    const cudnnDataType_t io = d.f16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT, f32 = CUDNN_DATA_FLOAT;
    DS_TRY(tensor(CONV_UID_X, d.n, d.c, d.h, d.w, false, d.align, io, &x));
    DS_TRY(tensor(CONV_UID_W, d.o, d.c / d.groups, d.kh, d.kw, false, d.align, io, &w));
    DS_TRY(tensor(CONV_UID_Y, d.n, d.o, d.oh, d.ow, false, d.align, io, &y));
    if (!fused) {
        ops.emplace_back();
        DS_TRY(conv_op(d, x, w, y, &ops.back()));
    } else {
        /* conv -> t0 [+ r -> t1] [+ b -> t2] [act ->] y; the last step writes y */
        const int steps = (int)d.residual + (int)d.bias + (int)(d.act != DS_ACT_NONE);
        if (steps == 0)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "cudnn conv: a fused graph needs an epilogue");
        int64_t uid = CONV_UID_VIRTUAL;
        tensors.reserve(8);
        auto next = [&](int step, const be_desc **out) -> ds_status {
            if (step == steps) {
                *out = &y;
                return DS_OK;
            }
            tensors.emplace_back();
            DS_TRY(tensor(uid++, d.n, d.o, d.oh, d.ow, true, d.align, f32, &tensors.back()));
            *out = &tensors.back();
            return DS_OK;
        };
        const be_desc *cur = NULL, *out = NULL;
        int step = 0;
        DS_TRY(next(step, &cur));
        ops.emplace_back();
        DS_TRY(conv_op(d, x, w, *cur, &ops.back()));
        if (d.residual) {
            DS_TRY(tensor(CONV_UID_R, d.n, d.o, d.oh, d.ow, false, d.align, io, &r));
            DS_TRY(next(++step, &out));
            ops.emplace_back();
            DS_TRY(pointwise(CUDNN_POINTWISE_ADD, *cur, &r, *out, 0, 0, &ops.back()));
            cur = out;
        }
        if (d.bias) {
            DS_TRY(tensor(CONV_UID_B, 1, d.o, 1, 1, false, d.align, io, &b));
            DS_TRY(next(++step, &out));
            ops.emplace_back();
            DS_TRY(pointwise(CUDNN_POINTWISE_ADD, *cur, &b, *out, 0, 0, &ops.back()));
            cur = out;
        }
        if (d.act != DS_ACT_NONE) {
            if (d.act != DS_ACT_RELU && d.act != DS_ACT_RELU6)
                return ds_fail(DS_ERR_UNSUPPORTED, "cudnn conv: no fused %s", ds_act_name(d.act));
            DS_TRY(next(++step, &out));
            ops.emplace_back();
            DS_TRY(pointwise(CUDNN_POINTWISE_RELU_FWD, *cur, NULL, *out, 0.0, d.act == DS_ACT_RELU6 ? 6.0 : 0.0,
                             &ops.back()));
        }
    }
    std::vector<cudnnBackendDescriptor_t> raw;
    for (const be_desc &op : ops)
        raw.push_back(op.d);
    DS_TRY(be_create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, graph));
    CUDNN_TRY(cudnnBackendSetAttribute(graph->d, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                       (int64_t)raw.size(), raw.data()));
    CUDNN_TRY(cudnnBackendFinalize(graph->d));
    return DS_OK;
}

/* Whether the engine behind a config computes as asked: never with inputs
 * down-converted (to half precision), with tensor cores (TF32 for float32
 * data) only when tf32. */
static bool keeps_precision(const be_desc &cfg, bool tf32) {
    be_desc engine;
    if (be_create(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine) != DS_OK)
        return false;
    int64_t n = 0;
    if (cudnnBackendGetAttribute(cfg.d, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                                 &engine.d) != CUDNN_STATUS_SUCCESS)
        return false;
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    if (cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                 CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes) != CUDNN_STATUS_SUCCESS)
        return false;
    for (int64_t i = 0; i < n; i++)
        if ((notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE && !tf32) ||
            notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)
            return false;
    return true;
}

bool conv_config_tensor_core(const be_desc &cfg) { return keeps_precision(cfg, true) && !keeps_precision(cfg, false); }

int64_t conv_config_engine(const be_desc &cfg) {
    be_desc engine;
    int64_t n = 0, index = -1;
    if (be_create(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine) != DS_OK ||
        cudnnBackendGetAttribute(cfg.d, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                                 &engine.d) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n, &index) !=
            CUDNN_STATUS_SUCCESS)
        return -1;
    return index;
}

/* The heuristics' configs of one mode, in order. */
static ds_status heuristics(const be_desc &graph, cudnnBackendDescriptor_t devprop, cudnnBackendHeurMode_t mode,
                            std::vector<be_desc> *cfgs) {
    be_desc heur;
    DS_TRY(be_create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur));
    CUDNN_TRY(cudnnBackendSetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                       &graph.d));
    CUDNN_TRY(cudnnBackendSetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode));
    CUDNN_TRY(cudnnBackendSetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_DEVICEPROP, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                       &devprop));
    CUDNN_TRY(cudnnBackendFinalize(heur.d));
    int64_t count = 0;
    CUDNN_TRY(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                       NULL));
    std::vector<be_desc> all((size_t)count);
    std::vector<cudnnBackendDescriptor_t> raw;
    for (be_desc &c : all) {
        DS_TRY(be_create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &c));
        raw.push_back(c.d);
    }
    int64_t got = 0;
    if (count > 0)
        CUDNN_TRY(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                           count, &got, raw.data()));
    for (int64_t i = 0; i < got && i < count; i++)
        cfgs->push_back(std::move(all[(size_t)i]));
    return DS_OK;
}

ds_status conv_configs(const be_desc &graph, cudnnBackendDescriptor_t devprop, int max, bool tensor_cores,
                       std::vector<be_desc> *cfgs) {
    cfgs->clear();
    for (cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
        std::vector<be_desc> found;
        DS_TRY(heuristics(graph, devprop, mode, &found));
        for (be_desc &c : found)
            if ((int)cfgs->size() < max && keeps_precision(c, tensor_cores))
                cfgs->push_back(std::move(c));
        if (!cfgs->empty())
            break;
    }
    return DS_OK;
}

ds_status conv_plan(const be_desc &cfg, cudnnBackendDescriptor_t devprop, be_desc *plan, int64_t *ws_bytes) {
    DS_TRY(be_create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, plan));
    CUDNN_TRY(cudnnBackendSetAttribute(plan->d, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg.d));
    CUDNN_TRY(cudnnBackendSetAttribute(plan->d, CUDNN_ATTR_EXECUTION_PLAN_DEVICEPROP, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                       &devprop));
    CUDNN_TRY(cudnnBackendFinalize(plan->d));
    int64_t n = 0;
    CUDNN_TRY(cudnnBackendGetAttribute(plan->d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n,
                                       ws_bytes));
    return DS_OK;
}

ds_status cudnn_devprop_from_handle(cudnnHandle_t handle, be_desc *out) {
    DS_TRY(be_create(CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR, out));
    CUDNN_TRY(cudnnBackendSetAttribute(out->d, CUDNN_ATTR_DEVICEPROP_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle));
    CUDNN_TRY(cudnnBackendFinalize(out->d));
    return DS_OK;
}

ds_status cudnn_devprop_from_json(const char *json, be_desc *out) {
    DS_TRY(be_create(CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR, out));
    CUDNN_TRY(cudnnBackendSetAttribute(out->d, CUDNN_ATTR_DEVICEPROP_JSON_REPRESENTATION, CUDNN_TYPE_CHAR,
                                       (int64_t)strlen(json), json));
    CUDNN_TRY(cudnnBackendFinalize(out->d));
    return DS_OK;
}

} // namespace ds_cuda
