/* mesh_obj.c: Wavefront OBJ and its MTL (t = 1 - v: OBJ's texture origin is
 * the bottom-left corner). */
#include <stdio.h>
#include <stdlib.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* ds_fail */
#include "src/io/mesh_write.h"

ds_status ds_mesh_write_mtl(const char *path, const char *texture_name) {
    ds_atomic_file af;
    DS_TRY(ds_atomic_open(&af, path));
    const int ok = fprintf(af.f,
                           "# depthsolve mesh: the photo as the diffuse colour, no lighting of its own\n"
                           "newmtl photo\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd %s\n",
                           texture_name) > 0;
    return ds_atomic_commit(&af, ok);
}

ds_status ds_mesh_write_obj(const char *path, const ds_mesh *m, const char *mtl_name) {
    ds_atomic_file af;
    DS_TRY(ds_atomic_open(&af, path));
    FILE *f = af.f;
    int ok = fprintf(f,
                     "# depthsolve mesh: metres, +Y up, +Z towards the viewer (the photo's camera looks down -Z)\n"
                     "# %lld vertices, %lld triangles\nmtllib %s\nusemtl photo\n",
                     (long long)m->n_vertices, (long long)m->n_triangles, mtl_name) > 0;
    for (int64_t k = 0; ok && k < m->n_vertices; k++) {
        const float *v = m->vertices + k * 8;
        ok = fprintf(f, "v %.7g %.7g %.7g\n", v[0], v[1], v[2]) > 0;
    }
    for (int64_t k = 0; ok && k < m->n_vertices; k++) {
        const float *v = m->vertices + k * 8;
        ok = fprintf(f, "vt %.7g %.7g\n", v[6], 1.0f - v[7]) > 0;
    }
    for (int64_t k = 0; ok && k < m->n_vertices; k++) {
        const float *v = m->vertices + k * 8;
        ok = fprintf(f, "vn %.6g %.6g %.6g\n", v[3], v[4], v[5]) > 0;
    }
    for (int64_t t = 0; ok && t < m->n_triangles; t++) {
        const uint32_t *i = m->indices + t * 3;
        const unsigned a = i[0] + 1, b = i[1] + 1, c = i[2] + 1; /* OBJ counts from 1 */
        ok = fprintf(f, "f %u/%u/%u %u/%u/%u %u/%u/%u\n", a, a, a, b, b, b, c, c, c) > 0;
    }
    return ds_atomic_commit(&af, ok);
}
