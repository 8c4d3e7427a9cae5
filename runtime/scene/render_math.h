/*
 * render_math.h: the per-vertex, per-triangle and per-pixel steps of the
 * frame renderer (ds_scene_render), shared by the plain C path
 * (render_cpu.c) and the CUDA kernels (kernels/scene/render.cu), so that the two
 * compute the same floats: both are built without FMA contraction.
 *
 * The scene: a grid of vertices, one at every pixel centre of the photo and
 * of a mirrored border around it, each at its metric depth z on its pixel's
 * ray from the source camera (pinhole at the origin, looking down -Z, +Y up,
 * image y down). A frame: the triangles of that grid seen from another
 * camera, nearest first (a 64-bit key per pixel: depth bits, then the
 * triangle), each pixel's colour sampled from the photo where its surface
 * point projects into the source camera; triangles the new view stretches
 * apart (depth discontinuities) are torn, and the holes they leave are
 * filled from their background side.
 */
#ifndef DS_RENDER_MATH_H
#define DS_RENDER_MATH_H

#include <math.h>
#include <stdint.h>

#include "base/hd.h" /* DS_HD, ds_minf, ds_maxf */

#ifdef __cplusplus
extern "C" {
#endif

/* floor(x) of x clamped to [lo, hi] (so that it fits an int), without a
 * libm call. */
DS_HD int ds_rd_floor_in(float x, float lo, float hi) {
    x = ds_minf(ds_maxf(x, lo), hi);
    const int i = (int)x;
    return i - (x < (float)i);
}

/* What every step needs, passed by value to the kernels: plain fields only. */
typedef struct ds_render_view {
    /* the scene: grid_w x grid_h vertices, vertex (i, j) at source pixel
     * centre (i - margin + 0.5, j - margin + 0.5) */
    int grid_w, grid_h, margin;
    float src_inv_f, src_cx, src_cy; /* source camera: 1 / focal length, centre, pixels */
    /* the frame */
    int out_w, out_h;
    float f, cx, cy;  /* output camera, pixels */
    float rot[9];     /* world -> camera rotation, row-major */
    float pos[3];     /* camera centre, world metres */
    float near_clip;  /* vertices nearer than this along the view are dropped */
    float tear_sum;   /* tear + 1 / tear, tear the stretch above which a triangle is torn (> 1) */
    int max_extent;   /* triangles spanning more pixels than this in x or y are dropped */
    float fill_tol;   /* hole filling: candidates within this relative depth of the farthest */
    int fill_reach;   /* hole filling: pixels scanned in each direction per pass (the widest
                         hole the view can open) */
} ds_render_view;

#define DS_RENDER_EMPTY UINT64_C(0xFFFFFFFFFFFFFFFF)

/* Triangles: quad (i, j) of the grid, corners a = (i, j), b = (i + 1, j),
 * c = (i, j + 1), d = (i + 1, j + 1); its triangle 0 is (a, c, d), 1 is
 * (a, d, b). The grid is at most DS_RENDER_MAX_GRID a side. */
#define DS_RENDER_MAX_GRID 32767
DS_HD int64_t ds_rd_triangle_count(const ds_render_view *v) {
    return 2 * (int64_t)(v->grid_w - 1) * (int64_t)(v->grid_h - 1);
}

/* The vertices of triangle `half` (0, 1) of quad (i, j): grid index and
 * grid coordinates of each. */
DS_HD void ds_rd_quad_triangle(const ds_render_view *v, int i, int j, int half, int64_t idx[3], int gx[3],
                               int gy[3]) {
    gx[0] = i;
    gy[0] = j;
    gx[1] = half ? i + 1 : i;
    gy[1] = j + 1;
    gx[2] = i + 1;
    gy[2] = half ? j : j + 1;
    for (int k = 0; k < 3; k++)
        idx[k] = (int64_t)gy[k] * v->grid_w + gx[k];
}

/* Triangle ids: (j << 16 | i) << 1 | half, j and i below 2^15, so that
 * the id orders as (j, i, half) and gives its quad back without a division. */
DS_HD uint32_t ds_rd_triangle_id(int i, int j, int half) {
    return ((uint32_t)j << 16 | (uint32_t)i) << 1 | (uint32_t)half;
}

DS_HD void ds_rd_triangle(const ds_render_view *v, uint32_t t, int64_t idx[3], int gx[3], int gy[3]) {
    ds_rd_quad_triangle(v, (int)((t >> 1) & 0x7FFFu), (int)(t >> 17), (int)(t & 1u), idx, gx, gy);
}

/* Vertex (i, j) at source depth z -> its position in the frame: x, y
 * (pixels) and w = 1 / depth along the view; w = 0 when it is behind
 * near_clip. */
DS_HD void ds_rd_project(const ds_render_view *v, int i, int j, float z, float out[3]) {
    const float sx = (float)(i - v->margin) + 0.5f;
    const float sy = (float)(j - v->margin) + 0.5f;
    /* world point on the source ray */
    const float wx = (sx - v->src_cx) * v->src_inv_f * z - v->pos[0];
    const float wy = (v->src_cy - sy) * v->src_inv_f * z - v->pos[1];
    const float wz = -z - v->pos[2];
    const float cx = v->rot[0] * wx + v->rot[1] * wy + v->rot[2] * wz;
    const float cy = v->rot[3] * wx + v->rot[4] * wy + v->rot[5] * wz;
    const float d = -(v->rot[6] * wx + v->rot[7] * wy + v->rot[8] * wz);
    if (!(d > v->near_clip)) {
        out[0] = out[1] = out[2] = 0.0f;
        return;
    }
    const float w = 1.0f / d;
    out[0] = v->cx + v->f * cx * w;
    out[1] = v->cy - v->f * cy * w;
    out[2] = w;
}

/* The edge function of (p, q) at (x, y): positive on the left of p -> q in
 * pixel coordinates. Shared edges are evaluated from the same vertex order
 * (lower index first) by both triangles, so a pixel on one is covered by at
 * least one of them, never by neither. */
DS_HD float ds_rd_edge(const float *p, const float *q, float x, float y) {
    return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
}

DS_HD float ds_rd_edge_ordered(const float *const pv[3], const int64_t idx[3], int e, float x, float y) {
    const int a = e, b = e == 2 ? 0 : e + 1;
    return idx[a] < idx[b] ? ds_rd_edge(pv[a], pv[b], x, y) : -ds_rd_edge(pv[b], pv[a], x, y);
}

/* A triangle ready to rasterize: its pixel box and orientation. */
typedef struct ds_rd_setup {
    int x0, y0, x1, y1; /* inclusive pixel box */
    float inv_area2;    /* 1 / (signed twice the area) */
} ds_rd_setup;

/* The pixels whose centres (p + 0.5) lie in [xmin, xmax] x [ymin, ymax],
 * within the frame, into s; whether there are any. */
DS_HD int ds_rd_box(const ds_render_view *v, float xmin, float xmax, float ymin, float ymax, ds_rd_setup *s) {
    s->x0 = -ds_rd_floor_in(0.5f - xmin, (float)-v->out_w, 1.0f);
    s->x1 = ds_rd_floor_in(xmax - 0.5f, -1.0f, (float)v->out_w);
    s->y0 = -ds_rd_floor_in(0.5f - ymin, (float)-v->out_h, 1.0f);
    s->y1 = ds_rd_floor_in(ymax - 0.5f, -1.0f, (float)v->out_h);
    s->x0 = s->x0 < 0 ? 0 : s->x0;
    s->y0 = s->y0 < 0 ? 0 : s->y0;
    s->x1 = s->x1 > v->out_w - 1 ? v->out_w - 1 : s->x1;
    s->y1 = s->y1 > v->out_h - 1 ? v->out_h - 1 : s->y1;
    return s->x0 <= s->x1 && s->y0 <= s->y1;
}

/* Whether triangle (pv: its projected vertices; gx, gy: their grid
 * coordinates) may be drawn: in front of the near plane, not degenerate,
 * not torn; 1 / (twice its signed area) into *inv_area2. Torn: the map J
 * from the grid to the frame over the triangle stretches one direction more
 * than `tear` times the other (singular values s1 >= s2 with s1 / s2 >
 * tear; from |J|^2 = s1^2 + s2^2 and det J = s1 s2: |J|^2 > (tear + 1 /
 * tear) |det J|). Uniform magnification never tears; a neighbour displaced
 * by about a pixel more than the rest of the surface does. */
DS_HD int ds_rd_triangle_drawn(const ds_render_view *v, const float *const pv[3], const int gx[3], const int gy[3],
                               float *inv_area2) {
    if (!(pv[0][2] > 0.0f && pv[1][2] > 0.0f && pv[2][2] > 0.0f)) /* w = 0: behind near_clip */
        return 0;
    const float xmin = ds_minf(pv[0][0], ds_minf(pv[1][0], pv[2][0]));
    const float xmax = ds_maxf(pv[0][0], ds_maxf(pv[1][0], pv[2][0]));
    const float ymin = ds_minf(pv[0][1], ds_minf(pv[1][1], pv[2][1]));
    const float ymax = ds_maxf(pv[0][1], ds_maxf(pv[1][1], pv[2][1]));
    if (xmax - xmin > (float)v->max_extent || ymax - ymin > (float)v->max_extent)
        return 0;
    const float area2 = ds_rd_edge(pv[0], pv[1], pv[2][0], pv[2][1]);
    if (!(fabsf(area2) > 1e-12f))
        return 0;
    /* J = [o1 o2] [g1 g2]^-1: frame edges over grid edges (integers, det +-1) */
    const float g1x = (float)(gx[1] - gx[0]), g1y = (float)(gy[1] - gy[0]);
    const float g2x = (float)(gx[2] - gx[0]), g2y = (float)(gy[2] - gy[0]);
    const float inv_gdet = g1x * g2y - g2x * g1y; /* +-1: its own inverse */
    const float o1x = pv[1][0] - pv[0][0], o1y = pv[1][1] - pv[0][1];
    const float o2x = pv[2][0] - pv[0][0], o2y = pv[2][1] - pv[0][1];
    const float j00 = (o1x * g2y - o2x * g1y) * inv_gdet, j01 = (o2x * g1x - o1x * g2x) * inv_gdet;
    const float j10 = (o1y * g2y - o2y * g1y) * inv_gdet, j11 = (o2y * g1x - o1y * g2x) * inv_gdet;
    const float norm2 = j00 * j00 + j01 * j01 + j10 * j10 + j11 * j11;
    if (norm2 > v->tear_sum * fabsf(area2))
        return 0;
    *inv_area2 = 1.0f / area2;
    return 1;
}

/* The box of pixels whose centres the corners pv[0..n) span (n = 3: a
 * triangle, 4: a quad), within the frame; whether there are any. */
DS_HD int ds_rd_corner_box(const ds_render_view *v, const float *const *pv, int n, ds_rd_setup *s) {
    float xmin = pv[0][0], xmax = pv[0][0], ymin = pv[0][1], ymax = pv[0][1];
    for (int k = 1; k < n; k++) {
        xmin = ds_minf(xmin, pv[k][0]);
        xmax = ds_maxf(xmax, pv[k][0]);
        ymin = ds_minf(ymin, pv[k][1]);
        ymax = ds_maxf(ymax, pv[k][1]);
    }
    return ds_rd_box(v, xmin, xmax, ymin, ymax, s);
}

/* A triangle ready to rasterize: drawn, over at least one pixel centre.
 * The cheap box test first: most triangles of a wide view cover none. */
DS_HD int ds_rd_setup_triangle(const ds_render_view *v, const float *const pv[3], const int gx[3], const int gy[3],
                               ds_rd_setup *s) {
    return ds_rd_corner_box(v, pv, 3, s) && ds_rd_triangle_drawn(v, pv, gx, gy, &s->inv_area2);
}

/* Screen-space barycentrics of pixel (px, py)'s centre; 0 when outside. */
DS_HD int ds_rd_barycentric(const float *const pv[3], const int64_t idx[3], float inv_area2, int px, int py,
                            float lambda[3]) {
    const float x = (float)px + 0.5f, y = (float)py + 0.5f;
    /* lambda_k: the edge opposite vertex k */
    const float e0 = ds_rd_edge_ordered(pv, idx, 1, x, y) * inv_area2;
    const float e1 = ds_rd_edge_ordered(pv, idx, 2, x, y) * inv_area2;
    const float e2 = ds_rd_edge_ordered(pv, idx, 0, x, y) * inv_area2;
    if (!(e0 >= 0.0f && e1 >= 0.0f && e2 >= 0.0f))
        return 0;
    lambda[0] = e0;
    lambda[1] = e1;
    lambda[2] = e2;
    return 1;
}

/* The z-buffer key of a covered pixel: the nearest has the largest inverse
 * depth w (positive floats order as their bits), so the high half is
 * ~bits(w); then the triangle, so ties go to the lowest whatever order the
 * triangles arrive in. */
DS_HD uint64_t ds_rd_key(const float *const pv[3], const float lambda[3], uint32_t t) {
    const float w = lambda[0] * pv[0][2] + lambda[1] * pv[1][2] + lambda[2] * pv[2][2];
    union {
        float f;
        uint32_t u;
    } bits;
    bits.f = w;
    return ((uint64_t)~bits.u << 32) | (uint64_t)t;
}

/* The inverse depth along the view of a key. */
DS_HD float ds_rd_key_inv_depth(uint64_t key) {
    union {
        float f;
        uint32_t u;
    } bits;
    bits.u = ~(uint32_t)(key >> 32);
    return bits.f;
}

/* Bilinear RGB of the scene's colours (grid_w x grid_h x 3 bytes, the
 * mirrored border included) at grid coordinates (gx, gy) (vertex centres at
 * integers), clamped to the grid. */
DS_HD void ds_rd_sample(const ds_render_view *v, const uint8_t *rgb, float gx, float gy, float out[3]) {
    gx = ds_minf(ds_maxf(gx, 0.0f), (float)(v->grid_w - 1));
    gy = ds_minf(ds_maxf(gy, 0.0f), (float)(v->grid_h - 1));
    const int x0 = (int)gx, y0 = (int)gy;
    const int x1 = x0 + 1 < v->grid_w ? x0 + 1 : x0, y1 = y0 + 1 < v->grid_h ? y0 + 1 : y0;
    const float fx = gx - (float)x0, fy = gy - (float)y0;
    const uint8_t *p00 = rgb + ((int64_t)y0 * v->grid_w + x0) * 3, *p01 = rgb + ((int64_t)y0 * v->grid_w + x1) * 3;
    const uint8_t *p10 = rgb + ((int64_t)y1 * v->grid_w + x0) * 3, *p11 = rgb + ((int64_t)y1 * v->grid_w + x1) * 3;
    for (int c = 0; c < 3; c++) {
        const float top = (1.0f - fx) * (float)p00[c] + fx * (float)p01[c];
        const float bot = (1.0f - fx) * (float)p10[c] + fx * (float)p11[c];
        out[c] = (1.0f - fy) * top + fy * bot;
    }
}

DS_HD uint8_t ds_rd_to_u8(float x) {
    x = ds_minf(ds_maxf(x, 0.0f), 255.0f);
    return (uint8_t)(x + 0.5f);
}

/* The colour of a pixel whose nearest triangle is key's: the surface point
 * under the pixel (perspective-correct barycentrics) projected back into the
 * source camera, where the photo is sampled. Writes RGB and returns the
 * pixel's inverse depth along the view. */
DS_HD float ds_rd_resolve(const ds_render_view *v, const float *proj /* (vertices, 3) */,
                          const float *zsrc /* (vertices) */, const uint8_t *rgb, uint64_t key, int px, int py,
                          uint8_t out[3]) {
    int64_t idx[3];
    int gx[3], gy[3];
    ds_rd_triangle(v, (uint32_t)key, idx, gx, gy);
    const float *pv[3] = {proj + idx[0] * 3, proj + idx[1] * 3, proj + idx[2] * 3};
    /* barycentrics up to the factor 1 / area, which the division by the
     * weights' sum cancels: its sign is enough */
    const float sign = ds_rd_edge(pv[0], pv[1], pv[2][0], pv[2][1]) < 0.0f ? -1.0f : 1.0f;
    const float x = (float)px + 0.5f, y = (float)py + 0.5f;
    const float lambda[3] = {ds_rd_edge_ordered(pv, idx, 1, x, y) * sign, ds_rd_edge_ordered(pv, idx, 2, x, y) * sign,
                             ds_rd_edge_ordered(pv, idx, 0, x, y) * sign};
    /* weights of the source points: lambda_k / depth_k (perspective), times
     * the source depth (the source camera's own perspective) */
    float num_x = 0.0f, num_y = 0.0f, den = 0.0f;
    for (int k = 0; k < 3; k++) {
        const float w = ds_maxf(lambda[k], 0.0f) * pv[k][2] * zsrc[idx[k]];
        num_x += w * (float)gx[k];
        num_y += w * (float)gy[k];
        den += w;
    }
    float c[3];
    const float inv_den = 1.0f / den;
    ds_rd_sample(v, rgb, num_x * inv_den, num_y * inv_den, c);
    for (int k = 0; k < 3; k++)
        out[k] = ds_rd_to_u8(c[k]);
    return ds_rd_key_inv_depth(key);
}

/* The first covered pixel (inverse depth > 0) from (px, py) in direction
 * dir (0..7) within fill_reach: its index, or -1; its distance into *dist. */
DS_HD int64_t ds_rd_fill_probe(const ds_render_view *v, const float *inv_depth, int px, int py, int dir,
                               float *dist) {
    const int dx = dir == 0 || dir == 4 || dir == 5 ? 1 : dir == 1 || dir == 6 || dir == 7 ? -1 : 0;
    const int dy = dir == 2 || dir == 4 || dir == 6 ? 1 : dir == 3 || dir == 5 || dir == 7 ? -1 : 0;
    *dist = 0.0f;
    for (int s = 1; s <= v->fill_reach; s++) {
        const int x = px + dx * s, y = py + dy * s;
        if (x < 0 || y < 0 || x >= v->out_w || y >= v->out_h)
            return -1;
        const int64_t at = (int64_t)y * v->out_w + x;
        if (inv_depth[at] > 0.0f) {
            *dist = (float)s * (dx && dy ? 1.41421356f : 1.0f);
            return at;
        }
    }
    return -1;
}

/* Hole filling for pixel (px, py) of a frame whose covered pixels have
 * inverse depth > 0 (the others 0): in each of 8 directions the nearest
 * covered pixel within fill_reach; of those, the ones within fill_tol of the
 * farthest depth (the background side of the hole), averaged with weights
 * 1 / distance. Returns the inverse depth of the fill (0: nothing in
 * reach). The 8 candidates stay in registers on a GPU (fixed loops, fully
 * unrolled). */
DS_HD float ds_rd_fill(const ds_render_view *v, const uint8_t *rgb /* (H, W, 3) */,
                       const float *inv_depth /* (H, W) */, int px, int py, uint8_t out[3]) {
    int64_t at[8];
    float dist[8];
    float far_w = 0.0f;
    for (int dir = 0; dir < 8; dir++) {
        at[dir] = ds_rd_fill_probe(v, inv_depth, px, py, dir, &dist[dir]);
        if (at[dir] >= 0)
            far_w = far_w > 0.0f ? ds_minf(far_w, inv_depth[at[dir]]) : inv_depth[at[dir]];
    }
    if (!(far_w > 0.0f))
        return 0.0f;
    /* depth >= far depth (1 - tol)  <=>  w <= far_w / (1 - tol) */
    const float limit = far_w / (1.0f - v->fill_tol);
    float r = 0.0f, g = 0.0f, b = 0.0f, wsum = 0.0f;
    for (int dir = 0; dir < 8; dir++) {
        if (at[dir] < 0 || inv_depth[at[dir]] > limit)
            continue;
        const float w = 1.0f / dist[dir];
        r += w * (float)rgb[at[dir] * 3];
        g += w * (float)rgb[at[dir] * 3 + 1];
        b += w * (float)rgb[at[dir] * 3 + 2];
        wsum += w;
    }
    out[0] = ds_rd_to_u8(r / wsum);
    out[1] = ds_rd_to_u8(g / wsum);
    out[2] = ds_rd_to_u8(b / wsum);
    return far_w;
}

#ifdef __cplusplus
}
#endif

#endif
