/*
 * test_cuda_semantics.cu: what CUDA promises and the emulator must keep,
 * checked the same way on the emulator (`make test`) and on a GPU
 * (`make test-gpu`): launch indices, barriers and shared memory (static and
 * dynamic), warp shuffles and votes lane by lane, atomics under contention,
 * __half conversions and arithmetic, a few intrinsics, and the runtime:
 * copies, events, stream capture and graph replay.
 *
 * Expected shuffle results come from the CUDA Programming Guide's wording
 * (warp-shuffle functions), written independently of the emulator's PTX
 * rules; expected halves come from our C converter (dtype.h, uint16_t).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "kernels/common.cuh"  /* DS_LAUNCH, DS_DYNAMIC_SHARED, device built-ins */
#include "tests/cuda_test.h" /* dev_buf, cuda_test_setup */
#include "base/dtype.h"     /* ds_f32_to_f16, ds_f16_to_f32 */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;

/* ---- launch indices ---- */

/* One record per thread: (block x, y, z, thread x, y, z, blockDim x y z, gridDim x y z). */
static __global__ void indices_kernel(unsigned *out /* (threads, 12) */) {
    const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned *r = out + (block * blockDim.x * blockDim.y * blockDim.z + thread) * 12;
    const unsigned v[12] = {blockIdx.x,  blockIdx.y,  blockIdx.z,  threadIdx.x, threadIdx.y, threadIdx.z,
                            blockDim.x,  blockDim.y,  blockDim.z,  gridDim.x,   gridDim.y,   gridDim.z};
    for (int i = 0; i < 12; i++)
        r[i] = v[i];
}

TEST(launch_indices) {
    const dim3 grid(3, 2, 2), block(5, 3, 2);
    const size_t threads = 3 * 2 * 2 * 5 * 3 * 2;
    dev_buf<unsigned> out;
    CHECK_OK(dev_alloc(&out, threads * 12));
    CHECK_OK(DS_LAUNCH(indices_kernel, grid, block, 0, g_stream, out.p));
    std::vector<unsigned> h(threads * 12);
    CHECK_OK(dev_download(out, h.data()));
    size_t i = 0;
    for (unsigned bz = 0; bz < 2; bz++)
        for (unsigned by = 0; by < 2; by++)
            for (unsigned bx = 0; bx < 3; bx++)
                for (unsigned tz = 0; tz < 2; tz++)
                    for (unsigned ty = 0; ty < 3; ty++)
                        for (unsigned tx = 0; tx < 5; tx++, i++) {
                            const unsigned want[12] = {bx, by, bz, tx, ty, tz, 5, 3, 2, 3, 2, 2};
                            CHECK_MSG(!memcmp(&h[i * 12], want, sizeof want), "thread %zu", i);
                        }
    CHECK(dev_guards_ok(out));
    dev_release(&out);
}

/* ---- barriers and shared memory ---- */

enum { TILE = 8 };

/* C = A B with TILE x TILE tiles through shared memory. grid: (N, M) in tiles. */
static __global__ void matmul_tiled_kernel(const float *a /* (M, K) */, const float *b /* (K, N) */,
                                           float *c /* (M, N) */, int M, int N, int K) {
    __shared__ float ta[TILE][TILE], tb[TILE][TILE];
    const int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
    const int row = (int)blockIdx.y * TILE + ty, col = (int)blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        ta[ty][tx] = row < M && k0 + tx < K ? a[row * K + k0 + tx] : 0.0f;
        tb[ty][tx] = col < N && k0 + ty < K ? b[(k0 + ty) * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < TILE; k++)
            acc += ta[ty][k] * tb[k][tx];
        __syncthreads();
    }
    if (row < M && col < N)
        c[row * N + col] = acc;
}

TEST(barrier_tiled_matmul) {
    const int M = 19, N = 23, K = 17;
    std::vector<float> a(M * K), b(K * N), c(M * N);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < K * N; i++)
        b[i] = (float)((i * 5) % 13) - 6.0f;
    dev_buf<float> da, db, dc;
    CHECK_OK(dev_alloc(&da, a.size()));
    CHECK_OK(dev_alloc(&db, b.size()));
    CHECK_OK(dev_alloc(&dc, c.size()));
    CHECK_OK(dev_upload(&da, a.data()));
    CHECK_OK(dev_upload(&db, b.data()));
    const dim3 grid((N + TILE - 1) / TILE, (M + TILE - 1) / TILE), block(TILE, TILE);
    CHECK_OK(DS_LAUNCH(matmul_tiled_kernel, grid, block, 0, g_stream, da.p, db.p, dc.p, M, N, K));
    CHECK_OK(dev_download(dc, c.data()));
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float want = 0; /* small integers: exact in any order */
            for (int k = 0; k < K; k++)
                want += a[i * K + k] * b[k * N + j];
            CHECK_MSG(c[i * N + j] == want, "c[%d][%d] = %g, expected %g", i, j, c[i * N + j], want);
        }
    CHECK(dev_guards_ok(dc));
    dev_release(&da);
    dev_release(&db);
    dev_release(&dc);
}

/* Each block fills its shared array with its own index; after the barrier
 * every thread reads its neighbour's slot: one block never sees another's. */
static __global__ void shared_per_block_kernel(unsigned *out /* (blocks, threads) */) {
    __shared__ unsigned slot[64];
    slot[threadIdx.x] = blockIdx.x * 1000 + threadIdx.x;
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = slot[(threadIdx.x + 1) % blockDim.x];
}

TEST(static_shared_is_per_block) {
    const unsigned blocks = 7, threads = 64;
    dev_buf<unsigned> out;
    CHECK_OK(dev_alloc(&out, blocks * threads));
    CHECK_OK(DS_LAUNCH(shared_per_block_kernel, blocks, threads, 0, g_stream, out.p));
    std::vector<unsigned> h(blocks * threads);
    CHECK_OK(dev_download(out, h.data()));
    for (unsigned b = 0; b < blocks; b++)
        for (unsigned t = 0; t < threads; t++)
            CHECK_MSG(h[b * threads + t] == b * 1000 + (t + 1) % threads, "block %u thread %u: %u", b, t,
                      h[b * threads + t]);
    dev_release(&out);
}

/* Reverses each block's slice of x through dynamic shared memory of the launch's size. */
static __global__ void reverse_kernel(const float *x /* (n) */, float *y /* (n) */, int n) {
    DS_DYNAMIC_SHARED(float, buf);
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    buf[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    const int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - threadIdx.x);
    if (j < n)
        y[j] = buf[threadIdx.x];
}

TEST(dynamic_shared_memory) {
    for (int threads : {32, 96, 256}) {
        const int n = threads * 5;
        std::vector<float> x(n), y(n);
        for (int i = 0; i < n; i++)
            x[i] = (float)i;
        dev_buf<float> dx, dy;
        CHECK_OK(dev_alloc(&dx, n));
        CHECK_OK(dev_alloc(&dy, n));
        CHECK_OK(dev_upload(&dx, x.data()));
        CHECK_OK(DS_LAUNCH(reverse_kernel, 5, threads, threads * sizeof(float), g_stream, dx.p, dy.p, n));
        CHECK_OK(dev_download(dy, y.data()));
        for (int i = 0; i < n; i++) {
            const int b = i / threads, t = i % threads;
            CHECK_MSG(y[b * threads + (threads - 1 - t)] == x[i], "%d threads: y[%d]", threads, i);
        }
        dev_release(&dx);
        dev_release(&dy);
    }
}

/* ---- warp shuffles and votes ---- */

enum { SH_IDX, SH_UP, SH_DOWN, SH_XOR };

/* Two warps; every lane offers lane * 10 + warp * 1000 and reads `b` (source
 * lane, delta or lane mask) in segments of `width`. */
static __global__ void shuffle_kernel(int *out /* (64) */, int kind, int b, int width) {
    const int v = (int)(threadIdx.x % 32) * 10 + (int)(threadIdx.x / 32) * 1000;
    int r = 0;
    switch (kind) {
    case SH_IDX: r = __shfl_sync(0xffffffffu, v, b, width); break;
    case SH_UP: r = __shfl_up_sync(0xffffffffu, v, (unsigned)b, width); break;
    case SH_DOWN: r = __shfl_down_sync(0xffffffffu, v, (unsigned)b, width); break;
    case SH_XOR: r = __shfl_xor_sync(0xffffffffu, v, b, width); break;
    }
    out[threadIdx.x] = r;
}

/* The Programming Guide's description, for lane l of a warp. */
static int expected_lane(int kind, int l, int b, int w) {
    const int seg = l / w * w;
    switch (kind) {
    case SH_IDX: return seg + ((b % w) + w) % w;
    case SH_UP: return l - seg >= b ? l - b : l;
    case SH_DOWN: return l - seg + b < w ? l + b : l;
    default: { /* xor: earlier segments may be read, later ones give the lane's own value */
        const int j = l ^ b;
        return j < seg + w ? j : l;
    }
    }
}

TEST(shuffles_lane_by_lane) {
    static const char *names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync"};
    dev_buf<int> out;
    CHECK_OK(dev_alloc(&out, 64));
    int h[64], cases = 0;
    for (int kind = SH_IDX; kind <= SH_XOR; kind++)
        for (int width : {32, 16, 8, 4, 2, 1})
            for (int b : {0, 1, 3, 5, 8, 16, 31}) {
                if (kind == SH_XOR && b >= 32)
                    continue;
                CHECK_OK(DS_LAUNCH(shuffle_kernel, 1, 64, 0, g_stream, out.p, kind, b, width));
                CHECK_OK(dev_download(out, h));
                for (int t = 0; t < 64; t++) {
                    const int want = expected_lane(kind, t % 32, b, width) * 10 + t / 32 * 1000;
                    CHECK_MSG(h[t] == want, "%s(b=%d, width=%d): lane %d of warp %d got %d, expected %d",
                              names[kind], b, width, t % 32, t / 32, h[t], want);
                }
                cases++;
            }
    /* source lanes outside [0, 32) wrap modulo the width */
    for (int b : {-1, 33, 70}) {
        CHECK_OK(DS_LAUNCH(shuffle_kernel, 1, 64, 0, g_stream, out.p, (int)SH_IDX, b, 8));
        CHECK_OK(dev_download(out, h));
        for (int t = 0; t < 64; t++)
            CHECK_MSG(h[t] == expected_lane(SH_IDX, t % 32, b, 8) * 10 + t / 32 * 1000, "__shfl_sync(%d): lane %d",
                      b, t);
        cases++;
    }
    printf("    %d shuffle cases x 64 lanes\n", cases);
    dev_release(&out);
}

/* 64-bit and float values keep every bit through a shuffle. */
static __global__ void shuffle_wide_kernel(double *d /* (32) */, float *f /* (32) */) {
    const unsigned lane = threadIdx.x;
    d[lane] = __shfl_down_sync(0xffffffffu, lane * 1e10 + 0.25, 1);
    f[lane] = __shfl_xor_sync(0xffffffffu, lane * 0.1f, 3);
}

TEST(shuffles_of_wide_values) {
    dev_buf<double> d;
    dev_buf<float> f;
    CHECK_OK(dev_alloc(&d, 32));
    CHECK_OK(dev_alloc(&f, 32));
    CHECK_OK(DS_LAUNCH(shuffle_wide_kernel, 1, 32, 0, g_stream, d.p, f.p));
    double hd[32];
    float hf[32];
    CHECK_OK(dev_download(d, hd));
    CHECK_OK(dev_download(f, hf));
    for (unsigned l = 0; l < 32; l++) {
        CHECK(hd[l] == (l < 31 ? l + 1 : l) * 1e10 + 0.25);
        CHECK(hf[l] == (l ^ 3) * 0.1f);
    }
    dev_release(&d);
    dev_release(&f);
}

/* Lanes exchange through shared memory, ordered by __syncwarp() (no mask)
 * and __syncwarp(mask): both forms must compile and order the writes. */
static __global__ void syncwarp_exchange_kernel(int *out /* (64) */) {
    __shared__ int slot[64];
    const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
    slot[t] = (int)t * 3;
    __syncwarp();
    const int mine = slot[base + (lane + 1) % 32];
    __syncwarp(0xffffffffu);
    slot[t] = mine + 1;
    __syncwarp();
    out[t] = slot[base + (lane + 31) % 32];
}

TEST(syncwarp_orders_a_warp) {
    dev_buf<int> out;
    CHECK_OK(dev_alloc(&out, 64));
    CHECK_OK(DS_LAUNCH(syncwarp_exchange_kernel, 1, 64, 0, g_stream, out.p));
    int h[64];
    CHECK_OK(dev_download(out, h));
    for (int t = 0; t < 64; t++)
        CHECK_MSG(h[t] == t * 3 + 1, "thread %d read %d", t, h[t]); /* its own value, back round the ring */
    dev_release(&out);
}

/* Votes of predicates that depend on the lane; with `mask` the lanes outside
 * it do not vote (they take the other branch). */
static __global__ void vote_kernel(unsigned *out /* (32, 3) */, unsigned mask, int modulus) {
    const unsigned lane = threadIdx.x;
    if (!(mask >> lane & 1)) {
        out[lane * 3] = out[lane * 3 + 1] = out[lane * 3 + 2] = 0xdeadu;
        return;
    }
    const int pred = (int)(lane % (unsigned)modulus) == 0;
    out[lane * 3] = __ballot_sync(mask, pred);
    out[lane * 3 + 1] = (unsigned)__any_sync(mask, pred);
    out[lane * 3 + 2] = (unsigned)__all_sync(mask, pred);
}

TEST(votes_lane_by_lane) {
    dev_buf<unsigned> out;
    CHECK_OK(dev_alloc(&out, 96));
    unsigned h[96];
    for (unsigned mask : {0xffffffffu, 0x0000ffffu, 0xf0f0f0f0u, 0x80000001u, 0x00000004u})
        for (int modulus : {1, 2, 3, 64}) {
            CHECK_OK(DS_LAUNCH(vote_kernel, 1, 32, 0, g_stream, out.p, mask, modulus));
            CHECK_OK(dev_download(out, h));
            unsigned ballot = 0;
            for (unsigned l = 0; l < 32; l++)
                if ((mask >> l & 1) && l % (unsigned)modulus == 0)
                    ballot |= 1u << l;
            for (unsigned l = 0; l < 32; l++) {
                if (!(mask >> l & 1))
                    continue;
                CHECK_MSG(h[l * 3] == ballot, "mask %08x mod %d lane %u: ballot %08x, expected %08x", mask, modulus,
                          l, h[l * 3], ballot);
                CHECK(h[l * 3 + 1] == (ballot != 0));
                CHECK(h[l * 3 + 2] == (ballot == mask));
            }
        }
    dev_release(&out);
}

/* A reduction over a half warp with its own mask: lanes 16..31 do other work. */
static __global__ void half_warp_sum_kernel(int *out /* (32) */) {
    const int lane = (int)threadIdx.x;
    int v = lane;
    if (lane < 16)
        for (int o = 8; o > 0; o >>= 1)
            v += __shfl_xor_sync(0x0000ffffu, v, o, 16);
    else
        v = -v;
    out[lane] = v;
}

TEST(shuffle_with_partial_mask) {
    dev_buf<int> out;
    CHECK_OK(dev_alloc(&out, 32));
    int h[32];
    CHECK_OK(DS_LAUNCH(half_warp_sum_kernel, 1, 32, 0, g_stream, out.p));
    CHECK_OK(dev_download(out, h));
    for (int l = 0; l < 32; l++)
        CHECK_MSG(h[l] == (l < 16 ? 120 : -l), "lane %d: %d", l, h[l]);
    dev_release(&out);
}

/* ---- atomics ---- */

struct counters {
    int add_i;
    unsigned add_u;
    float add_f;
    int max_i, min_i;
    int cas_count;
    int exch;
    unsigned and_u, or_u;
};

static __global__ void atomics_kernel(counters *c, int *exch_old /* (threads) */) {
    const int t = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    atomicAdd(&c->add_i, 1);
    atomicAdd(&c->add_u, 2u);
    atomicAdd(&c->add_f, 0.5f);
    atomicMax(&c->max_i, (t * 37) % 1001 - 500);
    atomicMin(&c->min_i, (t * 37) % 1001 - 500);
    int seen = c->cas_count, old;
    while ((old = atomicCAS(&c->cas_count, seen, seen + 1)) != seen)
        seen = old; /* another thread got in between: retry */
    exch_old[t] = atomicExch(&c->exch, t);
    atomicAnd(&c->and_u, ~(1u << (t % 32)));
    atomicOr(&c->or_u, 1u << (t % 32));
}

TEST(atomics_under_contention) {
    const int blocks = 8, threads = 128, n = blocks * threads;
    dev_buf<counters> c;
    dev_buf<int> old;
    CHECK_OK(dev_alloc(&c, 1));
    CHECK_OK(dev_alloc(&old, n));
    counters h = {0, 0, 0.0f, INT_MIN, INT_MAX, 0, -1, 0xffffffffu, 0};
    CHECK_OK(dev_upload(&c, &h));
    CHECK_OK(DS_LAUNCH(atomics_kernel, blocks, threads, 0, g_stream, c.p, old.p));
    CHECK_OK(dev_download(c, &h));
    std::vector<int> olds(n);
    CHECK_OK(dev_download(old, olds.data()));
    int mx = INT_MIN, mn = INT_MAX;
    for (int t = 0; t < n; t++) {
        mx = (t * 37) % 1001 - 500 > mx ? (t * 37) % 1001 - 500 : mx;
        mn = (t * 37) % 1001 - 500 < mn ? (t * 37) % 1001 - 500 : mn;
    }
    CHECK_MSG(h.add_i == n && h.add_u == 2u * n && h.add_f == 0.5f * n, "adds: %d %u %g", h.add_i, h.add_u,
              h.add_f);
    CHECK_MSG(h.max_i == mx && h.min_i == mn, "max %d (%d), min %d (%d)", h.max_i, mx, h.min_i, mn);
    CHECK_MSG(h.cas_count == n, "CAS loop counted %d of %d", h.cas_count, n);
    CHECK(h.and_u == 0 && h.or_u == 0xffffffffu);
    /* exchanges form one chain: -1 and every thread but the last appear once */
    std::vector<int> seen(n + 1, 0);
    for (int v : olds)
        seen[v + 1]++;
    seen[h.exch + 1]++;
    for (int i = 0; i <= n; i++)
        CHECK_MSG(seen[i] == 1, "atomicExch: %d seen %d times", i - 1, seen[i]);
    dev_release(&c);
    dev_release(&old);
}

/* ---- __half ---- */

/* Per input: float of it, round trip, a*b+c fused, sqrt, exp, round to int, sum and product. */
static __global__ void half_kernel(const __half *a /* (n) */, const __half *b /* (n) */, const __half *c /* (n) */,
                                   int n, float *f /* (n, 6) */, int *r /* (n) */) {
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= n)
        return;
    f[i * 6 + 0] = __half2float(a[i]);
    f[i * 6 + 1] = __half2float(__hfma(a[i], b[i], c[i]));
    f[i * 6 + 2] = __half2float(hsqrt(b[i]));
    f[i * 6 + 3] = __half2float(hexp(c[i]));
    f[i * 6 + 4] = __half2float(__hadd(a[i], b[i]));
    f[i * 6 + 5] = __half2float(__hmul(a[i], c[i]));
    r[i] = __half2int_rn(a[i]);
}

static float f16(float x) { return ds_f16_to_f32(ds_f32_to_f16(x)); }

TEST(half_conversions_and_arithmetic) {
    /* a: values whose rounding to int is a tie, large, infinite or NaN */
    const float av[] = {0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 3.25f, 65504.0f, INFINITY, -INFINITY, NAN, 0.0f, 1000.75f};
    const int n = (int)(sizeof av / sizeof av[0]);
    std::vector<uint16_t> a(n), b(n), c(n);
    for (int i = 0; i < n; i++) {
        a[i] = ds_f32_to_f16(av[i]);
        b[i] = ds_f32_to_f16(0.125f * (float)(i + 1) * (float)(i + 3));
        c[i] = ds_f32_to_f16(0.5f - 0.25f * (float)i);
    }
    dev_buf<uint16_t> da, db, dc;
    dev_buf<float> df;
    dev_buf<int> dr;
    CHECK_OK(dev_alloc(&da, n));
    CHECK_OK(dev_alloc(&db, n));
    CHECK_OK(dev_alloc(&dc, n));
    CHECK_OK(dev_alloc(&df, (size_t)n * 6));
    CHECK_OK(dev_alloc(&dr, n));
    CHECK_OK(dev_upload(&da, a.data()));
    CHECK_OK(dev_upload(&db, b.data()));
    CHECK_OK(dev_upload(&dc, c.data()));
    CHECK_OK(DS_LAUNCH(half_kernel, 1, 32, 0, g_stream, (const __half *)da.p, (const __half *)db.p,
                       (const __half *)dc.p, n, df.p, dr.p));
    std::vector<float> f((size_t)n * 6);
    std::vector<int> r(n);
    CHECK_OK(dev_download(df, f.data()));
    CHECK_OK(dev_download(dr, r.data()));
    for (int i = 0; i < n; i++) {
        const double x = ds_f16_to_f32(a[i]), y = ds_f16_to_f32(b[i]), z = ds_f16_to_f32(c[i]);
        const float *g = &f[i * 6];
        CHECK_MSG(g[0] == (float)x || (isnan(g[0]) && isnan(x)), "half2float %d", i);
        /* x*y+z is exact in double for these operands: one rounding to half */
        const float fma_want = f16((float)(x * y + z));
        CHECK_MSG(g[1] == fma_want || (isnan(g[1]) && isnan(fma_want)), "__hfma %d: %g, expected %g", i, g[1],
                  fma_want);
        CHECK_MSG(g[2] == f16((float)sqrt(y)), "hsqrt(%g): %g", y, g[2]);
        /* hexp is approximate on the GPU: within one half ulp step */
        const float e = f16((float)exp(z));
        CHECK_MSG(fabsf(g[3] - e) <= fabsf(e) * 0x1p-10f, "hexp(%g): %g, expected %g", z, g[3], e);
        const float add_want = f16((float)(x + y)), mul_want = f16((float)(x * z));
        CHECK_MSG(g[4] == add_want || (isnan(g[4]) && isnan(add_want)), "__hadd %d", i);
        CHECK_MSG(g[5] == mul_want || (isnan(g[5]) && isnan(mul_want)), "__hmul %d", i);
        const int rn = isnan(x) ? 0 : isinf(x) ? (x > 0 ? INT_MAX : INT_MIN) : (int)nearbyint(x);
        CHECK_MSG(r[i] == rn, "__half2int_rn(%g) = %d, expected %d", x, r[i], rn);
    }
    dev_release(&da);
    dev_release(&db);
    dev_release(&dc);
    dev_release(&df);
    dev_release(&dr);
}

/* ---- intrinsics ---- */

static __global__ void intrinsics_kernel(const float *x /* (n) */, int n, float *f /* (n, 4) */, int *k /* (n, 4) */) {
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= n)
        return;
    const float v = __ldg(&x[i]);
    f[i * 4 + 0] = __expf(v);
    f[i * 4 + 1] = __frcp_rn(v);
    f[i * 4 + 2] = __fdividef(1.0f, v);
    f[i * 4 + 3] = __int_as_float(__float_as_int(v));
    k[i * 4 + 0] = __popc(__float_as_uint(v));
    k[i * 4 + 1] = __clz(i);
    k[i * 4 + 2] = __ffs(i);
    k[i * 4 + 3] = __float2int_rn(v * 3.0f);
}

TEST(intrinsics) {
    const int n = 40;
    std::vector<float> x(n), f(n * 4);
    std::vector<int> k(n * 4);
    for (int i = 0; i < n; i++)
        x[i] = 0.37f * (float)(i - 20) + 0.01f;
    dev_buf<float> dx, df;
    dev_buf<int> dk;
    CHECK_OK(dev_alloc(&dx, n));
    CHECK_OK(dev_alloc(&df, n * 4));
    CHECK_OK(dev_alloc(&dk, n * 4));
    CHECK_OK(dev_upload(&dx, x.data()));
    CHECK_OK(DS_LAUNCH(intrinsics_kernel, 2, 32, 0, g_stream, dx.p, n, df.p, dk.p));
    CHECK_OK(dev_download(df, f.data()));
    CHECK_OK(dev_download(dk, k.data()));
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        uint32_t bits;
        memcpy(&bits, &v, 4);
        CHECK_MSG(fabsf(f[i * 4] - expf(v)) <= 1e-5f * expf(v) + 1e-6f, "__expf(%g) = %g", v, f[i * 4]);
        CHECK(f[i * 4 + 1] == 1.0f / v);
        CHECK(fabsf(f[i * 4 + 2] - 1.0f / v) <= 1e-6f * fabsf(1.0f / v));
        CHECK(f[i * 4 + 3] == v);
        CHECK(k[i * 4] == __builtin_popcount(bits));
        CHECK(k[i * 4 + 1] == (i ? __builtin_clz((unsigned)i) : 32));
        CHECK(k[i * 4 + 2] == __builtin_ffs(i));
        CHECK(k[i * 4 + 3] == (int)nearbyintf(v * 3.0f));
    }
    dev_release(&dx);
    dev_release(&df);
    dev_release(&dk);
}

/* ---- the runtime: copies, events, capture and replay ---- */

static __global__ void scale_kernel(const float *x /* (n) */, float *y /* (n) */, int n, float s) {
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n)
        y[i] = x[i] * s;
}

TEST(copies_and_sets) {
    const int n = 1000;
    std::vector<float> h(n), back(n);
    for (int i = 0; i < n; i++)
        h[i] = (float)i;
    float *a, *b;
    CHECK_OK(cuda_malloc((void **)&a, n * sizeof(float)));
    CHECK_OK(cuda_malloc((void **)&b, n * sizeof(float)));
    CHECK_OK(cuda_memcpy(a, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    CHECK_OK(cuda_memset(b, 0xff, n * sizeof(float)));
    CHECK_OK(cuda_memcpy_async(b, a, n * sizeof(float), cudaMemcpyDeviceToDevice, g_stream));
    CHECK_OK(cuda_memset_async(b, 0, 10 * sizeof(float), g_stream));
    CHECK_OK(cuda_memcpy_async(back.data(), b, n * sizeof(float), cudaMemcpyDeviceToHost, g_stream));
    CHECK_OK(cuda_stream_sync(g_stream));
    for (int i = 0; i < n; i++)
        CHECK(back[i] == (i < 10 ? 0.0f : (float)i));
    CHECK_OK(cuda_free(a));
    CHECK_OK(cuda_free(b));
    CHECK_OK(cuda_free(NULL));
}

TEST(events_time_a_stream) {
    cudaEvent_t start, end;
    CHECK_OK(cuda_event_create(&start));
    CHECK_OK(cuda_event_create(&end));
    dev_buf<float> x;
    CHECK_OK(dev_alloc(&x, 4096));
    CHECK_OK(cuda_event_record(start, g_stream));
    CHECK_OK(DS_LAUNCH(scale_kernel, 16, 256, 0, g_stream, x.p, x.p, 4096, 2.0f));
    CHECK_OK(cuda_event_record(end, g_stream));
    CHECK_OK(cuda_event_sync(end));
    float ms = -1;
    CHECK_OK(cuda_event_elapsed_ms(&ms, start, end));
    CHECK_MSG(ms >= 0.0f && ms < 60e3f, "%g ms", ms);
    CHECK_OK(cuda_stream_wait_event(g_stream, end));
    CHECK_OK(cuda_event_destroy(start));
    CHECK_OK(cuda_event_destroy(end));
    dev_release(&x);
}

/* Upload from page-locked memory, two kernels, download: captured once,
 * replayed on new inputs. */
TEST(capture_and_replay) {
    const int n = 777;
    float *pin_in, *pin_out, *dx, *dy;
    CHECK_OK(cuda_malloc_host((void **)&pin_in, n * sizeof(float)));
    CHECK_OK(cuda_malloc_host((void **)&pin_out, n * sizeof(float)));
    CHECK_OK(cuda_malloc((void **)&dx, n * sizeof(float)));
    CHECK_OK(cuda_malloc((void **)&dy, n * sizeof(float)));
    cudaGraphExec_t graph = NULL;
    CHECK_OK(cuda_capture_begin(g_stream));
    CHECK_OK(cuda_memcpy_async(dx, pin_in, n * sizeof(float), cudaMemcpyHostToDevice, g_stream));
    CHECK_OK(DS_LAUNCH(scale_kernel, (n + 127) / 128, 128, 0, g_stream, dx, dy, n, 3.0f));
    CHECK_OK(DS_LAUNCH(scale_kernel, (n + 63) / 64, 64, 0, g_stream, dy, dy, n, -0.5f));
    CHECK_OK(cuda_memcpy_async(pin_out, dy, n * sizeof(float), cudaMemcpyDeviceToHost, g_stream));
    CHECK_OK(cuda_capture_end(g_stream, &graph));
    for (int replay = 0; replay < 3; replay++) {
        for (int i = 0; i < n; i++)
            pin_in[i] = (float)(i * (replay + 1));
        CHECK_OK(cuda_graph_launch(graph, g_stream));
        CHECK_OK(cuda_stream_sync(g_stream));
        for (int i = 0; i < n; i++)
            CHECK_MSG(pin_out[i] == -1.5f * (float)(i * (replay + 1)), "replay %d: [%d] = %g", replay, i, pin_out[i]);
    }
    CHECK_OK(cuda_graph_destroy(graph));
    CHECK_OK(cuda_free(dx));
    CHECK_OK(cuda_free(dy));
    CHECK_OK(cuda_free_host(pin_in));
    CHECK_OK(cuda_free_host(pin_out));
}

TEST(bad_launch_names_the_kernel) {
    dev_buf<float> x;
    CHECK_OK(dev_alloc(&x, 4));
    CHECK_FAILS(DS_LAUNCH(scale_kernel, 1, 1025, 0, g_stream, x.p, x.p, 4, 1.0f), DS_ERR_DEVICE, "scale_kernel");
    CHECK_FAILS(DS_LAUNCH(scale_kernel, 1, dim3(1, 1, 65), 0, g_stream, x.p, x.p, 4, 1.0f), DS_ERR_DEVICE,
                "scale_kernel");
    dev_release(&x);
}

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        RUN(launch_indices);
        RUN(barrier_tiled_matmul);
        RUN(static_shared_is_per_block);
        RUN(dynamic_shared_memory);
        RUN(shuffles_lane_by_lane);
        RUN(shuffles_of_wide_values);
        RUN(syncwarp_orders_a_warp);
        RUN(votes_lane_by_lane);
        RUN(shuffle_with_partial_mask);
        RUN(atomics_under_contention);
        RUN(half_conversions_and_arithmetic);
        RUN(intrinsics);
        RUN(copies_and_sets);
        RUN(events_time_a_stream);
        RUN(capture_and_replay);
        RUN(bad_launch_names_the_kernel);
    });
}
