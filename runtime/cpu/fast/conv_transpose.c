/*
 * cpu/fast/conv_transpose.c: transposed convolution (ConvTranspose2d, groups 1).
 * Either way it is one sgemm per chunk of input rows, T (P, kh*kw*O) =
 * x (P, I) W (I, kh*kw*O): row p of T holds what input pixel p adds to each
 * of its kh x kw output positions. Then:
 *  - kernel == stride, no padding, no dilation (DPT's reassemble): every
 *    input pixel paints its own patch, a plain scatter of T's rows;
 *  - anything else (LeViT's stem_transpose: k3, s2, p1, output_padding 1):
 *    patches overlap, so each output row gathers the taps that reach it from
 *    the chunk's rows, threads splitting the output rows (no two write one).
 * Rows of input go in chunks so that T stays bounded; a chunk's sgemm is
 * split in one block of input rows per thread, each a single-threaded
 * OpenBLAS call on our pool, or on an AVX-512 engine our own GEMM
 * (cpu/sgemm_avx512.c; the patch form scatters its block in the same
 * task).
 */
#include <cblas.h>
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/blas.h"   /* ds_blas_serial, ds_sgemm_avx512 */
#include "cpu/conv/conv.h"
#include "cpu/fast/fast.h" /* ds_vec */
#include "cpu/isa.h"       /* ds_cpu_isa_active */

enum { T_MAX_FLOATS = 1 << 21 }; /* 8 MiB of T per chunk, at least one input row */

static int64_t rows_per_chunk(const ds_node *n, int64_t w) {
    const int64_t patch = (int64_t)n->a.conv.kh * n->a.conv.kw * n->shape[3];
    int64_t rows = T_MAX_FLOATS / (w * patch);
    return rows < 1 ? 1 : rows;
}

static int patch_form(const ds_conv_attr *a) {
    return a->kh == a->stride_h && a->kw == a->stride_w && a->dil_h == 1 && a->dil_w == 1 && !a->pad_t &&
           !a->pad_b && !a->pad_l && !a->pad_r;
}

/* Bounds on the input's rows and columns from the node alone (scratch_bytes
 * sees no input): (H - 1) * s <= OH - 1 + pads whatever the output_padding;
 * exact for the patch form. Chunks are sized by them in both functions. */
static void input_bound(const ds_node *n, int64_t *h, int64_t *w) {
    const ds_conv_attr *a = &n->a.conv;
    if (patch_form(a)) {
        *h = n->shape[1] / a->stride_h;
        *w = n->shape[2] / a->stride_w;
        return;
    }
    *h = (n->shape[1] - 1 + a->pad_t + a->pad_b) / a->stride_h + 1;
    *w = (n->shape[2] - 1 + a->pad_l + a->pad_r) / a->stride_w + 1;
}

/* T's floats for one chunk */
static size_t t_floats(const ds_node *n) {
    const ds_conv_attr *a = &n->a.conv;
    int64_t h, w;
    input_bound(n, &h, &w);
    int64_t rows = rows_per_chunk(n, w);
    rows = rows < h ? rows : h;
    return (size_t)(rows * w * a->kh * a->kw * n->shape[3] + 15) / 16 * 16;
}

/* T, then each thread's packing buffer for ds_sgemm_avx512 */
size_t ds_fast_conv_transpose_scratch(const ds_node *n, int n_threads) {
    return (t_floats(n) + (size_t)n_threads * DS_SGEMM_BUF_FLOATS) * sizeof(float);
}

typedef struct transpose_job {
    const ds_cpu_op *op;
    float *t;              /* (rows * W, kh*kw*O) of the chunk */
    int64_t nb, r0, rows;  /* item nb's input rows [r0, r0 + rows) */
    int64_t per_task;      /* input rows per sgemm task */
    int patches, first, last;
    float *bufs;           /* DS_SGEMM_BUF_FLOATS a thread for ds_sgemm_avx512, or NULL: OpenBLAS */
} transpose_job;

/* Item nb's output rows painted by input row r0 + r, from row r of T. */
static void scatter_row(const transpose_job *j, int64_t r) {
    const ds_cpu_op *op = j->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t W = op->x->shape[2];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t patch = (int64_t)a->kh * a->kw * O, iy = j->r0 + r;
    const ds_vec_ops *v = ds_vec();
    for (int64_t ky = 0; ky < a->kh; ky++) {
        float *y = op->y->data + ((j->nb * OH + iy * a->kh + ky) * OW) * O; /* output row */
        for (int64_t ix = 0; ix < W; ix++) {
            const float *src = j->t + (r * W + ix) * patch + ky * a->kw * O;
            float *dst = y + ix * a->kw * O; /* kw pixels, contiguous */
            for (int64_t kx = 0; kx < a->kw; kx++)
                v->add_act(dst + kx * O, src + kx * O, op->b, NULL, (size_t)O, a->act);
        }
    }
}

/* T's rows of one block of the chunk's input rows; the patch form paints them. */
static void sgemm_block(void *ctx, int64_t task, int thread) {
    const transpose_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t H = op->x->shape[1], W = op->x->shape[2], CI = op->x->shape[3];
    const int64_t patch = (int64_t)a->kh * a->kw * op->y->shape[3];
    const int64_t first = task * j->per_task;
    const int64_t rows = j->rows - first < j->per_task ? j->rows - first : j->per_task;
    const float *x = op->x->data + ((j->nb * H + j->r0 + first) * W) * CI;
    float *t = j->t + first * W * patch;
    if (j->bufs) {
        ds_sgemm_avx512(rows * W, patch, CI, x, CI, op->w, patch, DS_W_KN, t, patch, NULL, 0, NULL, DS_ACT_NONE,
                        j->bufs + (size_t)thread * DS_SGEMM_BUF_FLOATS);
    } else {
        ds_blas_serial();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(rows * W), (int)patch, (int)CI,
                    1.0f, x, (int)CI, op->w, (int)patch, 0.0f, t, (int)patch);
    }
    for (int64_t r = first; j->patches && r < first + rows; r++)
        scatter_row(j, r);
}

/* The running sum of one output pixel: y = act(base + p[0] + p[1] + ...),
 * added in the order the taps come, two a pass of the vector ops. */
typedef struct tap_sum {
    float *y;
    const float *base, *p[2]; /* base NULL: nothing yet (0 + t = t) */
    int pending;
    size_t n;
} tap_sum;

static void tap_add(const ds_vec_ops *v, tap_sum *s, const float *t) {
    if (!s->base) {
        s->base = t;
        return;
    }
    if (s->pending == 2) {
        v->add_act(s->y, s->base, s->p[0], s->p[1], s->n, DS_ACT_NONE);
        s->base = s->y;
        s->pending = 0;
    }
    s->p[s->pending++] = t;
}

static void tap_finish(const ds_vec_ops *v, tap_sum *s, ds_act act) {
    if (!s->base) {
        memset(s->y, 0, s->n * sizeof *s->y);
        s->base = s->y;
    }
    v->add_act(s->y, s->base, s->pending > 0 ? s->p[0] : NULL, s->pending > 1 ? s->p[1] : NULL, s->n, act);
}

/* Output row oy of item nb from the chunk's rows of T: the first chunk starts
 * from the bias, the last applies act. */
static void gather_row(void *ctx, int64_t oy, int thread) {
    (void)thread;
    const transpose_job *j = ctx;
    const ds_cpu_op *op = j->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const ds_vec_ops *v = ds_vec();
    const int64_t W = op->x->shape[2];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2], O = op->y->shape[3];
    const int64_t patch = (int64_t)a->kh * a->kw * O, r0 = j->r0, rows = j->rows;
    for (int64_t ox = 0; ox < OW; ox++) {
        float *y = op->y->data + ((j->nb * OH + oy) * OW + ox) * O;
        tap_sum s = {y, j->first ? op->b : y, {NULL, NULL}, 0, (size_t)O};
        for (int64_t ky = 0; ky < a->kh; ky++) {
            const int64_t ty = oy + a->pad_t - ky * a->dil_h;
            if (ty < 0 || ty % a->stride_h || ty / a->stride_h < r0 || ty / a->stride_h >= r0 + rows)
                continue;
            const int64_t r = ty / a->stride_h - r0;
            for (int64_t kx = 0; kx < a->kw; kx++) {
                const int64_t tx = ox + a->pad_l - kx * a->dil_w;
                if (tx < 0 || tx % a->stride_w || tx / a->stride_w >= W)
                    continue;
                tap_add(v, &s, j->t + (r * W + tx / a->stride_w) * patch + (ky * a->kw + kx) * O);
            }
        }
        tap_finish(v, &s, j->last ? a->act : DS_ACT_NONE);
    }
}

void ds_fast_conv_transpose(const ds_cpu_op *op) {
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t N = op->x->shape[0], H = op->x->shape[1], W = op->x->shape[2];
    const int64_t OH = op->y->shape[1], OW = op->y->shape[2];
    int64_t h_bound, w_bound;
    input_bound(op->node, &h_bound, &w_bound);
    const int64_t chunk = rows_per_chunk(op->node, w_bound);
    const int patches = patch_form(a) && OH == H * a->stride_h && OW == W * a->stride_w;
    if (H > h_bound || W > w_bound || op->ctx->scratch_bytes < t_floats(op->node) * sizeof(float)) {
        ds_ref_conv_transpose(op); /* an input the node's shape does not come from, or a small workspace */
        return;
    }
    const int nt = op->ctx->n_threads;
    float *bufs = NULL;
    if (ds_cpu_isa_active() >= DS_ISA_AVX512 &&
        op->ctx->scratch_bytes >= ds_fast_conv_transpose_scratch(op->node, nt))
        bufs = op->ctx->scratch + t_floats(op->node);
    for (int64_t nb = 0; nb < N; nb++)
        for (int64_t r0 = 0; r0 < H; r0 += chunk) {
            const int64_t rows = H - r0 < chunk ? H - r0 : chunk;
            transpose_job j = {op, op->ctx->scratch, nb, r0, rows, (rows + nt - 1) / nt, patches,
                               r0 == 0, r0 + rows >= H, bufs};
            ds_parallel_for(nt, (rows + j.per_task - 1) / j.per_task, sgemm_block, &j);
            if (!patches)
                ds_parallel_for(nt, OH, gather_row, &j);
        }
}
