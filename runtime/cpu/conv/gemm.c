/*
 * cpu/conv/gemm.c: dense convolution as sgemm. The output (N*OH*OW, O) is
 * A (N*OH*OW, K) times W^T, where W (O, kh, kw, C) is stored as (O, K) and
 * A is x itself for a 1x1 stride-1 conv, else im2col rows (K = kh*kw*C in
 * the weight's order) built for one tile of output pixels at a time.
 *
 * On an AVX2 machine, convs with 8 outputs or more run instead on
 * ds_gemm_packed_avx2, the weights packed once, with the epilogue in
 * registers (cpu/fast/gemm_avx2.c), per-thread tiles: faster than OpenBLAS
 * plus a separate epilogue pass, the more so the shorter K
 * (bench/RESULTS.md, "CPU convolution kernels").
 *
 * Without the packed kernel (a CPU without AVX2, or fewer than 8 outputs),
 * OpenBLAS runs single-threaded inside our tasks: each task builds the
 * im2col rows of its tile of output pixels, calls sgemm on them, and runs
 * the epilogue on a tile still in cache. Small weights get L2-sized tiles;
 * large ones (where OpenBLAS's per-call packing of W costs most) one tile a
 * thread, so W is packed once per thread.
 */
#include <cblas.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial */
#include "cpu/conv/conv.h"
#include "cpu/isa.h" /* DS_ISA_AVX512 */

typedef struct gemm_plan {
    int direct;   /* A is x: 1x1, stride 1, no padding, no in_act */
    int64_t tile; /* output pixels per tile */
} gemm_plan;

/* Weights up to this many floats (L2-sized) are cheap enough to pack per tile. */
enum { PER_THREAD_MAX_WEIGHTS = 1 << 17 };
/* Bytes of A and C per tile that a core's L2 should hold in per-thread mode. */
enum { TILE_BYTES = 256 << 10 };
/* The bound on all threads' im2col tiles together, in floats (8 MiB). */
enum { IM2COL_MAX_FLOATS = 1 << 21 };

static int direct(const ds_conv_attr *a) {
    return a->kh == 1 && a->kw == 1 && a->stride_h == 1 && a->stride_w == 1 && a->pad_t == 0 &&
           a->pad_b == 0 && a->pad_l == 0 && a->pad_r == 0 && a->in_act == DS_ACT_NONE;
}

int ds_conv_is_pointwise(const ds_node *n) {
    return n->a.conv.groups == 1 && direct(&n->a.conv);
}

static gemm_plan plan_of(const ds_node *n, int n_threads) {
    ds_conv_dims d = ds_conv_dims_of(n);
    int64_t m = d.n * d.oh * d.ow;
    gemm_plan p;
    p.direct = direct(&n->a.conv);
    if (d.k * d.o <= PER_THREAD_MAX_WEIGHTS && m >= (int64_t)n_threads * 64) {
        int64_t t = TILE_BYTES / (int64_t)sizeof(float) / (d.k + d.o);
        int64_t balance = (m + 4 * n_threads - 1) / (4 * n_threads); /* >= 4 tiles a thread */
        if (t > balance)
            t = balance;
        p.tile = t < 16 ? 16 : t > 512 ? 512 : t;
    } else {
        int64_t t = (m + n_threads - 1) / n_threads;
        if (!p.direct && t > IM2COL_MAX_FLOATS / n_threads / d.k)
            t = IM2COL_MAX_FLOATS / n_threads / d.k;
        p.tile = t < 1 ? 1 : t > m ? m : t;
    }
    return p;
}

static size_t packed_scratch(const ds_node *n, int n_threads);

/* Either path may run (it depends on the CPU): room for the larger. */
size_t ds_conv_gemm_scratch(const ds_node *n, int n_threads) {
    gemm_plan p = plan_of(n, n_threads);
    ds_conv_dims d = ds_conv_dims_of(n);
    size_t blas = p.direct ? 0 : (size_t)n_threads * (size_t)p.tile * (size_t)d.k * sizeof(float);
    size_t packed = packed_scratch(n, n_threads);
    return blas > packed ? blas : packed;
}

static void copy_act(float *dst, const float *src, int64_t n, ds_act act) {
    if (act == DS_ACT_NONE)
        memcpy(dst, src, (size_t)n * sizeof *dst);
    else
        for (int64_t c = 0; c < n; c++)
            dst[c] = ds_apply_act(act, src[c]);
}

/* a (rows, K): the receptive fields of output pixels p0 .. p0+rows-1, in_act
 * applied. The kw taps of a row are one contiguous run of the input when
 * they are all inside it and the dilation is 1 (a stem's 7 x 3 floats). */
static void im2col(const ds_cpu_op *op, int64_t p0, int64_t rows, float *a) {
    const ds_conv_attr *at = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], C = op->x->shape[3];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    const int64_t K = (int64_t)at->kh * at->kw * C;
    for (int64_t i = 0; i < rows; i++) {
        int64_t p = p0 + i, ox = p % OW, oy = p / OW % OH, nb = p / (OW * OH);
        int64_t ix0 = ox * at->stride_w - at->pad_l;
        int whole = at->dil_w == 1 && ix0 >= 0 && ix0 + at->kw <= W;
        float *dst = a + i * K;
        for (int ky = 0; ky < at->kh; ky++, dst += at->kw * C) {
            int64_t iy = oy * at->stride_h - at->pad_t + (int64_t)ky * at->dil_h;
            if (iy < 0 || iy >= H) {
                memset(dst, 0, (size_t)(at->kw * C) * sizeof *dst);
                continue;
            }
            const float *row = op->x->data + (nb * H + iy) * W * C;
            if (whole) {
                copy_act(dst, row + ix0 * C, at->kw * C, at->in_act);
                continue;
            }
            for (int kx = 0; kx < at->kw; kx++) {
                int64_t ix = ix0 + (int64_t)kx * at->dil_w;
                if (ix < 0 || ix >= W)
                    memset(dst + kx * C, 0, (size_t)C * sizeof *dst);
                else
                    copy_act(dst + kx * C, row + ix * C, C, at->in_act);
            }
        }
    }
}

static void sgemm(int64_t rows, const ds_conv_dims *d, const float *a, int64_t lda,
                  const float *w, float beta, float *y) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)d->o, (int)d->k, 1.0f,
                a, (int)lda, w, (int)d->k, beta, y, (int)d->o);
}

typedef struct blas_job {
    const ds_cpu_op *op;
    const gemm_plan *p;
    const ds_conv_dims *d;
    int simd;
} blas_job;

static void blas_tile(void *ctx, int64_t t, int thread) {
    const blas_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_conv_dims *d = j->d;
    const ds_conv_attr *at = &op->node->a.conv;
    const int64_t m = d->n * d->oh * d->ow, p0 = t * j->p->tile;
    const int64_t rows = m - p0 < j->p->tile ? m - p0 : j->p->tile;
    ds_blas_serial();
    const float *a = op->x->data + p0 * d->c; /* (rows, C) rows of x */
    int64_t lda = d->c;
    if (!j->p->direct) {
        float *cols = op->ctx->scratch + (size_t)thread * j->p->tile * d->k;
        im2col(op, p0, rows, cols); /* (rows, K) */
        a = cols;
        lda = d->k;
    }
    float *y = op->y->data + p0 * d->o; /* (rows, O) */
    if (op->r) {
        ds_conv_prefill(y, op->r->data + p0 * d->o, op->b, (size_t)rows, (size_t)d->o,
                        at->res_act, j->simd);
        sgemm(rows, d, a, lda, op->w, 1.0f, y);
        ds_conv_finish(y, NULL, (size_t)rows, (size_t)d->o, at->act, j->simd);
    } else {
        sgemm(rows, d, a, lda, op->w, 0.0f, y);
        ds_conv_finish(y, op->b, (size_t)rows, (size_t)d->o, at->act, j->simd);
    }
}

static void run_blas(const ds_cpu_op *op, const gemm_plan *p, const ds_conv_dims *d, int simd) {
    const int64_t m = d->n * d->oh * d->ow;
    blas_job j = {op, p, d, simd};
    ds_parallel_for(op->ctx->n_threads, (m + p->tile - 1) / p->tile, blas_tile, &j);
}

/* Packed path: rows of output pixels per tile (96: with a K block of A they
 * fill L2; measured against 192 and 288), fewer when an im2col tile of that
 * many rows would pass PACKED_COLS_MAX floats. */
enum { PACKED_ROWS = 96, PACKED_COLS_MAX = 1 << 20 };

static int64_t packed_rows(const ds_node *n) {
    if (ds_conv_is_pointwise(n))
        return PACKED_ROWS;
    int64_t rows = PACKED_COLS_MAX / ds_conv_dims_of(n).k / 6 * 6;
    return rows < 6 ? 6 : rows > PACKED_ROWS ? PACKED_ROWS : rows;
}

static size_t packed_scratch(const ds_node *n, int n_threads) {
    if (ds_conv_is_pointwise(n))
        return 0;
    return (size_t)n_threads * (size_t)packed_rows(n) * (size_t)ds_conv_dims_of(n).k *
           sizeof(float);
}

typedef struct packed_job {
    const ds_cpu_op *op;
    const float *b;
    const ds_conv_dims *d;
    int64_t rows, n_chunks, per_chunk;
    int pointwise, avx512;
} packed_job;

static void packed_tile(void *ctx, int64_t it, int thread) {
    const packed_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_conv_dims *d = j->d;
    const ds_conv_attr *at = &op->node->a.conv;
    const int64_t m = d->n * d->oh * d->ow;
    const int64_t p0 = it / j->n_chunks * j->rows, ch = it % j->n_chunks;
    ds_gemm_args g;
    g.m = m - p0 < j->rows ? m - p0 : j->rows;
    g.n = d->o;
    g.k = d->k;
    g.a = op->x->data + p0 * d->c; /* (m, C) rows of x */
    g.lda = d->c;
    if (!j->pointwise) {
        float *cols = op->ctx->scratch + (size_t)thread * j->rows * d->k;
        im2col(op, p0, g.m, cols); /* (m, K) */
        g.a = cols;
        g.lda = d->k;
    }
    g.b = j->b;
    g.c = op->y->data + p0 * d->o;
    g.ldc = d->o;
    g.r = op->r ? op->r->data + p0 * d->o : NULL;
    g.ldr = d->o;
    g.bias = op->b;
    g.res_act = at->res_act;
    g.act = at->act;
    g.n0 = ch * j->per_chunk * 16;
    g.n1 = (ch + 1) * j->per_chunk * 16 < d->o ? (ch + 1) * j->per_chunk * 16 : d->o;
    if (j->avx512)
        ds_gemm_packed_avx512(&g);
    else
        ds_gemm_packed_avx2(&g);
}

static void run_packed(const ds_cpu_op *op, const float *b, const ds_conv_dims *d, int simd) {
    const int nt = op->ctx->n_threads;
    const int64_t rows = packed_rows(op->node);
    const int64_t m = d->n * d->oh * d->ow, m_tiles = (m + rows - 1) / rows;
    const int64_t panels = (d->o + 15) / 16;
    /* too few rows for the threads: split the columns too */
    int64_t n_chunks = m_tiles >= 2 * nt ? 1 : (2 * nt + m_tiles - 1) / m_tiles;
    n_chunks = n_chunks < panels ? n_chunks : panels;
    const int64_t per_chunk = (panels + n_chunks - 1) / n_chunks;
    n_chunks = (panels + per_chunk - 1) / per_chunk;
    packed_job j = {op, b, d, rows, n_chunks, per_chunk, ds_conv_is_pointwise(op->node),
                    simd >= DS_ISA_AVX512};
    ds_parallel_for(nt, m_tiles * n_chunks, packed_tile, &j);
}

void ds_conv_gemm(const ds_cpu_op *op, const ds_conv_packed *packed, int simd) {
    gemm_plan p = plan_of(op->node, op->ctx->n_threads);
    ds_conv_dims d = ds_conv_dims_of(op->node);
    /* below 8 outputs most of a 16-wide panel would be padding: OpenBLAS's gemv is faster */
    if (simd && packed && packed->gemm && d.o >= 8)
        run_packed(op, packed->gemm, &d, simd);
    else
        run_blas(op, &p, &d, simd);
}
