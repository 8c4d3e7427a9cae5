/*
 * cpu/fast/linear.c: y = act(x W^T + b + r) with one OpenBLAS sgemm, or on
 * an AVX-512 engine our own GEMM (cpu/sgemm_avx512.c: OpenBLAS's
 * speed would otherwise follow its CPU detection and OPENBLAS_CORETYPE).
 *
 * The output is split in blocks, one task each on our threads, each a
 * single-threaded sgemm. Every task reads all of the operand it does not
 * split, so the split is along the larger one: blocks of columns (of W's
 * rows) when W has more rows than x (a ViT's layers: 577-1370 tokens, 768-
 * 4096 outputs), blocks of rows when x has more (Swin's first stages: 9216
 * tokens, 192-768 outputs; OpenBLAS on 48-column slices of those ran at
 * two thirds of its speed: bench/RESULTS.md, "Linear split"). Bias and
 * residual go in first: the block is filled with b (or r + b) and the sgemm
 * accumulates onto it (beta = 1), which is also right when the planner put y
 * on top of r, and costs no more than the pass in which OpenBLAS would clear
 * y for beta = 0. The activation, if any, takes one pass after, on the block
 * still in cache; without a residual the bias is added in that pass instead
 * (one pass over the block fewer: an MLP's first linear). Our AVX-512 sgemm
 * adds residual and bias and applies the activation in its registers, with
 * no pass, on W packed into its panels once at load.
 *
 * When every row ends in the same cin/2 values, as the DPT readout's
 * [patch token, class token] rows do, that half's product is the same for
 * all rows: y = x_l W_l^T + (x_r W_r^T + b), one matrix-vector product
 * folded into the bias, and the sgemm does half the work.
 */
/* cblas.h pulls in complex.h: no variable may be called I */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial, ds_sgemm_avx512 */
#include "cpu/fast/fast.h"

typedef struct linear_job {
    const float *x; /* (rows, cin) */
    const float *w; /* (cout, cin) */
    const float *r, *bias; /* (rows, cout), (cout), either may be NULL */
    float *y;       /* (rows, cout) */
    int64_t rows, cin, cout, k; /* k: the inner dimension the sgemm runs over */
    int64_t block;  /* rows or columns per task, a multiple of 16 (32 with panels) */
    int by_rows;    /* tasks split the rows (else the columns) */
    ds_act act;
    float *bufs;    /* buf_floats per thread for our sgemms, or NULL: OpenBLAS */
    size_t buf_floats;
    const float *panels; /* W packed at load (ds_fast_linear_pack), or NULL */
    const uint32_t *bf16_panels; /* W rounded at load (ds_fast_linear_bf16_pack), or NULL */
} linear_job;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Our AVX-512 sgemm: residual, bias and activation in its registers. */
static void block_avx512(const linear_job *j, int64_t t0, int64_t m, int64_t c0, int64_t n, float *buf) {
    const int64_t at = t0 * j->cout + c0;
    float *y = j->y + at;
    const float *r = j->r ? j->r + at : NULL, *bias = j->bias ? j->bias + c0 : NULL;
    const float *x = j->x + t0 * j->cin, *w = j->w + c0 * j->cin;
    const float *panels = j->panels ? j->panels + c0 * j->cin : NULL; /* c0 % 32 == 0 */
    const int64_t pairs = (j->cin + 1) / 2;                              /* a bf16 panel's height */
    if (j->bf16_panels)
        ds_sgemm_bf16_panels(m, n, j->k, x, j->cin, j->bf16_panels + c0 * pairs, pairs, y, j->cout, r, j->cout,
                             bias, j->act, (uint32_t *)buf);
    else if (panels)
        ds_sgemm_panels_avx512(m, n, j->k, x, j->cin, panels, j->cin, y, j->cout, r, j->cout, bias, j->act);
    else
        ds_sgemm_avx512(m, n, j->k, x, j->cin, w, j->cin, DS_W_NK, y, j->cout, r, j->cout, bias, j->act, buf);
}

/* One single-threaded OpenBLAS sgemm with the epilogue passes around it. */
static void block_blas(const linear_job *j, int64_t t0, int64_t m, int64_t c0, int64_t n) {
    const ds_vec_ops *v = ds_vec();
    const int64_t at = t0 * j->cout + c0;
    float *y = j->y + at;
    ds_blas_serial();
    const float *r = j->r ? j->r + at : NULL, *bias = j->bias ? j->bias + c0 : NULL;
    /* with an activation and no residual the bias joins the activation's pass */
    const int bias_after = j->act != DS_ACT_NONE && !r;
    if (!bias_after && (bias || (r && r != y)))
        for (int64_t t = 0; t < m; t++) {
            float *row = y + t * j->cout;
            if (r)
                v->add_act(row, r + t * j->cout, bias, NULL, (size_t)n, DS_ACT_NONE);
            else
                memcpy(row, bias, (size_t)n * sizeof(float));
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)j->k, 1.0f,
                j->x + t0 * j->cin, (blasint)j->cin, j->w + c0 * j->cin, (blasint)j->cin,
                !bias_after && (bias || r) ? 1.0f : 0.0f, y, (blasint)j->cout);
    if (j->act != DS_ACT_NONE)
        for (int64_t t = 0; t < m; t++)
            v->add_act(y + t * j->cout, y + t * j->cout, bias_after ? bias : NULL, NULL, (size_t)n, j->act);
}

static void linear_block(void *ctx, int64_t task, int thread) {
    const linear_job *j = ctx;
    /* this task's rows [t0, t0 + m) and columns [c0, c0 + n) */
    const int64_t t0 = j->by_rows ? task * j->block : 0, c0 = j->by_rows ? 0 : task * j->block;
    const int64_t m = j->by_rows ? min64(j->rows - t0, j->block) : j->rows;
    const int64_t n = j->by_rows ? j->cout : min64(j->cout - c0, j->block);
    if (j->bufs)
        block_avx512(j, t0, m, c0, n, j->bufs + (size_t)thread * j->buf_floats);
    else
        block_blas(j, t0, m, c0, n);
}

/* Whether rows 1.. end in the same cin/2 floats as row 0 (bitwise). */
static int shared_right_half(const float *x, int64_t rows, int64_t cin) {
    if (rows < 2 || cin % 2)
        return 0;
    const size_t h = (size_t)cin / 2;
    for (int64_t t = 1; t < rows; t++)
        if (memcmp(x + t * cin + h, x + h, h * sizeof(float)))
            return 0;
    return 1;
}

/* W in panels for our AVX-512 sgemm, once at load (the engine keeps it per
 * weight), so that no call packs its block again: 10% of a ViT linear's
 * time, W coming from memory. Other engines run on W as stored. */
int ds_fast_linear_pack_key(const ds_node *n, int n_threads) {
    (void)n_threads;
    return ds_fast_avx512() && n->w[0].ndim == 2 && n->w[0].shape[0] == n->shape[3] ? 1 : -1;
}

void *ds_fast_linear_pack(const ds_node *n, const float *w, int n_threads) {
    (void)n_threads;
    const int64_t cout = n->w[0].shape[0], cin = n->w[0].shape[1];
    float *panels = malloc(ds_sgemm_panels_floats(cout, cin) * sizeof *panels);
    if (panels)
        ds_sgemm_pack_panels_avx512(w, cout, cin, panels);
    return panels;
}

/* Precision bf16: W rounded to bfloat16 into its panels once, at load (half
 * the bytes of the float32 ones). The backend makes a bf16 engine only where
 * AVX512-BF16 and the AVX-512 kernels run. */
enum { BF16_PACK_KEY = 2 };

int ds_fast_linear_bf16_pack_key(const ds_node *n, int n_threads) {
    return ds_fast_linear_pack_key(n, n_threads) < 0 ? -1 : BF16_PACK_KEY;
}

void *ds_fast_linear_bf16_pack(const ds_node *n, const float *w, int n_threads) {
    (void)n_threads;
    const int64_t cout = n->w[0].shape[0], cin = n->w[0].shape[1];
    uint32_t *panels = malloc(ds_sgemm_bf16_panels_bytes(cout, cin));
    if (panels)
        ds_sgemm_bf16_pack_panels(w, cout, cin, panels);
    return panels;
}

/* The folded bias, then each thread's buffer for our sgemms. */
static size_t bias_floats(int64_t cout) { return (size_t)(cout + 15) / 16 * 16; }

static size_t buf_floats(int bf16) {
    const size_t bf16_words = DS_SGEMM_BF16_BUF_WORDS, fp32_floats = DS_SGEMM_BUF_FLOATS;
    return bf16 && bf16_words > fp32_floats ? bf16_words : fp32_floats;
}

static size_t scratch_of(const ds_node *n, int n_threads, int bf16) {
    return (bias_floats(n->shape[3]) + (size_t)n_threads * buf_floats(bf16)) * sizeof(float);
}

size_t ds_fast_linear_scratch(const ds_node *n, int n_threads) { return scratch_of(n, n_threads, 0); }

size_t ds_fast_linear_bf16_scratch(const ds_node *n, int n_threads) { return scratch_of(n, n_threads, 1); }

/* Blocks per thread: more than one, so that a thread the OS holds back
 * costs its neighbours one block, not half the op. */
enum { BLOCKS_PER_THREAD = 2 };

/* Rows per task when they are split: the sgemm passes every panel of w
 * over the task's rows of x, ROWS_IN_L2 x 192 inputs (432 KB), which stay
 * in L2; Swin's 9216-row blocks of 2304 came from L3 for every panel. */
enum { ROWS_IN_L2 = 576 };

static void linear_run(const ds_cpu_op *op, int bf16) {
    const int64_t cin = op->x->shape[3], cout = op->y->shape[3];
    const int64_t rows = ds_shape_numel(op->x->shape) / cin;
    const float *x = op->x->data, *bias = op->b;
    int64_t k = cin; /* the inner dimension the sgemm runs over */
    ds_blas_serial();
    if (op->ctx->scratch_bytes >= (size_t)cout * sizeof(float) &&
        shared_right_half(x, rows, cin)) {
        float *folded = op->ctx->scratch; /* (cout) W_r x_r + b */
        k = cin / 2;
        if (bias)
            memcpy(folded, bias, (size_t)cout * sizeof(float));
        else
            memset(folded, 0, (size_t)cout * sizeof(float));
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)cout, (blasint)k, 1.0f, op->w + k,
                    (blasint)cin, x + k, 1, 1.0f, folded, 1);
        bias = folded;
    }
    const int nt = ds_fast_threads(op, (double)rows * (double)cout * (double)k / 16);
    const int by_rows = rows > cout, blocks = nt * BLOCKS_PER_THREAD;
    const int64_t span = by_rows ? rows : cout;
    float *bufs = NULL;
    if (ds_fast_avx512() &&
        op->ctx->scratch_bytes >= (bias_floats(cout) + (size_t)nt * buf_floats(bf16)) * sizeof(float))
        bufs = op->ctx->scratch + bias_floats(cout);
    /* packed only where pack_key allowed it */
    const float *panels = bufs && !bf16 ? op->packed : NULL;
    const uint32_t *bf16_panels = bufs && bf16 ? op->packed : NULL;
    const int64_t align = panels || bf16_panels ? 32 : 16; /* tasks start at a panel */
    int64_t block = ((span + blocks - 1) / blocks + align - 1) / align * align;
    if (by_rows && bufs && block > ROWS_IN_L2)
        block = ROWS_IN_L2;
    linear_job j = {x, op->w, op->r ? op->r->data : NULL, bias, op->y->data, rows, cin, cout, k,
                    block, by_rows, op->node->a.linear.act, bufs, buf_floats(bf16), panels, bf16_panels};
    ds_parallel_for(nt, (span + block - 1) / block, linear_block, &j);
}

void ds_fast_linear(const ds_cpu_op *op) { linear_run(op, 0); }

void ds_fast_linear_bf16(const ds_cpu_op *op) { linear_run(op, 1); }
