/*
 * cpu/conv/winograd_c.c: the three Winograd stages in portable C, one channel
 * at a time. Used where AVX2 is missing, and by the AVX2 stages for the
 * channels left over past a multiple of 8.
 */
#include "cpu/conv/conv.h"

/* t = B^T d over 6 values (see cpu/conv/conv.h for the matrices) */
static void bt6(const float d[6], float t[6]) {
    float e = d[4] - d[2], f = d[3] - d[1];
    float a = e - 1.5f * d[3], b = 1.5f * d[2] - f;
    t[0] = ((d[0] - d[2]) + e) - 1.5f * f;
    t[1] = a - b;
    t[2] = a + b;
    t[3] = e + 0.5f * f;
    t[4] = e - 2 * f;
    t[5] = ((d[5] - d[3]) - f) - 1.5f * e;
}

/* o = A^T m over 6 values */
static void at6(const float m[6], float o[4]) {
    float s12 = m[1] + m[2], d12 = m[1] - m[2];
    o[0] = ((m[0] + s12) + m[3]) + m[4];
    o[1] = (d12 + 2 * m[3]) - 0.5f * m[4];
    o[2] = (s12 + 4 * m[3]) + 0.25f * m[4];
    o[3] = ((d12 + 8 * m[3]) - 0.125f * m[4]) + m[5];
}

/* The 36 input positions of block tile t: pointers to channel 0, NULL in the padding. */
static void patch(const ds_wino_block *b, int64_t t, const float *src[36]) {
    const float *base;
    if (!ds_wino_patch(b, t, &base, src)) /* src is filled */
        return;
    const int64_t W = b->op->x->shape[2], C = b->op->x->shape[3];
    for (int k = 0; k < 36; k++)
        src[k] = base + (k / 6 * W + k % 6) * C;
}

void ds_wino_input_c(const ds_wino_block *b, int64_t c0, int64_t c1) {
    const int64_t C = b->op->x->shape[3];
    const ds_act in_act = b->op->node->a.conv.in_act;
    for (int64_t t = 0; t < b->nt; t++) {
        const float *src[36];
        patch(b, t, src);
        for (int64_t c = c0; c < c1; c++) {
            float d[6][6], r[6][6], col[6], out[6];
            for (int k = 0; k < 36; k++)
                d[k / 6][k % 6] = src[k] ? ds_apply_act(in_act, src[k][c]) : 0.0f;
            for (int i = 0; i < 6; i++)
                bt6(d[i], r[i]); /* along each row: d B */
            for (int j = 0; j < 6; j++) {
                for (int i = 0; i < 6; i++)
                    col[i] = r[i][j];
                bt6(col, out); /* down each column: B^T (d B) */
                for (int i = 0; i < 6; i++)
                    b->v[((i * 6 + j) * b->nt + t) * C + c] = out[i];
            }
        }
    }
}

void ds_wino_gemm_c(const ds_wino_block *b) {
    const int64_t C = b->op->x->shape[3], O = b->op->y->shape[3];
    const int64_t panels = (O + DS_WINO_PANEL - 1) / DS_WINO_PANEL;
    for (int k = 0; k < 36; k++)
        for (int64_t j = 0; j < b->ldm; j += DS_WINO_PANEL) {
            const float *u =
                b->u + ((k * panels + (b->o0 + j) / DS_WINO_PANEL) * C) * DS_WINO_PANEL;
            for (int64_t t = 0; t < b->nt; t++) {
                const float *v = b->v + (k * b->nt + t) * C;
                float sum[DS_WINO_PANEL] = {0};
                for (int64_t c0 = 0; c0 < C; c0 += DS_WINO_KBLOCK) {
                    float acc[DS_WINO_PANEL] = {0};
                    for (int64_t c = c0; c < C && c < c0 + DS_WINO_KBLOCK; c++)
                        for (int l = 0; l < DS_WINO_PANEL; l++)
                            acc[l] += v[c] * u[c * DS_WINO_PANEL + l];
                    for (int l = 0; l < DS_WINO_PANEL; l++)
                        sum[l] += acc[l];
                }
                float *m = b->m + (k * b->nt + t) * b->ldm + j;
                for (int l = 0; l < DS_WINO_PANEL; l++)
                    m[l] = sum[l];
            }
        }
}

void ds_wino_output_c(const ds_wino_block *b, int64_t j0, int64_t j1) {
    const ds_cpu_op *op = b->op;
    const ds_conv_attr *a = &op->node->a.conv;
    const int64_t OW = op->y->shape[2], O = op->y->shape[3];
    for (int64_t t = 0; t < b->nt; t++) {
        int64_t rows, cols;
        const int64_t y0 = ds_wino_out_at(b, t, &rows, &cols);
        for (int64_t j = j0; j < j1; j++) {
            float m[6][6], r[6][4], col[6], out[4][4];
            for (int k = 0; k < 36; k++)
                m[k / 6][k % 6] = b->m[(k * b->nt + t) * b->ldm + j];
            for (int i = 0; i < 6; i++)
                at6(m[i], r[i]);
            for (int q = 0; q < 4; q++) {
                for (int i = 0; i < 6; i++)
                    col[i] = r[i][q];
                float o4[4];
                at6(col, o4);
                for (int i = 0; i < 4; i++)
                    out[i][q] = o4[i];
            }
            const int64_t o = b->o0 + j;
            const float bias = op->b ? op->b[o] : 0.0f;
            for (int i = 0; i < rows; i++)
                for (int q = 0; q < cols; q++) {
                    int64_t at = y0 + (i * OW + q) * O + j;
                    float v = out[i][q] + bias;
                    if (op->r)
                        v += ds_apply_act(a->res_act, op->r->data[at]);
                    op->y->data[at] = ds_apply_act(a->act, v);
                }
        }
    }
}
