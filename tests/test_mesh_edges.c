/*
 * test_mesh_edges.c: ds_mesh_edges, a mesh's edge table, against a plain
 * pairwise search on meshes of odd sizes (prime grids, a single row or
 * column of cells, both aspect ratios, a vertex per pixel) with and without
 * torn triangles: every edge once, lower vertex first, in the documented
 * order; each corner's edge joins that corner to the next; every edge used.
 * Bad meshes: a triangle with another kind of edge, no count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "tests/test.h"

/* A depth map with a step across it, so tearing drops a band of triangles. */
static float *step_depth(int w, int h) {
    float *d = malloc((size_t)w * (size_t)h * sizeof *d);
    for (int y = 0; d && y < h; y++)
        for (int x = 0; x < w; x++)
            d[(size_t)y * (size_t)w + (size_t)x] = (x + y) * 3 < w + h ? 1.0f + 0.01f * (float)x : 9.0f;
    return d;
}

static int cmp_pair(const void *a, const void *b) {
    const int64_t *p = a, *q = b;
    return p[0] != q[0] ? (p[0] < q[0] ? -1 : 1) : p[1] != q[1] ? (p[1] < q[1] ? -1 : 1) : 0;
}

/* "" when edges / corner_edge are the mesh's edge table, else what is wrong. */
static const char *check_table(const ds_mesh *m, const int32_t *edges, int64_t ne, const int32_t *corner_edge) {
    const int64_t nc = 3 * m->n_triangles, cols = m->cols;
    /* the plain way: every corner's (lower, upper, kind) pair, sorted, duplicates dropped */
    int64_t *pairs = malloc((size_t)(nc ? nc : 1) * 2 * sizeof *pairs), n = 0;
    if (!pairs)
        return "out of memory";
    for (int64_t c = 0; c < nc; c++) {
        const int64_t a = m->indices[c], b = m->indices[c % 3 == 2 ? c - 2 : c + 1];
        const int64_t lo = a < b ? a : b, hi = a < b ? b : a;
        pairs[2 * c] = lo;
        pairs[2 * c + 1] = hi - lo == 1 ? 0 : hi - lo == cols ? 1 : 2; /* right, lower, lower-right */
    }
    qsort(pairs, (size_t)nc, 2 * sizeof *pairs, cmp_pair);
    for (int64_t i = 0; i < nc; i++)
        if (!n || cmp_pair(pairs + 2 * i, pairs + 2 * (n - 1))) {
            pairs[2 * n] = pairs[2 * i];
            pairs[2 * n + 1] = pairs[2 * i + 1];
            n++;
        }
    const char *why = "";
    const int64_t step[3] = {1, cols, cols + 1};
    if (n != ne)
        why = "edge count";
    for (int64_t e = 0; !*why && e < ne; e++)
        if (edges[2 * e] != pairs[2 * e] || edges[2 * e + 1] != pairs[2 * e] + step[pairs[2 * e + 1]])
            why = "edges or their order";
    for (int64_t c = 0; !*why && c < nc; c++) {
        const int64_t a = m->indices[c], b = m->indices[c % 3 == 2 ? c - 2 : c + 1], e = corner_edge[c];
        if (e < 0 || e >= ne || (edges[2 * e] != (a < b ? a : b)) || edges[2 * e + 1] != (a < b ? b : a))
            why = "a corner's edge";
    }
    free(pairs);
    return why;
}

typedef struct { int w, h, grid; float tear; } edge_case;

TEST(edge_table_matches_a_plain_search) {
    static const edge_case cases[] = {
        {31, 17, 0, 0.0f}, {17, 31, 0, 0.5f}, {29, 23, 7, 0.0f}, {2, 2, 0, 0.0f},
        {2, 13, 0, 0.5f}, {13, 2, 0, 0.0f}, {64, 48, 0, 0.3f}, {48, 64, 5, 0.3f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const edge_case *c = &cases[i];
        float *depth = step_depth(c->w, c->h);
        CHECK(depth);
        ds_mesh_params p = ds_mesh_default_params();
        p.grid = c->grid;
        p.tear = c->tear;
        p.projection = c->tear > 0 ? DS_MESH_CAMERA : DS_MESH_PLANE;
        ds_mesh m;
        ds_status s = ds_mesh_build(depth, c->w, c->h, &p, &m);
        free(depth);
        CHECK_OK(s);
        if (c->tear > 0)
            CHECK_MSG(m.n_triangles < 2 * (int64_t)(m.cols - 1) * (m.rows - 1), "case %zu: nothing torn", i);
        int64_t ne = -1, ne2 = -1;
        s = ds_mesh_edges(&m, NULL, NULL, &ne);
        int32_t *edges = malloc((size_t)(ne > 0 ? ne : 1) * 2 * sizeof *edges);
        int32_t *corner_edge = malloc((size_t)(m.n_triangles ? m.n_triangles : 1) * 3 * sizeof *corner_edge);
        if (s == DS_OK)
            s = ds_mesh_edges(&m, edges, corner_edge, &ne2);
        const char *why = s == DS_OK && edges && corner_edge ? check_table(&m, edges, ne2, corner_edge) : "call";
        free(edges);
        free(corner_edge);
        ds_mesh_free(&m);
        CHECK_OK(s);
        CHECK_MSG(ne == ne2, "case %zu: counted %lld, then %lld", i, (long long)ne, (long long)ne2);
        CHECK_MSG(!*why, "case %zu (%dx%d grid %d tear %g): %s", i, c->w, c->h, c->grid, c->tear, why);
    }
}

TEST(untorn_grid_has_the_expected_edge_count) {
    enum { W = 37, H = 11 };
    float *depth = step_depth(W, H);
    CHECK(depth);
    ds_mesh_params p = ds_mesh_default_params();
    ds_mesh m;
    ds_status s = ds_mesh_build(depth, W, H, &p, &m);
    free(depth);
    CHECK_OK(s);
    int64_t ne = 0;
    s = ds_mesh_edges(&m, NULL, NULL, &ne);
    const int64_t cols = m.cols, rows = m.rows;
    ds_mesh_free(&m);
    CHECK_OK(s);
    /* rows of right edges, columns of lower ones, a diagonal a cell */
    CHECK(ne == (cols - 1) * rows + cols * (rows - 1) + (cols - 1) * (rows - 1));
}

TEST(bad_meshes_fail_in_one_line) {
    float v[6 * 8] = {0};
    uint32_t tri[3] = {0, 1, 5}; /* a 3 x 2 grid: 5-0 is no grid edge */
    ds_mesh m = {.vertices = v, .indices = tri, .n_vertices = 6, .n_triangles = 1, .cols = 3, .rows = 2};
    int64_t ne = 0;
    CHECK_FAILS(ds_mesh_edges(&m, NULL, NULL, &ne), DS_ERR_INVALID_ARGUMENT, "not grid neighbours");
    CHECK(!strchr(ds_last_error(), '\n'));
    tri[2] = 9; /* past the vertices */
    CHECK_FAILS(ds_mesh_edges(&m, NULL, NULL, &ne), DS_ERR_INVALID_ARGUMENT, "triangle 0");
    tri[2] = 4; /* right, lower, lower-right */
    CHECK_FAILS(ds_mesh_edges(&m, NULL, NULL, NULL), DS_ERR_INVALID_ARGUMENT, "no count");
    CHECK_FAILS(ds_mesh_edges(NULL, NULL, NULL, &ne), DS_ERR_INVALID_ARGUMENT, "no mesh");
    CHECK_OK(ds_mesh_edges(&m, NULL, NULL, &ne));
    CHECK(ne == 3);
}

int main(void) {
    RUN(edge_table_matches_a_plain_search);
    RUN(untorn_grid_has_the_expected_edge_count);
    RUN(bad_meshes_fail_in_one_line);
    return test_summary();
}
