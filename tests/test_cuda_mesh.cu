/*
 * test_cuda_mesh.cu: the mesh kernels (kernels/mesh/mesh.cu) against a plain C
 * reference written here, for both projections, odd grid sizes, one vertex
 * per pixel, 1-pixel and very wide or tall images, with and without
 * tearing, at several block sizes (one and many compaction tiles), and the
 * host-side sequence (mesh_host.cu) with buffers kept between meshes; and the
 * geometry of what they build: counts, UVs in [0, 1], indices in range, no
 * degenerate triangle, unit normals, every vertex of the camera projection
 * seen on its own pixel, and tearing dropping exactly the triangles over
 * the threshold.
 *
 * The reference uses the kernel's float formulas in a different order of
 * work (all positions first, normals from them, triangles in one serial
 * pass). Under emulation (same arithmetic, same libm) it matches bit for
 * bit; a GPU contracts into FMAs, and the threshold (2e-5 of the mesh's
 * extent) leaves room for that. The largest difference is printed.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "tests/cuda_test.h" /* dev_buf, cuda_test_setup, kernel_launches */
#include "kernels/kernels.h"   /* op_minmax */
#include "kernels/mesh/mesh.cuh"    /* op_mesh_build */
#include "kernels/mesh/mesh_host.cuh" /* mesh_buffers, mesh_build_device */
#include "mesh/mesh.h"      /* ds_mesh_plan, ds_mesh_grid */
#include "tests/op_check.h"  /* op_random */

namespace DS_CUDA_NS {

static cudaStream_t g_stream;
static double g_worst; /* largest vertex difference / extent */

/* ---- the plain C reference ------------------------------------------------ */

struct ref_mesh {
    std::vector<float> vert;   /* (V, 8) */
    std::vector<float> z;      /* (V) metric depth */
    std::vector<uint32_t> all; /* (2 cells, 3) every triangle */
    std::vector<uint32_t> kept;
};

static float ref_value(const float *depth, int w, int x, int y) {
    const float v = depth[(size_t)y * w + x];
    return isfinite(v) ? v : 0.0f;
}

static void ref_build(const ds_mesh_grid &g, const float *depth, ref_mesh *m) {
    const size_t npix = (size_t)g.width * g.height, nv = (size_t)g.cols * g.rows;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < npix; k++) {
        const float v = isfinite(depth[k]) ? depth[k] : 0.0f;
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    std::vector<float> pos(nv * 3);
    m->vert.assign(nv * 8, 0.0f);
    m->z.assign(nv, 0.0f);
    for (int j = 0; j < g.rows; j++)
        for (int i = 0; i < g.cols; i++) {
            const size_t k = (size_t)j * g.cols + i;
            const float u = g.u0 + (float)i * g.du, v = g.v0 + (float)j * g.dv;
            float px = fminf(fmaxf(u * (float)g.width - 0.5f, 0.0f), (float)(g.width - 1));
            float py = fminf(fmaxf(v * (float)g.height - 0.5f, 0.0f), (float)(g.height - 1));
            const int x0 = (int)px, y0 = (int)py, x1 = x0 + 1 < g.width ? x0 + 1 : x0,
                      y1 = y0 + 1 < g.height ? y0 + 1 : y0;
            const float fx = px - (float)x0, fy = py - (float)y0;
            const float d = (1.0f - fy) * ((1.0f - fx) * ref_value(depth, g.width, x0, y0) +
                                           fx * ref_value(depth, g.width, x1, y0)) +
                            fy * ((1.0f - fx) * ref_value(depth, g.width, x0, y1) +
                                  fx * ref_value(depth, g.width, x1, y1));
            /* normalized inverse depth; metres (g.metric) by their inverse, and z = d */
            float n = 0.0f;
            if (hi > lo && g.metric)
                n = d > 0.0f && lo > 0.0f ? (1.0f / d - 1.0f / hi) / (1.0f / lo - 1.0f / hi) : 0.0f;
            else if (hi > lo)
                n = (d - lo) / (hi - lo);
            n = fminf(fmaxf(n, 0.0f), 1.0f);
            const float z = g.metric ? d : 1.0f / (g.inv_far + n * (g.inv_near - g.inv_far));
            float *p = &pos[k * 3];
            if (g.camera) {
                p[0] = (2.0f * u - 1.0f) * g.tan_x * z;
                p[1] = (1.0f - 2.0f * v) * g.tan_y * z;
                p[2] = -z;
            } else {
                p[0] = (u - 0.5f) * g.plane_w;
                p[1] = (0.5f - v) * g.plane_h;
                p[2] = g.depth_scale * n;
            }
            m->z[k] = z;
            m->vert[k * 8 + 6] = u;
            m->vert[k * 8 + 7] = v;
        }
    for (int j = 0; j < g.rows; j++)
        for (int i = 0; i < g.cols; i++) {
            const size_t k = (size_t)j * g.cols + i;
            const float *l = &pos[((size_t)j * g.cols + (i > 0 ? i - 1 : i)) * 3];
            const float *r = &pos[((size_t)j * g.cols + (i + 1 < g.cols ? i + 1 : i)) * 3];
            const float *a = &pos[((size_t)(j > 0 ? j - 1 : j) * g.cols + i) * 3];
            const float *b = &pos[((size_t)(j + 1 < g.rows ? j + 1 : j) * g.cols + i) * 3];
            const float e[3] = {r[0] - l[0], r[1] - l[1], r[2] - l[2]};
            const float f[3] = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
            float nrm[3] = {e[1] * f[2] - e[2] * f[1], e[2] * f[0] - e[0] * f[2], e[0] * f[1] - e[1] * f[0]};
            const float len = sqrtf(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
            for (int c = 0; c < 3; c++) {
                m->vert[k * 8 + c] = pos[k * 3 + c];
                m->vert[k * 8 + 3 + c] = len > 0.0f && isfinite(len) ? nrm[c] / len : (c == 2 ? 1.0f : 0.0f);
            }
        }
    m->all.clear();
    m->kept.clear();
    for (int j = 0; j + 1 < g.rows; j++)
        for (int i = 0; i + 1 < g.cols; i++) {
            const uint32_t a = (uint32_t)(j * g.cols + i), b = a + 1, c = a + (uint32_t)g.cols, d = c + 1;
            const uint32_t tri[2][3] = {{a, c, d}, {a, d, b}};
            for (int t = 0; t < 2; t++) {
                const float z0 = m->z[tri[t][0]], z1 = m->z[tri[t][1]], z2 = m->z[tri[t][2]];
                const float zmin = fminf(z0, fminf(z1, z2)), zmax = fmaxf(z0, fmaxf(z1, z2));
                m->all.insert(m->all.end(), tri[t], tri[t] + 3);
                if (!(g.tear > 0.0f) || !(zmax - zmin > g.tear * zmin))
                    m->kept.insert(m->kept.end(), tri[t], tri[t] + 3);
            }
        }
}

/* ---- inputs ------------------------------------------------------------------ */

/* A smooth random field with a step (a near object on the left third), a
 * NaN and an infinity: what tearing and the range have to handle. Metres
 * (metric): the same field inverted, the object near, every value finite. */
static std::vector<float> make_depth(int w, int h, uint64_t seed, bool metric) {
    std::vector<float> d((size_t)w * h), noise((size_t)w * h);
    op_random(noise.data(), noise.size(), seed, 0.05f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            d[k] = 2.0f + sinf(0.21f * (float)x) * cosf(0.13f * (float)y) + noise[k] + (x * 3 < w ? 6.0f : 0.0f);
        }
    if (metric) {
        for (float &v : d)
            v = 10.0f / v;
        return d;
    }
    if (d.size() > 4) {
        d[d.size() / 2] = NAN;
        d[d.size() / 3] = INFINITY;
    }
    return d;
}

/* ---- the kernels, one case --------------------------------------------------- */

struct built {
    std::vector<float> vert;
    std::vector<uint32_t> idx;
    bool guards_ok = false;
};

static ds_status run_kernels(const ds_mesh_grid &g, const std::vector<float> &depth, int block, built *out) {
    const size_t nv = (size_t)ds_mesh_vertex_count(&g), nt = (size_t)ds_mesh_triangle_count(&g);
    dev_buf<float> dd, range, vert;
    dev_buf<uint32_t> idx, count;
    dev_buf<uint8_t> mm_ws, ws;
    kern_ctx k = {g_stream, block};
    uint32_t kept = 0;
    ds_status s = DS_OK;
    if ((s = dev_alloc(&dd, depth.size())) || (s = dev_alloc(&range, 2)) || (s = dev_alloc(&vert, nv * 8)) ||
        (s = dev_alloc(&idx, nt * 3)) || (s = dev_alloc(&count, 1)) ||
        (s = dev_alloc(&mm_ws, op_minmax_workspace_bytes())) ||
        (s = dev_alloc(&ws, op_mesh_workspace_bytes(&g, block))) || (s = dev_upload(&dd, depth.data())) ||
        (s = op_minmax(&k, dd.p, (int64_t)depth.size(), mm_ws.p, range.p)) ||
        (s = op_mesh_build(&k, &g, dd.p, range.p, ws.p, vert.p, nt ? idx.p : NULL, count.p)) ||
        (s = cuda_stream_sync(g_stream)) || (s = dev_download(count, &kept)))
        goto done;
    out->vert.resize(nv * 8);
    out->idx.resize(nt * 3);
    if ((s = dev_download(vert, out->vert.data())) || (s = dev_download(idx, out->idx.data())))
        goto done;
    out->idx.resize((size_t)kept * 3);
    out->guards_ok = dev_guards_ok(vert) && dev_guards_ok(idx) && dev_guards_ok(count) && dev_guards_ok(ws) &&
                     dev_guards_ok(dd);
done:
    dev_release(&dd);
    dev_release(&range);
    dev_release(&vert);
    dev_release(&idx);
    dev_release(&count);
    dev_release(&mm_ws);
    dev_release(&ws);
    return s;
}

/* ---- geometry checks ----------------------------------------------------------- */

static double tri_area2(const float *v, const uint32_t *t) {
    const float *a = v + t[0] * 8, *b = v + t[1] * 8, *c = v + t[2] * 8;
    const double e[3] = {(double)b[0] - a[0], (double)b[1] - a[1], (double)b[2] - a[2]};
    const double f[3] = {(double)c[0] - a[0], (double)c[1] - a[1], (double)c[2] - a[2]};
    const double x = e[1] * f[2] - e[2] * f[1], y = e[2] * f[0] - e[0] * f[2], z = e[0] * f[1] - e[1] * f[0];
    return sqrt(x * x + y * y + z * z);
}

/* "" when the mesh passes every geometric check, else what failed. */
static std::string check_geometry(const ds_mesh_grid &g, const ds_mesh_params &p, const built &b) {
    char msg[256];
    const size_t nv = (size_t)g.cols * g.rows;
    const int cells_long = g.width >= g.height ? g.cols - 1 : g.rows - 1;
    if (p.grid ? cells_long != p.grid : (g.cols != g.width || g.rows != g.height))
        return "vertex grid does not follow --grid";
    if (!(g.tear > 0.0f) && b.idx.size() != (size_t)ds_mesh_triangle_count(&g) * 3)
        return "triangle count is not 2 per cell";
    for (size_t k = 0; k < nv; k++) {
        const float *v = &b.vert[k * 8];
        const int i = (int)(k % g.cols), j = (int)(k / g.cols);
        if (!(v[6] >= 0.0f && v[6] <= 1.0f && v[7] >= 0.0f && v[7] <= 1.0f))
            return "UV outside [0, 1]";
        const double len = sqrt((double)v[3] * v[3] + (double)v[4] * v[4] + (double)v[5] * v[5]);
        if (fabs(len - 1.0) > 1e-5) {
            snprintf(msg, sizeof msg, "normal of vertex %zu has length %.8f", k, len);
            return msg;
        }
        if (g.camera) { /* back through the camera: the pixel this vertex was made for */
            const double su = ((double)v[0] / -v[2] / g.tan_x + 1.0) / 2, sv = (1.0 - (double)v[1] / -v[2] / g.tan_y) / 2;
            const double eu = g.u0 + (double)i * g.du, ev = g.v0 + (double)j * g.dv;
            if (fabs(su - eu) * g.width > 1e-3 || fabs(sv - ev) * g.height > 1e-3) {
                snprintf(msg, sizeof msg, "vertex (%d, %d) projects to (%.5f, %.5f), not (%.5f, %.5f)", i, j,
                         su * g.width, sv * g.height, eu * g.width, ev * g.height);
                return msg;
            }
            if (p.grid == 0 && ((int)floor(su * g.width) != i || (int)floor(sv * g.height) != j))
                return "a per-pixel vertex projects outside its pixel";
        }
    }
    for (size_t t = 0; t < b.idx.size(); t += 3) {
        for (int c = 0; c < 3; c++)
            if (b.idx[t + c] >= nv)
                return "index out of range";
        if (!(tri_area2(b.vert.data(), &b.idx[t]) > 0.0))
            return "degenerate triangle";
    }
    return "";
}

/* Tearing keeps, in order, exactly the triangles whose depth range is
 * within the threshold (z of the kernel's vertices: -z for the camera; the
 * metric depth the plane stands for, from its displacement). Triangles
 * within 1e-4 of the threshold would be decided by rounding: counted, and
 * accepted either way. */
static std::string check_tearing(const ds_mesh_grid &g, const ref_mesh &r, const built &b, int *ambiguous) {
    size_t at = 0;
    for (size_t t = 0; t < r.all.size(); t += 3) {
        double z[3];
        for (int c = 0; c < 3; c++) {
            const float *v = &b.vert[(size_t)r.all[t + c] * 8];
            const double n = g.depth_scale != 0.0f ? (double)v[2] / g.depth_scale : 0.0;
            z[c] = g.camera ? -(double)v[2]
                   : g.metric ? (double)r.z[r.all[t + c]] /* the plane does not show metres: the reference's */
                              : 1.0 / (g.inv_far + n * ((double)g.inv_near - g.inv_far));
        }
        const double zmin = fmin(z[0], fmin(z[1], z[2])), zmax = fmax(z[0], fmax(z[1], z[2]));
        const double ratio = (zmax - zmin) / zmin;
        const bool here = at < b.idx.size() && !memcmp(&b.idx[at], &r.all[t], 3 * sizeof(uint32_t));
        if (fabs(ratio - g.tear) <= 1e-4 * g.tear)
            ++*ambiguous;
        else if (here != (ratio <= g.tear))
            return here ? "a triangle over the threshold was kept" : "a triangle within the threshold was dropped";
        at += here ? 3 : 0;
    }
    return at == b.idx.size() ? "" : "kept triangles are out of order";
}

static double max_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double d = 0, ext = 1e-30;
    for (size_t k = 0; k < a.size(); k++) {
        d = fmax(d, fabs((double)a[k] - b[k]));
        ext = fmax(ext, fabs((double)b[k]));
    }
    return d / ext;
}

static const int SIZES[][2] = {{37, 23}, {23, 37}, {1, 1}, {1000, 3}, {3, 1000}, {64, 64}, {2, 1}};
static const int GRIDS[] = {128, 7, 1, 0};
static const int BLOCKS[] = {32, 64, 256};

static void run_cases(ds_mesh_projection proj, bool metric) {
    g_worst = 0;
    int cases = 0, torn = 0, ambiguous = 0;
    for (const auto &sz : SIZES)
        for (int grid : GRIDS)
            for (float tear : {0.0f, 0.05f}) {
                ds_mesh_params p = ds_mesh_default_params();
                p.projection = proj;
                p.grid = grid;
                p.tear = tear;
                p.metric = metric;
                ds_mesh_grid g;
                CHECK_OK(ds_mesh_plan(&p, sz[0], sz[1], &g));
                const std::vector<float> depth =
                    make_depth(sz[0], sz[1], (uint64_t)(sz[0] * 131 + sz[1] + grid), metric);
                ref_mesh r;
                ref_build(g, depth.data(), &r);
                /* the C path (ds_mesh_build on the CPU): the kernels' arithmetic, bit for bit */
                ds_mesh cpu;
                CHECK_OK(ds_mesh_build_cpu(&g, depth.data(), &cpu));
                const std::vector<float> cpu_vert(cpu.vertices, cpu.vertices + cpu.n_vertices * 8);
                const std::vector<uint32_t> cpu_idx(cpu.indices, cpu.indices + cpu.n_triangles * 3);
                ds_mesh_free(&cpu);
                CHECK_MSG(max_diff(cpu_vert, r.vert) <= 2e-5 && cpu_idx == r.kept,
                          "%dx%d grid %d tear %g: the CPU path differs from the reference", sz[0], sz[1], grid,
                          (double)tear);
                /* metres change the arithmetic, not the indexing: one block size */
                const size_t n_blocks = metric ? 1 : sizeof BLOCKS / sizeof *BLOCKS;
                for (size_t bi = 0; bi < n_blocks; bi++) {
                    const int block = BLOCKS[bi];
                    built b;
                    CHECK_OK(run_kernels(g, depth, block, &b));
                    cases++;
                    const double d = max_diff(b.vert, r.vert);
                    g_worst = fmax(g_worst, d);
                    CHECK_MSG(b.guards_ok, "%dx%d grid %d block %d: write outside a buffer", sz[0], sz[1], grid, block);
                    CHECK_MSG(d <= 2e-5, "%dx%d grid %d block %d: vertices differ by %.3e of the extent", sz[0],
                              sz[1], grid, block, d);
                    CHECK_MSG(b.idx == r.kept, "%dx%d grid %d tear %g block %d: %zu triangles, reference %zu", sz[0],
                              sz[1], grid, (double)tear, block, b.idx.size() / 3, r.kept.size() / 3);
                    CHECK_MSG(!cuda_is_emulated() || (b.vert == cpu_vert && b.idx == cpu_idx),
                              "%dx%d grid %d tear %g block %d: the emulated kernels and the CPU path differ", sz[0],
                              sz[1], grid, (double)tear, block);
                    const std::string geo = check_geometry(g, p, b);
                    CHECK_MSG(geo.empty(), "%dx%d grid %d tear %g: %s", sz[0], sz[1], grid, (double)tear, geo.c_str());
                    const std::string tr = tear > 0.0f ? check_tearing(g, r, b, &ambiguous) : "";
                    CHECK_MSG(tr.empty(), "%dx%d grid %d tear %g: %s", sz[0], sz[1], grid, (double)tear, tr.c_str());
                    torn += tear > 0.0f && b.idx.size() < r.all.size();
                }
            }
    CHECK_MSG(torn > 0, "tearing never dropped a triangle: the test inputs do not exercise it");
    printf("    %d cases, %d torn, %d triangles at the threshold; largest vertex difference %.2e of the extent\n",
           cases, torn, ambiguous, g_worst);
}

TEST(plane_matches_reference) { run_cases(DS_MESH_PLANE, false); }
TEST(camera_matches_reference) { run_cases(DS_MESH_CAMERA, false); }
TEST(metric_plane_matches_reference) { run_cases(DS_MESH_PLANE, true); }
TEST(metric_camera_matches_reference) { run_cases(DS_MESH_CAMERA, true); }

/* Metres in, metres out: a metric depth map (a wall 3 m away, a box 1.5 m
 * away in front of part of it) meshed by the camera projection puts every
 * per-pixel vertex at its depth, and the wall spans 2 z tan(fov / 2) along
 * the long side: its true size. Through the public ds_mesh_build. */
TEST(metric_mesh_has_true_size) {
    const int w = 40, h = 30;
    std::vector<float> depth((size_t)w * h, 3.0f);
    for (int y = 10; y < 20; y++)
        for (int x = 5; x < 15; x++)
            depth[(size_t)y * w + x] = 1.5f;
    ds_mesh_params p = ds_mesh_default_params();
    p.projection = DS_MESH_CAMERA;
    p.grid = 0;
    p.fov_deg = 60.0f;
    p.metric = 1;
    ds_mesh m;
    CHECK_OK(ds_mesh_build(depth.data(), w, h, &p, &m));
    double worst = 0;
    for (int64_t k = 0; k < m.n_vertices; k++)
        worst = fmax(worst, fabs(-(double)m.vertices[k * 8 + 2] - depth[(size_t)k]));
    /* the wall's pixel centres span (w - 1) / w of the view */
    const double span = (double)m.vertices[(w - 1) * 8] - m.vertices[0], want = 2 * 3.0 * tan(M_PI / 6) * (w - 1) / w;
    printf("    vertex depth within %.1e m of the map; the wall's row spans %.6f m (true size %.6f m)\n", worst, span,
           want);
    ds_mesh_free(&m);
    /* a pixel centre's UV in float lands ~1e-6 pixel off the centre: at the box's edge that
     * mixes in 1e-6 of the 1.5 m step */
    CHECK_MSG(worst <= 1e-5, "a vertex is %g m off its depth", worst);
    CHECK_MSG(fabs(span - want) <= 1e-5 * want, "the wall spans %g m, not %g m", span, want);
}

/* The step of make_depth separates: with tearing, no kept triangle spans it. */
TEST(tearing_separates_the_step) {
    ds_mesh_params p = ds_mesh_default_params();
    p.projection = DS_MESH_CAMERA;
    p.grid = 0;
    p.tear = 0.1f;
    ds_mesh_grid g;
    CHECK_OK(ds_mesh_plan(&p, 30, 20, &g));
    std::vector<float> depth((size_t)30 * 20);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 30; x++)
            depth[(size_t)y * 30 + x] = x < 10 ? 1.0f : 0.1f; /* near left, far right */
    built b;
    CHECK_OK(run_kernels(g, depth, 64, &b));
    const size_t all = (size_t)ds_mesh_triangle_count(&g);
    size_t spanning = 0;
    for (size_t t = 0; t < b.idx.size(); t += 3) {
        int left = 0;
        for (int c = 0; c < 3; c++)
            left += (int)(b.idx[t + c] % 30) < 10;
        spanning += left != 0 && left != 3;
    }
    CHECK_MSG(spanning == 0, "%zu kept triangles span the step", spanning);
    CHECK_MSG(b.idx.size() / 3 == all - 2 * 19, "%zu kept of %zu (the 19 cells of the step column dropped)",
              b.idx.size() / 3, all);
}

/* A depth map in host memory through the device and back (upload,
 * mesh_build_device, mesh_read_back): kernels/mesh/mesh_host.cu's sequence. */
static ds_status host_round_trip_build(const ds_mesh_grid *g, const float *depth, ds_mesh *out) {
    memset(out, 0, sizeof *out);
    const size_t npix = (size_t)g->width * g->height;
    cudaStream_t stream = NULL;
    float *d_depth = NULL;
    mesh_buffers mesh;
    uint32_t kept = 0;
    ds_status s = cuda_stream_create(&stream);
    if (s == DS_OK)
        s = cuda_malloc((void **)&d_depth, npix * sizeof(float));
    if (s == DS_OK)
        s = cuda_memcpy_async(d_depth, depth, npix * sizeof(float), cudaMemcpyHostToDevice, stream);
    if (s == DS_OK)
        s = mesh_build_device(&mesh, g, d_depth, stream, &kept);
    if (s == DS_OK)
        s = ds_mesh_alloc(out, ds_mesh_vertex_count(g), kept);
    if (s == DS_OK)
        s = mesh_read_back(&mesh, out->n_vertices, out->n_triangles, out->vertices, out->indices);
    mesh_buffers_free(&mesh);
    cuda_free(d_depth);
    cuda_stream_destroy(stream);
    if (s != DS_OK)
        ds_mesh_free(out);
    return s;
}

/* Host memory in and out: the same mesh as the reference. */
TEST(host_round_trip) {
    const std::vector<float> depth = make_depth(40, 30, 7, false);
    ds_mesh_params p = ds_mesh_default_params();
    p.grid = 16;
    p.tear = 0.05f;
    ds_mesh_grid g;
    CHECK_OK(ds_mesh_plan(&p, 40, 30, &g));
    ref_mesh r;
    ref_build(g, depth.data(), &r);
    ds_mesh m;
    CHECK_OK(host_round_trip_build(&g, depth.data(), &m));
    const bool same = m.n_vertices * 8 == (int64_t)r.vert.size() && m.n_triangles * 3 == (int64_t)r.kept.size() &&
                      !memcmp(m.indices, r.kept.data(), r.kept.size() * 4) &&
                      max_diff(std::vector<float>(m.vertices, m.vertices + m.n_vertices * 8), r.vert) <= 2e-5;
    ds_mesh_free(&m);
    CHECK_MSG(same, "the host round trip differs from the reference");
}

/* kernels/mesh/mesh_host.cu's sequence on depth maps already on the device (the
 * CUDA backend's path): each mesh the reference's, its buffers grown for a
 * bigger grid and kept, not reallocated, for smaller ones. */
TEST(device_buffers_grow_and_are_kept) {
    struct step {
        int w, h, grid;
        float tear;
    } steps[] = {{40, 30, 16, 0.05f}, {40, 30, 0, 0.05f}, {13, 11, 5, 0.0f}, {40, 30, 16, 0.05f}};
    mesh_buffers b;
    const void *largest[3] = {NULL, NULL, NULL};
    std::string failed;
    for (size_t i = 0; i < sizeof steps / sizeof *steps && failed.empty(); i++) {
        const std::vector<float> depth = make_depth(steps[i].w, steps[i].h, 11 + i, false);
        ds_mesh_params p = ds_mesh_default_params();
        p.grid = steps[i].grid;
        p.tear = steps[i].tear;
        ds_mesh_grid g;
        CHECK_OK(ds_mesh_plan(&p, steps[i].w, steps[i].h, &g));
        ref_mesh r;
        ref_build(g, depth.data(), &r);
        dev_buf<float> dd;
        uint32_t kept = 0;
        std::vector<float> vert((size_t)ds_mesh_vertex_count(&g) * 8);
        std::vector<uint32_t> idx(r.all.size() + 3);
        ds_status s = dev_alloc(&dd, depth.size());
        if (s == DS_OK)
            s = dev_upload(&dd, depth.data());
        if (s == DS_OK)
            s = mesh_build_device(&b, &g, dd.p, g_stream, &kept);
        if (s == DS_OK)
            s = mesh_read_back(&b, ds_mesh_vertex_count(&g), kept, vert.data(), idx.data());
        const bool guards = s == DS_OK && dev_guards_ok(dd);
        dev_release(&dd);
        if (s != DS_OK) {
            mesh_buffers_free(&b);
            CHECK_OK(s);
        }
        const void *now[3] = {b.vertices, b.indices, b.mesh_ws};
        if (i == 1)
            memcpy(largest, now, sizeof now);
        if ((size_t)kept * 3 != r.kept.size() || memcmp(idx.data(), r.kept.data(), r.kept.size() * 4) ||
            max_diff(vert, r.vert) > 2e-5 || !guards)
            failed = "step " + std::to_string(i) + ": the mesh differs from the reference";
        else if (i > 1 && memcmp(now, largest, sizeof now))
            failed = "step " + std::to_string(i) + ": a smaller mesh reallocated the buffers";
    }
    mesh_buffers_free(&b);
    CHECK_MSG(failed.empty(), "%s", failed.c_str());
    CHECK_MSG(!b.vertices && !b.indices && !b.vertex_floats, "mesh_buffers_free left buffers behind");
}

/* The public C API (the CPU path): the mesh, what it says about the view,
 * and one-line errors for bad parameters. */
TEST(public_api) {
    const std::vector<float> depth = make_depth(40, 30, 7, false);
    ds_mesh_params p = ds_mesh_default_params();
    ds_mesh m;
    CHECK_FAILS(ds_mesh_build(depth.data(), 40, 30, NULL, &m), DS_ERR_INVALID_ARGUMENT, "no parameters");
    p.grid = -1;
    CHECK_FAILS(ds_mesh_build(depth.data(), 40, 30, &p, &m), DS_ERR_INVALID_ARGUMENT, "grid -1");
    p = ds_mesh_default_params();
    p.near_m = 5.0f;
    p.far_m = 2.0f;
    CHECK_FAILS(ds_mesh_build(depth.data(), 40, 30, &p, &m), DS_ERR_INVALID_ARGUMENT, "0 < near < far");
    p = ds_mesh_default_params();
    CHECK_FAILS(ds_mesh_build(depth.data(), 0, 30, &p, &m), DS_ERR_INVALID_ARGUMENT, "0x30");
    p.grid = 16;
    CHECK_OK(ds_mesh_build(depth.data(), 40, 30, &p, &m));
    ds_mesh_grid g;
    CHECK_OK(ds_mesh_plan(&p, 40, 30, &g));
    ref_mesh r;
    ref_build(g, depth.data(), &r);
    const bool same = m.n_vertices * 8 == (int64_t)r.vert.size() && m.n_triangles * 3 == (int64_t)r.kept.size() &&
                      !memcmp(m.indices, r.kept.data(), r.kept.size() * 4) &&
                      max_diff(std::vector<float>(m.vertices, m.vertices + m.n_vertices * 8), r.vert) <= 2e-5;
    /* plane 4/3 m wide, 1 m high; camera at 0.5 / tan(yfov / 2) on +Z */
    const bool view = m.cols == 17 && m.rows == 13 && fabsf(m.aspect - 40.0f / 30.0f) < 1e-6f &&
                      fabsf(m.camera_z * tanf(m.yfov / 2) - 0.5f) < 1e-6f && fabsf(m.bounds_max[0] - 2.0f / 3.0f) < 1e-6f &&
                      fabsf(m.bounds_min[1] + 0.5f) < 1e-6f && m.bounds_min[2] >= 0.0f && m.bounds_max[2] <= 0.25f;
    ds_mesh_free(&m);
    ds_mesh_free(&m);
    CHECK_MSG(same, "ds_mesh_build differs from the reference");
    CHECK_MSG(view, "view or bounds wrong");
}

/* Every kernel of kernels/mesh*.cu ran (tests/cuda_kernel_test.h leaves these files to this test). */
TEST(every_mesh_kernel_ran) {
    if (!cuda_is_emulated()) {
        printf("    (emulator only: a GPU does not count launches)\n");
        return;
    }
    const char *names[] = {"mesh_vertices_kernel", "mesh_tile_count_kernel", "mesh_tile_scan_kernel",
                           "mesh_tile_write_kernel"};
    for (const char *n : names)
        CHECK_MSG(kernel_launches(n) > 0, "%s never ran", n);
    FILE *f = fopen("kernels/mesh/mesh.cu", "rb");
    CHECK_MSG(f, "cannot read kernels/mesh/mesh.cu (run from the repository root)");
    std::string src(1 << 16, '\0');
    src.resize(fread(&src[0], 1, src.size(), f));
    fclose(f);
    int found = 0;
    for (size_t at = src.find("__global__ void "); at != std::string::npos; at = src.find("__global__ void ", at + 1))
        found++;
    CHECK_MSG(found == 4, "kernels/mesh/mesh.cu has %d kernels; this test knows 4", found);
}

} // namespace DS_CUDA_NS

int main(int argc, char **argv) {
    using namespace DS_CUDA_NS;
    (void)argc;
    return cuda_test_main(argv[0], &g_stream, [] {
        RUN(plane_matches_reference);
        RUN(camera_matches_reference);
        if (!SANITIZED) { /* the same indexing as the cases above */
            RUN(metric_plane_matches_reference);
            RUN(metric_camera_matches_reference);
        }
        RUN(metric_mesh_has_true_size);
        RUN(tearing_separates_the_step);
        RUN(host_round_trip);
        RUN(device_buffers_grow_and_are_kept);
        RUN(public_api);
        RUN(every_mesh_kernel_ran);
    });
}
