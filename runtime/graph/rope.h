/*
 * rope.h: the positions and angles of DS_OP_QK_ROPE (graph.h), shared by the
 * CPU reference, the fast CPU kernel and the CUDA kernel so that all three
 * form the angle with the same float32 operations as PyTorch
 * (RotaryPositionEmbedding2D of Depth Anything 3: inv_freq and the angle
 * table are float32, whatever the model's dtype).
 */
#ifndef DS_GRAPH_ROPE_H
#define DS_GRAPH_ROPE_H

#include <math.h>

#include "base/hd.h"     /* DS_HD */
#include "graph/graph.h" /* ds_rope_attr */

/* Row and column position of token t (token 0 at the origin). */
DS_HD void ds_rope_pos(const ds_rope_attr *a, long long t, int *row, int *col) {
    if (t == 0) {
        *row = *col = 0;
    } else if (a->flat) {
        *row = *col = 1;
    } else {
        *row = (int)((t - 1) / a->gw) + 1;
        *col = (int)((t - 1) % a->gw) + 1;
    }
}

/* The angle of pair j (< quarter = hd/4) at position pos: pos * inv_freq[j],
 * inv_freq = 1 / base^(2j / (hd/2)), each step rounded to float32. */
DS_HD float ds_rope_angle(float base, int quarter, int j, int pos) {
    const float e = (float)(2 * j) / (float)(2 * quarter);
    const float inv = 1.0f / powf(base, e);
    return (float)pos * inv;
}

#endif
