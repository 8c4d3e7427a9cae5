/* mesh_ply.c: binary little-endian PLY with normals and texture coordinates
 * (s, t = 1 - v), little-endian hosts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* ds_fail */
#include "src/io/mesh_write.h"

enum { PLY_CHUNK = 4096 }; /* records per fwrite */

ds_status ds_mesh_write_ply(const char *path, const ds_mesh *m, const char *texture_name) {
    uint8_t *buf = malloc((size_t)PLY_CHUNK * 32);
    if (!buf)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    ds_atomic_file af;
    ds_status s = ds_atomic_open(&af, path);
    if (s != DS_OK) {
        free(buf);
        return s;
    }
    FILE *f = af.f;
    int ok = fprintf(f,
                     "ply\nformat binary_little_endian 1.0\n"
                     "comment depthsolve mesh: metres, +Y up, +Z towards the viewer\n"
                     "comment TextureFile %s\n"
                     "element vertex %lld\n"
                     "property float x\nproperty float y\nproperty float z\n"
                     "property float nx\nproperty float ny\nproperty float nz\n"
                     "property float s\nproperty float t\n"
                     "element face %lld\nproperty list uchar uint vertex_indices\nend_header\n",
                     texture_name, (long long)m->n_vertices, (long long)m->n_triangles) > 0;
    for (int64_t k = 0; ok && k < m->n_vertices; k += PLY_CHUNK) {
        const int64_t n = m->n_vertices - k < PLY_CHUNK ? m->n_vertices - k : PLY_CHUNK;
        float *out = (float *)buf;
        memcpy(out, m->vertices + k * 8, (size_t)n * 32);
        for (int64_t q = 0; q < n; q++)
            out[q * 8 + 7] = 1.0f - out[q * 8 + 7];
        ok = fwrite(buf, 32, (size_t)n, f) == (size_t)n;
    }
    for (int64_t t = 0; ok && t < m->n_triangles; t += PLY_CHUNK) {
        const int64_t n = m->n_triangles - t < PLY_CHUNK ? m->n_triangles - t : PLY_CHUNK;
        for (int64_t q = 0; q < n; q++) {
            buf[q * 13] = 3;
            memcpy(buf + q * 13 + 1, m->indices + (t + q) * 3, 12);
        }
        ok = fwrite(buf, 13, (size_t)n, f) == (size_t)n;
    }
    free(buf);
    return ds_atomic_commit(&af, ok);
}
