/*
 * cudnn_conv.h: one convolution as a cuDNN 9 operation graph (the backend
 * API in C; cudnn_frontend is not used), its heuristics and its plans.
 *
 * Host code only: every step here works without a GPU when cuDNN is given
 * a device-properties descriptor (cuDNN >= 9.8), which is how
 * tests/test_cudnn_graphs.cu checks every convolution of the four networks;
 * gpu_libs_cudnn.cu makes that descriptor from its handle.
 *
 * Tensors are NHWC, float32; with f16 every tensor in memory is IEEE half
 * (cuDNN plans no graph mixing half operands with a float32 output), the
 * fused steps' values and the accumulation float32. The backend's fp16 mode
 * runs the bare half convolution and its own epilogue. cuDNN names dimensions (N, C, H, W) whatever the
 * layout, so the descriptors below list dims in that order with NHWC
 * strides; the weight (O, kh, kw, C/g) is KRSC, dims (O, C/g, kh, kw).
 * Groups are implied by C / (C/g).
 */
#ifndef DS_CUDNN_CONV_H
#define DS_CUDNN_CONV_H

#include <stdint.h>

#include <string>
#include <vector>

#include <cudnn.h> /* cudnnBackendDescriptor_t */

#include "depthsolve.h" /* ds_status */
#include "graph/graph.h"      /* ds_conv_attr, ds_act */

namespace ds_cuda {

/* An owned backend descriptor, destroyed with its owner. */
struct be_desc {
    cudnnBackendDescriptor_t d = NULL;
    be_desc() = default;
    be_desc(const be_desc &) = delete;
    be_desc &operator=(const be_desc &) = delete;
    be_desc(be_desc &&o) noexcept : d(o.d) { o.d = NULL; }
    be_desc &operator=(be_desc &&o) noexcept {
        if (this != &o) {
            reset();
            d = o.d;
            o.d = NULL;
        }
        return *this;
    }
    ~be_desc() { reset(); }
    void reset() {
        if (d)
            cudnnBackendDestroyDescriptor(d);
        d = NULL;
    }
};

ds_status be_create(cudnnBackendDescriptorType_t type, be_desc *out);

/* One convolution as cuDNN sees it. */
struct conv_desc {
    int64_t n, c, h, w; /* x (N, H, W, C) */
    int64_t o, oh, ow;  /* y (N, OH, OW, O) */
    int kh, kw, stride_h, stride_w, dil_h, dil_w;
    int pad_t, pad_b, pad_l, pad_r; /* pre and post paddings: TF "SAME" is asymmetric */
    int groups;
    /* The fused graph's epilogue: act(conv + r + b), act NONE, RELU or RELU6. */
    bool bias, residual;
    ds_act act;
    ds_act res_act; /* the residual's own activation: only NONE fuses */
    int align; /* bytes that every pointer is aligned to: 4, 8 or 16 */
    bool f16;  /* x, w, y (and r, b) half */
};

/* The variant pack's tensor ids. */
enum : int64_t { CONV_UID_X = 1, CONV_UID_W, CONV_UID_Y, CONV_UID_B, CONV_UID_R, CONV_UID_VIRTUAL };

conv_desc conv_desc_make(const ds_conv_attr *a, const int64_t xs[4], const int64_t ys[4], bool bias, bool residual,
                         int align, bool f16);
/* "x1x64x96x3 y32x48x32 k3x3 s2x2 d1x1 p0,1,0,1 g1 b1 r0 relu a16"
 * (a residual reads "r1:<res_act>", f16 adds " f16"): the cache key. */
std::string conv_key(const conv_desc &d);
/* Whether the fused graph can compute act(conv + b + res_act(r)): the
 * residual enters unactivated and the activation is one cuDNN has. */
bool conv_fusable(const ds_conv_attr *a, bool bias, bool residual);

/* The finalized operation graph of the convolution alone (fused false: y is
 * the bare convolution) or of conv -> + r -> + b -> act, the order cuDNN's
 * fused engines match (ReLU6 is a ReLU clipped at 6). */
ds_status conv_graph(const conv_desc &d, bool fused, be_desc *graph);

/* Up to `max` engine configs in the order of heuristics mode A (mode
 * FALLBACK when A has none), without engines that down-convert inputs and,
 * unless tensor_cores (TF32 on float32 data, or half data), without engines
 * that use tensor cores: float32 stays float32. */
ds_status conv_configs(const be_desc &graph, cudnnBackendDescriptor_t devprop, int max, bool tensor_cores,
                       std::vector<be_desc> *cfgs);
/* Whether the engine behind a config uses tensor cores. */
bool conv_config_tensor_core(const be_desc &cfg);
/* The engine's global index of a config (-1 if it cannot be read). */
int64_t conv_config_engine(const be_desc &cfg);
/* A finalized execution plan and its workspace bytes. */
ds_status conv_plan(const be_desc &cfg, cudnnBackendDescriptor_t devprop, be_desc *plan, int64_t *ws_bytes);

/* A device-properties descriptor: of the device behind a handle, or
 * deserialized from cuDNN's JSON form (no device needed). */
ds_status cudnn_devprop_from_handle(cudnnHandle_t handle, be_desc *out);
ds_status cudnn_devprop_from_json(const char *json, be_desc *out);

} // namespace ds_cuda

#endif
