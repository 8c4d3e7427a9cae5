/*
 * mesh_cpu.c: ds_mesh_build on the CPU's cores, with the per-vertex and
 * per-triangle steps of mesh_math.h (the CUDA kernels' own). Where the
 * kernels sample a vertex's four neighbours again for its normal, this path
 * computes every position once and reads the neighbours' (the same floats:
 * a position is a pure function of the vertex). Triangles kept under the
 * tear threshold are compacted in order: counted per band of rows, the
 * counts summed, then written at each band's offset.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cpus.h"      /* ds_cpus */
#include "base/error.h"     /* ds_fail */
#include "base/pool.h"      /* ds_parallel_for */
#include "mesh/mesh.h"      /* ds_mesh_build_cpu, ds_mesh_alloc */
#include "mesh/mesh_math.h" /* ds_mesh_position, ds_mesh_normal, ds_mesh_triangle */

typedef struct mesh_job {
    const ds_mesh_grid *g;
    const float *depth;
    float lo, hi;
    float *vert;              /* (nv, 8) */
    float *zbuf;              /* (nv) */
    int n_bands;
    int64_t *counts;          /* (n_bands): kept triangles, then offsets */
    uint32_t *indices;        /* (kept, 3) */
} mesh_job;

/* Positions, UVs and metric depths of the vertices of row j. */
static void positions(void *ctx, int64_t j, int thread) {
    (void)thread;
    const mesh_job *m = ctx;
    const ds_mesh_grid *g = m->g;
    for (int i = 0; i < g->cols; i++) {
        const int64_t k = j * g->cols + i;
        const ds_vec3 p = ds_mesh_position(m->depth, g, m->lo, m->hi, i, (int)j, &m->zbuf[k]);
        float *o = m->vert + k * 8;
        o[0] = p.x;
        o[1] = p.y;
        o[2] = p.z;
        o[6] = ds_mesh_u(g, i);
        o[7] = ds_mesh_v(g, (int)j);
    }
}

static ds_vec3 position_of(const float *vert, const ds_mesh_grid *g, int i, int j) {
    const float *o = vert + ((int64_t)j * g->cols + i) * 8;
    const ds_vec3 p = {o[0], o[1], o[2]};
    return p;
}

/* Normals of row j from the neighbours' positions. */
static void normals(void *ctx, int64_t row, int thread) {
    (void)thread;
    const mesh_job *m = ctx;
    const ds_mesh_grid *g = m->g;
    const int j = (int)row;
    for (int i = 0; i < g->cols; i++) {
        int il, ir, ja, jb;
        ds_mesh_neighbours(g, i, j, &il, &ir, &ja, &jb);
        ds_mesh_normal(position_of(m->vert, g, il, j), position_of(m->vert, g, ir, j),
                       position_of(m->vert, g, i, ja), position_of(m->vert, g, i, jb),
                       m->vert + ((int64_t)j * g->cols + i) * 8 + 3);
    }
}

/* Kept triangles of one band of cell rows. */
static void count_kept(void *ctx, int64_t band, int thread) {
    (void)thread;
    const mesh_job *m = ctx;
    const ds_mesh_grid *g = m->g;
    const int64_t per_row = 2 * (int64_t)(g->cols - 1);
    const int64_t r0 = (int64_t)(g->rows - 1) * band / m->n_bands, r1 = (int64_t)(g->rows - 1) * (band + 1) / m->n_bands;
    int64_t kept = 0;
    uint32_t idx[3];
    for (int64_t t = r0 * per_row; t < r1 * per_row; t++)
        kept += ds_mesh_triangle(g, m->zbuf, t, idx);
    m->counts[band] = kept;
}

static void write_kept(void *ctx, int64_t band, int thread) {
    (void)thread;
    const mesh_job *m = ctx;
    const ds_mesh_grid *g = m->g;
    const int64_t per_row = 2 * (int64_t)(g->cols - 1);
    const int64_t r0 = (int64_t)(g->rows - 1) * band / m->n_bands, r1 = (int64_t)(g->rows - 1) * (band + 1) / m->n_bands;
    uint32_t *o = m->indices + m->counts[band] * 3, idx[3];
    for (int64_t t = r0 * per_row; t < r1 * per_row; t++)
        if (ds_mesh_triangle(g, m->zbuf, t, idx)) {
            o[0] = idx[0];
            o[1] = idx[1];
            o[2] = idx[2];
            o += 3;
        }
}

ds_status ds_mesh_build_cpu(const ds_mesh_grid *g, const float *depth, ds_mesh *out) {
    memset(out, 0, sizeof *out);
    const int64_t nv = ds_mesh_vertex_count(g), nt = ds_mesh_triangle_count(g);
    float lo, hi;
    ds_depth_range(depth, (size_t)g->width * g->height, &lo, &hi);
    /* bands of rows: a few per thread, so that torn triangles even out */
    const int threads = ds_cpus(), most = 4 * threads;
    const int n_bands = g->rows > 1 ? (g->rows - 1 < most ? g->rows - 1 : most) : 1;
    float *zbuf = malloc((size_t)nv * sizeof *zbuf);
    int64_t *counts = calloc((size_t)n_bands + 1, sizeof *counts);
    ds_status s = zbuf && counts ? ds_mesh_alloc(out, nv, nt) : ds_fail(DS_ERR_OUT_OF_MEMORY, "mesh: out of memory");
    mesh_job m = {g, depth, lo, hi, s == DS_OK ? out->vertices : NULL, zbuf, n_bands, counts,
                  s == DS_OK ? out->indices : NULL};
    if (s == DS_OK) {
        ds_parallel_for(threads, g->rows, positions, &m);
        ds_parallel_for(threads, g->rows, normals, &m);
        if (nt > 0)
            ds_parallel_for(threads, n_bands, count_kept, &m);
        int64_t kept = 0;
        for (int b = 0; b < n_bands; b++) { /* counts -> offsets */
            const int64_t c = counts[b];
            counts[b] = kept;
            kept += c;
        }
        /* room for every triangle was made: the torn ones' pages are never touched */
        out->n_triangles = kept;
        if (kept > 0)
            ds_parallel_for(threads, n_bands, write_kept, &m);
    }
    if (s != DS_OK)
        ds_mesh_free(out);
    free(zbuf);
    free(counts);
    return s;
}
