/*
 * model/swin_bias.c: the constants of the Swin descriptions, computed once
 * per built graph (timm 0.6.13 swin_transformer.py, swin_transformer_v2.py).
 */
#include <math.h>
#include <string.h>

#include "graph/window.h" /* ds_window_bias_index, DS_WINDOW_MASK_VALUE */
#include "model/swin.h"

enum { CPB_HIDDEN = 512 }; /* cpb_mlp: Linear(2, 512) -> ReLU -> Linear(512, heads) */
/* Coordinates through the second layer together, in pairs of lanes (GCC
 * and Clang's vector extension, SSE2's width: kept in registers; a
 * multiply and an add a lane, no FMA, as one coordinate alone): eight
 * independent sums where one waited on each add (Swin2-B's tables took 210
 * ms at load one coordinate at a time). */
enum { CPB_BATCH = 8 };
typedef double cpb_pair __attribute__((vector_size(2 * sizeof(double))));

/* timm's relative_coords_table entry for offset d: d / divisor * 8, then
 * sign * log2(|t| + 1) / log2(8), in float32 in that order. */
static float log_coord(int d, int divisor) {
    float t = (float)d / (float)divisor;
    t *= 8.0f;
    const float sign = t > 0.0f ? 1.0f : (t < 0.0f ? -1.0f : 0.0f);
    return sign * log2f(fabsf(t) + 1.0f) / 3.0f;
}

const ds_tensor_ref *ds_swin2_position_bias(ds_builder *b, const char *prefix, int heads, int win, int divisor,
                                            ds_tensor_ref *out) {
    const int64_t w1_shape[2] = {CPB_HIDDEN, 2}, w2_shape[2] = {heads, CPB_HIDDEN};
    ds_tensor_ref w1, b1, w2;
    ds_b_param(b, DS_PARAM_LINEAR, ds_b_name(b, "%s.cpb_mlp.0", prefix), 2, w1_shape, true, &w1, &b1);
    ds_b_param(b, DS_PARAM_LINEAR, ds_b_name(b, "%s.cpb_mlp.2", prefix), 2, w2_shape, false, &w2, NULL);
    const int side = 2 * win - 1;
    const int64_t shape[3] = {heads, side, side};
    float *table = ds_b_constant(b, out, ds_b_name(b, "%s.position_bias", prefix), 3, shape);
    if (!table)
        return NULL;
    if (!w1.data || !b1.data || !w2.data)
        return out; /* listing parameters: no values */
    const float *W1 = w1.data, *B1 = b1.data, *W2 = w2.data;
    const int n = side * side;
    for (int u0 = 0; u0 < n; u0 += CPB_BATCH) {
        cpb_pair hidden[CPB_HIDDEN][CPB_BATCH / 2]; /* unit k of coordinate u0 + j: [k][j / 2][j % 2]; 0 past n */
        memset(hidden, 0, sizeof hidden);
        for (int j = 0; j < CPB_BATCH && u0 + j < n; j++) {
            const int u = u0 + j;
            const float f[2] = {log_coord(u / side - (win - 1), divisor), log_coord(u % side - (win - 1), divisor)};
            for (int k = 0; k < CPB_HIDDEN; k++) {
                double v = (double)B1[k] + (double)W1[2 * k] * f[0] + (double)W1[2 * k + 1] * f[1];
                hidden[k][j / 2][j % 2] = v > 0 ? v : 0;
            }
        }
        for (int h = 0; h < heads; h++) {
            const float *w = W2 + (int64_t)h * CPB_HIDDEN;
            /* lane j of v[i]: coordinate u0 + 2 i + j's sum over k, in order, as alone */
            cpb_pair v[CPB_BATCH / 2] = {{0}};
            for (int k = 0; k < CPB_HIDDEN; k++) {
                const double wk = w[k];
                v[0] += wk * hidden[k][0];
                v[1] += wk * hidden[k][1];
                v[2] += wk * hidden[k][2];
                v[3] += wk * hidden[k][3];
            }
            for (int j = 0; j < CPB_BATCH && u0 + j < n; j++)
                table[(int64_t)h * n + u0 + j] = (float)(16.0 / (1.0 + exp(-v[j / 2][j % 2])));
        }
    }
    return out;
}

const ds_tensor_ref *ds_swin1_position_bias(ds_builder *b, const char *prefix, int heads, int win,
                                            ds_tensor_ref *out) {
    const int side = 2 * win - 1;
    const int64_t raw_shape[2] = {(int64_t)side * side, heads}, shape[3] = {heads, side, side};
    ds_tensor_ref raw;
    ds_b_param(b, DS_PARAM_TENSOR, ds_b_name(b, "%s.relative_position_bias_table", prefix), 2, raw_shape, false,
               &raw, NULL);
    float *table = ds_b_constant(b, out, ds_b_name(b, "%s.position_bias", prefix), 3, shape);
    if (!table)
        return NULL;
    for (int64_t u = 0; raw.data && u < raw_shape[0]; u++)
        for (int h = 0; h < heads; h++)
            table[h * raw_shape[0] + u] = ((const float *)raw.data)[u * heads + h];
    return out;
}

static int band(int r, int res, int win, int shift) { return r < res - win ? 0 : (r < res - shift ? 1 : 2); }

const ds_tensor_ref *ds_swin_region_labels(ds_builder *b, int res, int win, int shift, ds_tensor_ref *out) {
    const int64_t shape[2] = {res, res};
    float *labels = ds_b_constant(b, out, ds_b_name(b, "region_labels_%d_%d_%d", res, win, shift), 2, shape);
    if (!labels)
        return NULL;
    for (int r = 0; r < res; r++)
        for (int c = 0; c < res; c++)
            labels[r * res + c] = (float)(band(r, res, win, shift) * 3 + band(c, res, win, shift));
    return out;
}

/* timm's attn_mask: per window (row-major), -100 between tokens of different labels. */
static void expected_mask(const ds_window_attr *a, int res, const float *labels, float *mask) {
    const int win = a->win_h, T = win * win, nw = res / win;
    for (int w = 0; w < nw * nw; w++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                const int ri = (w / nw * win + i / win) * res + w % nw * win + i % win;
                const int rj = (w / nw * win + j / win) * res + w % nw * win + j % win;
                mask[((int64_t)w * T + i) * T + j] = labels[ri] != labels[rj] ? DS_WINDOW_MASK_VALUE : 0.0f;
            }
}

void ds_swin_buffers(ds_builder *b, const char *block, const ds_window_attr *a, int res,
                     const ds_tensor_ref *labels, bool with_index) {
    if (!ds_b_lists_params(b))
        return;
    const int win = a->win_h, T = win * win, nw = res / win;
    if (labels) {
        const int64_t shape[3] = {(int64_t)nw * nw, T, T};
        ds_tensor_ref ref;
        float *mask = ds_b_constant(b, &ref, ds_b_name(b, "%s.attn_mask", block), 3, shape);
        if (mask)
            expected_mask(a, res, labels->data, mask);
        ds_b_buffer(b, ds_b_name(b, "%s.attn_mask", block), 3, shape, false, mask);
    }
    if (with_index) {
        const int64_t shape[2] = {T, T};
        ds_tensor_ref ref;
        const char *name = ds_b_name(b, "%s.attn.relative_position_index", block);
        float *index = ds_b_constant(b, &ref, name, 2, shape);
        for (int i = 0; index && i < T; i++)
            for (int j = 0; j < T; j++)
                index[(int64_t)i * T + j] = (float)ds_window_bias_index(a->win_h, a->win_w, i / win, i % win, j / win, j % win);
        ds_b_buffer(b, name, 2, shape, true, index);
    }
}
