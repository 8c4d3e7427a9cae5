/*
 * window.h: the geometry of DS_OP_WINDOW_ATTENTION (graph.h, ds_window_attr),
 * one definition for the CPU reference, the fast CPU path and the CUDA
 * kernel. Coordinates: the map is (H, W); the rolled map holds at (r, c)
 * the token ((r + shift_h) % H, (c + shift_w) % W) of the map (torch.roll by
 * -shift); windows are win_h x win_w tiles of the rolled map, row-major,
 * the last row and column of windows cut short where the window does not
 * divide the map; a window's tokens are row-major inside it.
 */
#ifndef DS_GRAPH_WINDOW_H
#define DS_GRAPH_WINDOW_H

#include <stdint.h>

#include "base/hd.h"     /* DS_HD */
#include "graph/graph.h" /* ds_window_attr */

/* Windows along a side of n tokens. */
DS_HD int64_t ds_window_count(int64_t n, int win) { return (n + win - 1) / win; }

/* The extent of window w along a side of n tokens: its first rolled
 * coordinate, and how many tokens it has there. */
DS_HD int64_t ds_window_first(int64_t w, int win) { return w * win; }
DS_HD int64_t ds_window_len(int64_t n, int64_t w, int win) {
    int64_t left = n - w * win;
    return left < win ? left : win;
}

/* The map coordinate of rolled coordinate r along a side of n, shifted by s. */
DS_HD int64_t ds_window_unroll(int64_t r, int64_t n, int s) { return (r + s) % n; }

/* Index into one head's (2 win_h - 1, 2 win_w - 1) bias table of query
 * (ai, bi) against key (aj, bj), window coordinates. */
DS_HD int64_t ds_window_bias_index(int win_h, int win_w, int64_t ai, int64_t bi, int64_t aj, int64_t bj) {
    return (ai - aj + win_h - 1) * (2 * win_w - 1) + (bi - bj + win_w - 1);
}

/* The mask timm adds between tokens of different regions of the rolled map. */
#define DS_WINDOW_MASK_VALUE (-100.0f)

/* q / max(||q||, eps) in cosine attention (torch.nn.functional.normalize). */
#define DS_WINDOW_COSINE_EPS 1e-12

#endif
