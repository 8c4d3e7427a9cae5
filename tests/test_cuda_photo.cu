/*
 * test_cuda_photo.cu: the kernels of the photo path around the network
 * (kernels/photo/, and kernels/nn/quantize.cu), against the C path: the
 * RGB8 photo to the network's normalized input (NCHW and NHWC, row
 * padding), PyTorch's bicubic resize of the depth map, its min/max (NaN and
 * infinities ignored) and its 8- and 16-bit quantization, bit for bit where
 * no rounding can differ.
 * Several block sizes and guard zones; thresholds: tests/cuda_kernel_test.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "tests/cuda_kernel_test.h" /* dev_buf, CHECK_CASE, kernel_tests_main */
#include "src/depth_outputs.h"      /* ds_depth_range, ds_depth_quantize */
#include "photo/preprocess.h"       /* ds_preprocess_rgb8, ds_resize_bicubic_torch */

namespace DS_CUDA_NS {

/* A photo of h rows of `stride` random bytes (3 * width of pixels, then junk). */
static std::vector<uint8_t> photo(int h, size_t stride, uint64_t seed) {
    std::vector<uint8_t> p((size_t)h * stride);
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 7;
    for (auto &v : p) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        v = (uint8_t)(z >> 56);
    }
    return p;
}

TEST(preprocess) {
    g_worst = 0;
    static const int cases[][5] = {
        /* width, height, stride padding, net_w, net_h */
        {37, 23, 0, 32, 64}, {61, 41, 5, 96, 32}, {1, 1, 0, 32, 32}, {64, 64, 3, 32, 32}, {13, 97, 1, 7, 11},
    };
    const rgb_norm norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    for (const auto &c : cases)
        for (int nhwc = 0; nhwc < 2; nhwc++)
            for (int block : {0, 1, 32, 96}) {
                const int w = c[0], h = c[1], nw = c[3], nh = c[4];
                const size_t stride = (size_t)w * 3 + (size_t)c[2], n = (size_t)3 * nw * nh;
                std::vector<uint8_t> img = photo(h, stride, (uint64_t)(w * 131 + h));
                std::vector<float> ref(n), got(n), want(n);
                ds_preprocess_rgb8(img.data(), w, h, stride, nw, nh, norm.mean, norm.std, ref.data(), 1);
                for (size_t i = 0; i < n; i++) /* (3, nh, nw) -> (nh, nw, 3) */
                    want[nhwc ? i % ((size_t)nw * nh) * 3 + i / ((size_t)nw * nh) : i] = ref[i];
                dev_buf<uint8_t> dimg;
                dev_buf<float> dout;
                CHECK_OK(dev_alloc(&dimg, img.size()));
                CHECK_OK(dev_alloc(&dout, n));
                CHECK_OK(dev_upload(&dimg, img.data()));
                kern_ctx k = {g_stream, block};
                CHECK_OK(op_preprocess_rgb8(&k, dimg.p, w, h, stride, nw, nh, &norm, nhwc, dout.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(dout, got.data()));
                case_result res;
                res.nmse = op_nmse(got.data(), want.data(), n);
                res.guards_ok = dev_guards_ok(dout) && dev_guards_ok(dimg);
                CHECK_CASE(res, 1e-12, "preprocess %dx%d (stride %zu) -> %dx%d nhwc %d block %d", w, h, stride, nw,
                           nh, nhwc, block);
                dev_release(&dimg);
                dev_release(&dout);
            }
    print_worst("preprocess");
}

TEST(resize_bicubic) {
    g_worst = 0;
    static const int cases[][4] = {
        /* in_w, in_h, out_w, out_h */
        {32, 24, 211, 157}, {24, 32, 7, 5}, {1, 1, 3, 4}, {5, 7, 1, 1}, {17, 3, 17, 3}, {9, 13, 31, 8},
    };
    for (const auto &c : cases)
        for (int block : {0, 1, 64}) {
            const int iw = c[0], ih = c[1], ow = c[2], oh = c[3];
            std::vector<float> in((size_t)iw * ih), ref((size_t)ow * oh), got((size_t)ow * oh);
            op_random(in.data(), in.size(), 31, 10.0f);
            ds_resize_bicubic_torch(in.data(), iw, ih, ref.data(), ow, oh, 1);
            dev_buf<float> din, dout;
            CHECK_OK(dev_alloc(&din, in.size()));
            CHECK_OK(dev_alloc(&dout, ref.size()));
            CHECK_OK(dev_upload(&din, in.data()));
            kern_ctx k = {g_stream, block};
            CHECK_OK(op_resize_bicubic(&k, din.p, iw, ih, dout.p, ow, oh));
            CHECK_OK(cuda_stream_sync(g_stream));
            CHECK_OK(dev_download(dout, got.data()));
            case_result res;
            res.nmse = op_nmse(got.data(), ref.data(), ref.size());
            res.guards_ok = dev_guards_ok(dout) && dev_guards_ok(din);
            CHECK_CASE(res, 1e-12, "bicubic %dx%d -> %dx%d block %d", iw, ih, ow, oh, block);
            dev_release(&din);
            dev_release(&dout);
        }
    print_worst("resize_bicubic");
}

/* Depth-like values with NaN and infinities sprinkled in (they count as 0). */
static std::vector<float> depth_map(size_t n, uint64_t seed, float offset) {
    std::vector<float> d(n);
    op_random(d.data(), n, seed, 50.0f);
    for (size_t i = 0; i < n; i++) {
        d[i] += offset;
        if (i % 97 == 5)
            d[i] = NAN;
        if (i % 89 == 7)
            d[i] = i % 2 ? INFINITY : -INFINITY;
    }
    return d;
}

TEST(minmax) {
    for (size_t n : {(size_t)0, (size_t)1, (size_t)31, (size_t)1000, (size_t)40009})
        for (int block : {0, 32, 128})
            for (float offset : {0.0f, 100.0f, -100.0f}) {
                std::vector<float> d = depth_map(n, n + 3, offset);
                float lo, hi, got[2];
                ds_depth_range(d.data(), n, &lo, &hi);
                dev_buf<float> dd, range;
                dev_buf<uint8_t> ws;
                CHECK_OK(dev_alloc(&dd, n));
                CHECK_OK(dev_alloc(&range, 2));
                CHECK_OK(dev_alloc(&ws, op_minmax_workspace_bytes()));
                CHECK_OK(dev_upload(&dd, d.data()));
                kern_ctx k = {g_stream, block};
                CHECK_OK(op_minmax(&k, dd.p, (int64_t)n, ws.p, range.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                CHECK_OK(dev_download(range, got));
                CHECK_MSG(got[0] == lo && got[1] == hi, "n %zu offset %g block %d: (%g, %g), expected (%g, %g)", n,
                          offset, block, got[0], got[1], lo, hi);
                CHECK(dev_guards_ok(range) && dev_guards_ok(ws) && dev_guards_ok(dd));
                dev_release(&dd);
                dev_release(&range);
                dev_release(&ws);
            }
}

/* 8- and 16-bit values, bit for bit, with the range from op_minmax on the
 * device, a fixed range that clamps, and a flat map (all zeros). */
TEST(quantize) {
    for (size_t n : {(size_t)1, (size_t)257, (size_t)5003})
        for (int range_kind = 0; range_kind < 3; range_kind++)
            for (int block : {0, 1, 64}) {
                std::vector<float> d = depth_map(n, n, 20.0f);
                if (range_kind == 2)
                    for (float &v : d)
                        v = 3.5f;
                float lo, hi;
                ds_depth_range(d.data(), n, &lo, &hi);
                if (range_kind == 1)
                    lo = -10.0f, hi = 30.0f;
                dev_buf<float> dd, range;
                dev_buf<uint8_t> ws, q8;
                dev_buf<uint16_t> q16;
                CHECK_OK(dev_alloc(&dd, n));
                CHECK_OK(dev_alloc(&range, 2));
                CHECK_OK(dev_alloc(&ws, op_minmax_workspace_bytes()));
                CHECK_OK(dev_alloc(&q8, n));
                CHECK_OK(dev_alloc(&q16, n));
                CHECK_OK(dev_upload(&dd, d.data()));
                kern_ctx k = {g_stream, block};
                if (range_kind == 1) {
                    const float fixed[2] = {lo, hi};
                    CHECK_OK(dev_upload(&range, fixed));
                } else {
                    const kern_ctx kmm = {g_stream, 0}; /* a reduction: whole warps */
                    CHECK_OK(op_minmax(&kmm, dd.p, (int64_t)n, ws.p, range.p));
                }
                CHECK_OK(op_quantize_u8(&k, dd.p, (int64_t)n, range.p, q8.p));
                CHECK_OK(op_quantize_u16(&k, dd.p, (int64_t)n, range.p, q16.p));
                CHECK_OK(cuda_stream_sync(g_stream));
                std::vector<uint8_t> g8(n);
                std::vector<uint16_t> g16(n);
                CHECK_OK(dev_download(q8, g8.data()));
                CHECK_OK(dev_download(q16, g16.data()));
                for (size_t i = 0; i < n; i++) {
                    const uint8_t w8 = (uint8_t)ds_depth_quantize(d[i], lo, hi, 255.0f);
                    const uint16_t w16 = (uint16_t)ds_depth_quantize(d[i], lo, hi, 65535.0f);
                    CHECK_MSG(g8[i] == w8 && g16[i] == w16, "n %zu range %d block %d: value %zu (%g) -> %u/%u, "
                              "expected %u/%u", n, range_kind, block, i, d[i], g8[i], g16[i], w8, w16);
                }
                CHECK(dev_guards_ok(q8) && dev_guards_ok(q16));
                dev_release(&dd);
                dev_release(&range);
                dev_release(&ws);
                dev_release(&q8);
                dev_release(&q16);
            }
}

/* kernels/<folder>/<file>.cu -> its test here. */
static const kernel_test KERNEL_TESTS[] = {
    KERNEL_TEST(preprocess), KERNEL_TEST(resize_bicubic), KERNEL_TEST(minmax), KERNEL_TEST(quantize)
};

} // namespace DS_CUDA_NS

int main(int, char **argv) { return DS_CUDA_NS::kernel_tests_main(argv[0], DS_CUDA_NS::KERNEL_TESTS, NULL); }
