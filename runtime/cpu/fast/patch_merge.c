/* cpu/fast/patch_merge.c: Swin's 2x2 gather (ds_ref_patch_merge): each
 * output row reads two input rows, in row copies spread over the threads. */
#include <string.h>

#include "base/pool.h" /* ds_parallel_for */
#include "cpu/fast/fast.h"

static void merge_row(void *ctx, int64_t r, int thread) {
    (void)thread;
    const ds_cpu_op *op = ctx;
    const int64_t *s = op->x->shape, *d = op->y->shape;
    const int64_t C = s[3];
    const size_t bytes = (size_t)C * sizeof(float);
    const int64_t n = r / d[1], i = r % d[1];
    float *out = op->y->data + r * d[2] * d[3]; /* (OW, 4C) */
    for (int dy = 0; dy < 2; dy++) {
        const int64_t sy = 2 * i + dy;
        const float *src = sy < s[1] ? op->x->data + (n * s[1] + sy) * s[2] * C : NULL; /* (W, C) */
        for (int64_t sx = 0; sx < 2 * d[2]; sx++) {
            float *dst = out + (sx / 2) * 4 * C + (2 * (sx % 2) + dy) * C; /* block (dy, dx) */
            if (src && sx < s[2])
                memcpy(dst, src + sx * C, bytes);
            else
                memset(dst, 0, bytes);
        }
    }
}

void ds_fast_patch_merge(const ds_cpu_op *op) {
    const int64_t *d = op->y->shape;
    ds_parallel_for(ds_fast_threads(op, (double)ds_shape_numel(d)), d[0] * d[1], merge_row, (void *)op);
}
