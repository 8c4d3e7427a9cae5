/*
 * mesh_edges.c: a mesh's edge table, for importers that store one
 * (Blender keeps edges and each corner's edge beside the triangles).
 *
 * Every edge of a ds_mesh joins a vertex of the grid to its right, lower or
 * lower-right neighbour (index + 1, + cols, + cols + 1), so an edge is named
 * by its lower vertex and which of the three it is: three bits a vertex, and
 * no hash table. Edges are numbered in the order of their lower vertex, then
 * right, lower, lower-right.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/error.h" /* ds_fail */
#include "mesh/mesh.h"

enum { EDGE_RIGHT = 1, EDGE_DOWN = 2, EDGE_DIAGONAL = 4 };

/* The bit of the edge a -> b, 0 when it is none of the three kinds. */
static unsigned edge_kind(uint32_t a, uint32_t b, int64_t cols, uint32_t *lower) {
    const uint32_t lo = a < b ? a : b;
    const int64_t delta = (int64_t)(a < b ? b : a) - lo;
    *lower = lo;
    return delta == 1 ? EDGE_RIGHT : delta == cols ? EDGE_DOWN : delta == cols + 1 ? EDGE_DIAGONAL : 0;
}

ds_status ds_mesh_edges(const ds_mesh *mesh, int32_t *edges, int32_t *corner_edge, int64_t *n_edges) {
    if (!mesh || !n_edges)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh edges: no mesh or no count");
    const int64_t nv = mesh->n_vertices, nc = 3 * mesh->n_triangles, cols = mesh->cols;
    if (nv < 0 || nc < 0 || (nc && (!mesh->indices || cols < 1)))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "mesh edges: not a mesh (%lld vertices, %lld corners)",
                       (long long)nv, (long long)nc);
    if (nv > INT32_MAX)
        return ds_fail(DS_ERR_UNSUPPORTED, "mesh edges: %lld vertices do not fit 32-bit indices", (long long)nv);
    uint8_t *kinds = calloc((size_t)(nv ? nv : 1), 1); /* (n_vertices): the edges whose lower vertex it is */
    int32_t *first = (edges || corner_edge) ? malloc((size_t)(nv ? nv : 1) * sizeof *first) : NULL;
    if (!kinds || ((edges || corner_edge) && !first)) {
        free(kinds);
        free(first);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "mesh edges: out of memory for %lld vertices", (long long)nv);
    }
    const uint32_t *idx = mesh->indices; /* (n_triangles, 3) */
    for (int64_t c = 0; c < nc; c++) {
        const uint32_t a = idx[c], b = idx[c + (c % 3 == 2 ? -2 : 1)];
        uint32_t lo;
        const unsigned kind = edge_kind(a, b, cols, &lo);
        if (!kind || (a > b ? a : b) >= nv) {
            free(kinds);
            free(first);
            return ds_fail(DS_ERR_INVALID_ARGUMENT,
                           "mesh edges: triangle %lld joins vertices %u and %u, not grid neighbours (cols %lld)",
                           (long long)(c / 3), a, b, (long long)cols);
        }
        kinds[lo] |= (uint8_t)kind;
    }
    int64_t count = 0;
    for (int64_t v = 0; v < nv; v++) {
        if (first)
            first[v] = (int32_t)(count < INT32_MAX ? count : INT32_MAX);
        count += __builtin_popcount(kinds[v]);
    }
    if (count > INT32_MAX) {
        free(kinds);
        free(first);
        return ds_fail(DS_ERR_UNSUPPORTED, "mesh edges: %lld edges do not fit 32-bit indices", (long long)count);
    }
    *n_edges = count;
    if (edges) {
        for (int64_t v = 0; v < nv; v++) {
            int32_t *e = edges + 2 * (int64_t)first[v];
            const int64_t step[3] = {1, cols, cols + 1};
            for (unsigned k = 0; k < 3; k++)
                if (kinds[v] >> k & 1) {
                    e[0] = (int32_t)v;
                    e[1] = (int32_t)(v + step[k]);
                    e += 2;
                }
        }
    }
    if (corner_edge) {
        for (int64_t t = 0; t < nc / 3; t++) {
            const uint32_t *v = idx + 3 * t; /* the triangle's corners; its sides v0-v1, v1-v2, v2-v0 */
            for (int k = 0; k < 3; k++) {
                uint32_t lo;
                const unsigned kind = edge_kind(v[k], v[k == 2 ? 0 : k + 1], cols, &lo);
                corner_edge[3 * t + k] = first[lo] + __builtin_popcount(kinds[lo] & (kind - 1)); /* its vertex's edges before it */
            }
        }
    }
    free(kinds);
    free(first);
    return DS_OK;
}
