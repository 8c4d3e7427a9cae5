/*
 * conv_check.h: one convolution case of the CUDA library seam's tests
 * (tests/test_cuda_libs.cu under emulation, tests/test_cudnn_graphs.cu on a
 * GPU): seeded random inputs, the reference output (ds_ref_conv2d), and the
 * inputs uploaded to guarded device buffers.
 */
#ifndef DS_CONV_CHECK_H
#define DS_CONV_CHECK_H

#include <string.h>

#include <vector>

#include "cpu/ops.h"    /* ds_ref_conv2d */
#include "tests/cuda_test.h"  /* dev_buf, dev_alloc, dev_upload, dev_release */
#include "graph/graph.h"      /* ds_conv_attr, ds_window_out */
#include "tests/op_check.h"   /* op_random */

namespace DS_CUDA_NS {

struct conv_check {
    int64_t ys[4];                     /* the output shape, NHWC */
    std::vector<float> x, w, b, r, ref; /* host inputs; ref = the reference output */
    dev_buf<float> dx, dw, db, dr, dy;  /* the inputs on the device; dy for the output */
};

/* x (N, H, W, C) -> o channels under a; the reference with the bias and the
 * residual r when asked (bias values in [-bias_scale, bias_scale]). */
static inline ds_status conv_check_make(const int64_t x[4], int64_t o, const ds_conv_attr &a, bool bias,
                                        bool residual, float bias_scale, conv_check *c) {
    const int64_t ys[4] = {x[0], ds_window_out(x[1], a.pad_t, a.pad_b, a.kh, a.stride_h, a.dil_h),
                           ds_window_out(x[2], a.pad_l, a.pad_r, a.kw, a.stride_w, a.dil_w), o};
    memcpy(c->ys, ys, sizeof ys);
    const size_t nx = (size_t)(x[0] * x[1] * x[2] * x[3]), ny = (size_t)(ys[0] * ys[1] * ys[2] * ys[3]);
    const size_t nw = (size_t)(o * a.kh * a.kw * (x[3] / a.groups));
    c->x.resize(nx);
    c->w.resize(nw);
    c->b.resize((size_t)o);
    c->r.resize(ny);
    c->ref.resize(ny);
    op_random(c->x.data(), nx, 1, 1.0f);
    op_random(c->w.data(), nw, 2, 0.5f);
    op_random(c->b.data(), c->b.size(), 3, bias_scale);
    op_random(c->r.data(), ny, 4, 1.0f);
    ds_node n;
    memset(&n, 0, sizeof n);
    n.op = DS_OP_CONV2D;
    n.a.conv = a;
    memcpy(n.shape, ys, sizeof n.shape);
    ds_tensor hx = {c->x.data(), {x[0], x[1], x[2], x[3]}}, hr = {c->r.data(), {ys[0], ys[1], ys[2], ys[3]}};
    ds_tensor hy = {c->ref.data(), {ys[0], ys[1], ys[2], ys[3]}};
    ds_cpu_ctx ctx = {1, NULL, 0};
    ds_cpu_op op = {&n, &hx, residual ? &hr : NULL, &hy, c->w.data(), bias ? c->b.data() : NULL, NULL, &ctx, NULL, NULL};
    ds_ref_conv2d(&op);
    DS_TRY(dev_alloc(&c->dx, nx));
    DS_TRY(dev_alloc(&c->dw, nw));
    DS_TRY(dev_alloc(&c->db, c->b.size()));
    DS_TRY(dev_alloc(&c->dr, ny));
    DS_TRY(dev_alloc(&c->dy, ny));
    DS_TRY(dev_upload(&c->dx, c->x.data()));
    DS_TRY(dev_upload(&c->dw, c->w.data()));
    DS_TRY(dev_upload(&c->db, c->b.data()));
    return dev_upload(&c->dr, c->r.data());
}

static inline void conv_check_release(conv_check *c) {
    dev_release(&c->dx);
    dev_release(&c->dw);
    dev_release(&c->db);
    dev_release(&c->dr);
    dev_release(&c->dy);
}

} // namespace DS_CUDA_NS

#endif
