/* cpu/conv/conv.c: the fast CONV2D entry: picks an algorithm per node, packs weights, dispatches. */
#include "cpu/conv/conv.h"
#include "base/large_alloc.h" /* ds_large_alloc */
#include "cpu/isa.h"          /* ds_cpu_isa_active */

#include <stdlib.h>
#include <string.h>

int ds_cpu_has_avx2_fma(void) {
    return ds_cpu_isa_active() >= DS_ISA_AVX2;
}

void ds_conv_tap_range(int64_t o, int stride, int pad, int dil, int k, int64_t in, int *k0,
                       int *k1) {
    int64_t i0 = o * stride - pad;
    int lo = 0, hi = k;
    while (lo < k && i0 + (int64_t)lo * dil < 0)
        lo++;
    while (hi > lo && i0 + (int64_t)(hi - 1) * dil >= in)
        hi--;
    *k0 = lo;
    *k1 = hi;
}

ds_conv_dims ds_conv_dims_of(const ds_node *n) {
    const ds_conv_attr *a = &n->a.conv;
    ds_conv_dims d;
    d.n = n->shape[0];
    d.oh = n->shape[1];
    d.ow = n->shape[2];
    d.o = n->shape[3];
    d.cg = n->w[0].shape[3];
    d.c = d.cg * a->groups;
    d.og = d.o / a->groups;
    d.k = (int64_t)a->kh * a->kw * d.cg;
    return d;
}

int ds_conv_applies(const ds_node *n, ds_conv_algo algo) {
    const ds_conv_attr *a = &n->a.conv;
    ds_conv_dims d = ds_conv_dims_of(n);
    switch (algo) {
    case DS_CONV_GEMM:
        return a->groups == 1;
    case DS_CONV_WINOGRAD:
        return a->groups == 1 && a->kh == 3 && a->kw == 3 && a->stride_h == 1 &&
               a->stride_w == 1 && a->dil_h == 1 && a->dil_w == 1;
    case DS_CONV_DEPTHWISE:
        return a->groups > 1 && d.cg == 1 && d.og == 1;
    case DS_CONV_GROUPED:
        return a->groups > 1 && !(d.cg == 1 && d.og == 1);
    }
    return 0;
}

/*
 * Winograd does less work than im2col but reads 4x the weights, once per
 * block of tiles. With few tiles and weights too big for the cache, reading
 * them from memory costs more than the work saved once the threads share the
 * memory bandwidth: compute per weight byte grows with the tiles, so the
 * break-even tile count grows with the threads (bench/RESULTS.md, "CPU
 * convolution kernels": the measurements behind this rule).
 */
enum { WINO_CACHED_BYTES = 8 << 20 }; /* Winograd weights this small stay in L3 */

ds_conv_algo ds_conv_choose(const ds_node *n, int n_threads) {
    if (ds_conv_applies(n, DS_CONV_DEPTHWISE))
        return DS_CONV_DEPTHWISE;
    if (ds_conv_applies(n, DS_CONV_GROUPED))
        return DS_CONV_GROUPED;
    if (ds_conv_applies(n, DS_CONV_WINOGRAD)) {
        ds_conv_dims d = ds_conv_dims_of(n);
        int64_t tiles = d.n * ((d.oh + 3) / 4) * ((d.ow + 3) / 4);
        if (ds_wino_packed_floats(n) * sizeof(float) <= WINO_CACHED_BYTES ||
            tiles >= 4 * (int64_t)n_threads)
            return DS_CONV_WINOGRAD;
    }
    return DS_CONV_GEMM;
}

size_t ds_conv2d_scratch_algo(const ds_node *n, int n_threads, ds_conv_algo a) {
    switch (a) {
    case DS_CONV_GEMM: return ds_conv_gemm_scratch(n, n_threads);
    case DS_CONV_WINOGRAD: return ds_conv_winograd_scratch(n, n_threads);
    case DS_CONV_DEPTHWISE: return 0;
    case DS_CONV_GROUPED: return ds_grouped_scratch(n, n_threads);
    }
    return 0;
}

size_t ds_fast_conv2d_scratch(const ds_node *n, int n_threads) {
    return ds_conv2d_scratch_algo(n, n_threads, ds_conv_choose(n, n_threads));
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* Packs the layouts of the algorithms in `algos` (a bit per ds_conv_algo)
 * that apply to this node: Winograd weights and GEMM panels for a dense conv,
 * the direct layout for a depthwise or grouped one. */
static void *pack_layouts(const ds_node *n, const float *w, unsigned algos) {
    const int wino = ds_conv_applies(n, DS_CONV_WINOGRAD) && (algos & 1u << DS_CONV_WINOGRAD);
    const int depthwise = ds_conv_applies(n, DS_CONV_DEPTHWISE);
    const int grouped = ds_conv_applies(n, DS_CONV_GROUPED);
    const int gemm = !depthwise && !grouped && (algos & 1u << DS_CONV_GEMM);
    ds_conv_dims d = ds_conv_dims_of(n);
    size_t n_wino = wino ? round16(ds_wino_packed_floats(n)) : 0;
    size_t n_other = depthwise ? ds_depthwise_packed_floats(n)
                     : grouped ? ds_grouped_packed_floats(n)
                     : gemm    ? ds_gemm_packed_floats(d.o, d.k)
                               : 0;
    enum { HEAD = 64 }; /* the header, then 64-byte aligned floats */
    size_t bytes = HEAD + (n_wino + round16(n_other)) * sizeof(float);
    char *mem = ds_large_alloc(bytes);
    if (!mem)
        return NULL;
    ds_conv_packed *p = (ds_conv_packed *)mem;
    float *f = (float *)(mem + HEAD), *other = f + n_wino;
    memset(p, 0, sizeof *p);
    if (n_wino) {
        ds_wino_pack(n, w, f);
        p->wino = f;
    }
    if (depthwise) {
        ds_depthwise_pack(n, w, other);
        p->direct = other;
    } else if (grouped) {
        ds_grouped_pack(n, w, other);
        p->direct = other;
    } else if (n_other) {
        ds_gemm_pack(w, d.o, d.k, other);
        p->gemm = other;
    }
    return p;
}

int ds_fast_conv2d_pack_key(const ds_node *n, int n_threads) {
    return (int)ds_conv_choose(n, n_threads);
}

/* Only what this node runs at its shape: a Winograd conv's GEMM panels (as
 * large as its weights) are not kept for sizes that never use them. */
void *ds_fast_conv2d_pack(const ds_node *n, const float *w, int n_threads) {
    return pack_layouts(n, w, 1u << ds_conv_choose(n, n_threads));
}

void *ds_fast_conv2d_pack_all(const ds_node *n, const float *w, int n_threads) {
    (void)n_threads;
    return pack_layouts(n, w, ~0u);
}

int ds_conv2d_run_algo(const ds_cpu_op *op, ds_conv_algo a, int simd) {
    const ds_conv_packed *p = op->packed;
    if (a == DS_CONV_WINOGRAD && (!p || !p->wino))
        a = DS_CONV_GEMM; /* not packed: the weights as stored still make a GEMM */
    size_t need = ds_conv2d_scratch_algo(op->node, op->ctx->n_threads, a);
    int packed_ok = a == DS_CONV_GEMM || a == DS_CONV_WINOGRAD || (p && p->direct);
    /* A workspace sized for other settings, or weights never packed: stay correct. */
    if (!ds_conv_applies(op->node, a) || need > op->ctx->scratch_bytes || !packed_ok) {
        ds_ref_conv2d(op);
        return -1;
    }
    switch (a) {
    case DS_CONV_GEMM: ds_conv_gemm(op, p, simd); break;
    case DS_CONV_WINOGRAD: ds_conv_winograd(op, p->wino, simd); break;
    case DS_CONV_DEPTHWISE: ds_conv_depthwise(op, p->direct, simd); break;
    case DS_CONV_GROUPED: ds_conv_grouped(op, p->direct, simd); break;
    }
    return (int)a;
}

void ds_fast_conv2d(const ds_cpu_op *op) {
    ds_conv2d_run_algo(op, ds_conv_choose(op->node, op->ctx->n_threads), (int)ds_cpu_isa_active());
}
