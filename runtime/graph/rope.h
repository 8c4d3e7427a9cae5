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

/* Row and column position of token t (token 0 at the origin) on a grid gw
 * patches wide, or flat (ds_rope_attr); fields, not the struct: a kernel
 * would put a parameter whose address is taken in local memory. */
DS_HD void ds_rope_pos(bool flat, int gw, long long t, int *row, int *col) {
    if (t == 0) {
        *row = *col = 0;
    } else if (flat) {
        *row = *col = 1;
    } else {
        *row = (int)((t - 1) / gw) + 1;
        *col = (int)((t - 1) % gw) + 1;
    }
}

/* The angle of pair j (< quarter = hd/4) at position pos: pos * inv_freq[j],
 * inv_freq = 1 / base^(2j / (hd/2)), each step rounded to float32. */
DS_HD float ds_rope_angle(float base, int quarter, int j, int pos) {
    const float e = (float)(2 * j) / (float)(2 * quarter);
    const float inv = 1.0f / powf(base, e);
    return (float)pos * inv;
}

/* cos and sin of a float angle, each rounded once to float from a double
 * computed here (the angle reduced to [-pi, pi], then Taylor series to
 * r^26 / 26!: below 1e-15 off): what (float)cos((double)a) gives, on every
 * backend alike; CUDA's cosf would pull in its local-memory slow path. */
DS_HD void ds_rope_cos_sin(float angle, float *c, float *s) {
    const double two_pi = 6.283185307179586;
    double r = (double)angle;
    r -= two_pi * nearbyint(r / two_pi);
    const double r2 = r * r;
    double cs = 1.0, sn = 1.0;
    for (int k = 13; k >= 1; k--) {
        cs = 1.0 - r2 / (double)((2 * k - 1) * (2 * k)) * cs;
        sn = 1.0 - r2 / (double)((2 * k) * (2 * k + 1)) * sn;
    }
    *c = (float)cs;
    *s = (float)(r * sn);
}

#endif
