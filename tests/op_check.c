/* op_check.c: fast-versus-reference checks of CPU kernels with guard zones. */
#include "tests/op_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/isa.h"         /* ds_cpu_isa_force */
#include "graph/planner.h" /* ds_plan_inplace_input */

enum { GUARD = 64 };
static const uint32_t GUARD_BITS = 0x7fc0dead; /* a NaN no kernel produces */

ds_node op_node(ds_op op, int64_t n, int64_t h, int64_t w, int64_t c) {
    ds_node node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.name = ds_op_name(op);
    node.in[0] = 0;
    node.in[1] = -1;
    node.shape[0] = n, node.shape[1] = h, node.shape[2] = w, node.shape[3] = c;
    return node;
}

void op_random(float *dst, size_t n, uint64_t seed, float scale) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        dst[i] = ((float)(z >> 40) * 0x1p-23f - 1.0f) * scale;
    }
}

float *op_guarded_alloc(size_t n) {
    float *p = malloc((n + 2 * GUARD) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n + 2 * GUARD; i++)
        memcpy(&p[i], &GUARD_BITS, 4);
    return p + GUARD;
}

int op_guards_intact(const float *p, size_t n) {
    for (size_t i = 0; i < GUARD; i++) {
        uint32_t a, b;
        memcpy(&a, &p[-(long)GUARD + (long)i], 4);
        memcpy(&b, &p[n + i], 4);
        if (a != GUARD_BITS || b != GUARD_BITS)
            return 0;
    }
    return 1;
}

void op_guarded_free(float *p) {
    if (p)
        free(p - GUARD);
}

double op_nmse(const float *a, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

double op_rel_l2(const float *a, const float *ref, size_t n) { return sqrt(op_nmse(a, ref, n)); }

static size_t numel(const int64_t s[4]) { return (size_t)(s[0] * s[1] * s[2] * s[3]); }

static void run(const ds_cpu_kernel *k, const ds_node *node, ds_tensor *x, ds_tensor *r, ds_tensor *y,
                const float *const w[4], int n_threads) {
    size_t scratch = k->scratch_bytes ? k->scratch_bytes(node, n_threads) : 0;
    float *s = op_guarded_alloc(scratch / sizeof(float) + 1);
    void *packed = w[0] && ds_cpu_kernel_packs(k, node, n_threads) ? k->pack(node, w[0], n_threads) : NULL;
    ds_cpu_ctx ctx = {.n_threads = n_threads, .scratch = s, .scratch_bytes = scratch};
    ds_cpu_op op = {.node = node, .x = x, .r = r, .y = y, .w = w[0], .b = w[1], .packed = packed,
                    .ctx = &ctx, .w2 = w[2], .w3 = w[3]};
    k->run(&op);
    free(packed);
    op_guarded_free(s);
}

const char *op_check_failure(const op_check_result *r, double limit) {
    return !r->guards_ok                 ? "wrote outside its output"
           : !r->finite                  ? "produced a NaN or Inf"
           : !(r->nmse <= limit)         ? "differs from the reference"
           : !(r->nmse_inplace <= limit) ? "differs in place"
                                         : NULL;
}

op_check_result op_check(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                         size_t w_len, size_t b_len, float scale_w, const ds_cpu_kernel *fast,
                         int n_threads, uint64_t seed) {
    const size_t lens[4] = {w_len, b_len, 0, 0};
    return op_check_slots(node, x_shape, r_shape, lens, scale_w, fast, n_threads, seed);
}

op_check_result op_check_slots(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                               const size_t lens[4], float scale_w, const ds_cpu_kernel *fast, int n_threads,
                               uint64_t seed) {
    float *w[4];
    for (int k = 0; k < 4; k++) { /* slots 0, 2: weights (scale_w); 1, 3: biases (0.1) */
        w[k] = lens[k] ? malloc(lens[k] * sizeof *w[k]) : NULL;
        if (w[k])
            op_random(w[k], lens[k], seed + 2 + (uint64_t)k, k % 2 ? 0.1f : scale_w);
    }
    const float *const given[4] = {w[0], w[1], w[2], w[3]};
    op_check_result res = op_check_given(node, x_shape, r_shape, given, fast, n_threads, seed);
    for (int k = 0; k < 4; k++)
        free(w[k]);
    return res;
}

op_check_result op_check_given(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                               const float *const w[4], const ds_cpu_kernel *fast, int n_threads,
                               uint64_t seed) {
    op_check_result res = {.nmse = INFINITY, .nmse_inplace = -1};
    size_t nx = numel(x_shape), nr = r_shape ? numel(r_shape) : 0, ny = numel(node->shape);
    float *xd = op_guarded_alloc(nx), *rd = r_shape ? op_guarded_alloc(nr) : NULL;
    float *y_ref = op_guarded_alloc(ny), *y_fast = op_guarded_alloc(ny);
    op_random(xd, nx, seed, 1.0f);
    if (rd)
        op_random(rd, nr, seed + 1, 1.0f);
    ds_tensor x = {xd, {x_shape[0], x_shape[1], x_shape[2], x_shape[3]}};
    ds_tensor r = {rd, {0}};
    if (r_shape)
        memcpy(r.shape, r_shape, sizeof r.shape);
    ds_tensor yr = {y_ref, {0}}, yf = {y_fast, {0}};
    memcpy(yr.shape, node->shape, sizeof yr.shape);
    memcpy(yf.shape, node->shape, sizeof yf.shape);
    run(&ds_cpu_ref_kernels[node->op], node, &x, rd ? &r : NULL, &yr, w, 1);
    run(fast, node, &x, rd ? &r : NULL, &yf, w, n_threads);
    res.nmse = op_nmse(y_fast, y_ref, ny);
    res.guards_ok = op_guards_intact(y_fast, ny) && op_guards_intact(xd, nx) &&
                    (!rd || op_guards_intact(rd, nr));
    res.finite = 1;
    for (size_t i = 0; i < ny; i++)
        res.finite &= isfinite(y_fast[i]);
    /* in place: the output written over the input the planner may hand over */
    int k = ds_plan_inplace_input(node);
    float *src = k == 0 ? xd : k == 1 ? rd : NULL;
    size_t nsrc = k == 0 ? nx : nr;
    if (src && nsrc == ny) {
        ds_tensor yi = {src, {0}};
        memcpy(yi.shape, node->shape, sizeof yi.shape);
        run(fast, node, &x, rd ? &r : NULL, &yi, w, n_threads);
        res.nmse_inplace = op_nmse(src, y_ref, ny);
        res.guards_ok &= op_guards_intact(src, ny);
    }
    op_guarded_free(xd);
    op_guarded_free(rd);
    op_guarded_free(y_ref);
    op_guarded_free(y_fast);
    return res;
}

const char *op_check_message(const ds_node *n, const int64_t xs[4], const int64_t *rs, const size_t lens[4],
                             float scale_w, double limit, uint64_t *seed, double *worst) {
    static char msg[320];
    for (int threads = 1; threads <= 2; threads++) {
        op_check_result r = op_check_slots(n, xs, rs, lens, scale_w, &ds_cpu_fast_kernels[n->op], threads, (*seed)++);
        double e = r.nmse > r.nmse_inplace ? r.nmse : r.nmse_inplace;
        if (e > *worst)
            *worst = e;
        const char *what = op_check_failure(&r, limit);
        if (what) {
            snprintf(msg, sizeof msg,
                     "%s %lldx%lldx%lldx%lld from %lldx%lldx%lldx%lld, %d thread(s): %s "
                     "(NMSE %.3g, in place %.3g, limit %.1g)",
                     n->name, (long long)n->shape[0], (long long)n->shape[1], (long long)n->shape[2],
                     (long long)n->shape[3], (long long)xs[0], (long long)xs[1], (long long)xs[2], (long long)xs[3],
                     threads, what, r.nmse, r.nmse_inplace, limit);
            return msg;
        }
    }
    return NULL;
}

void op_each_isa(const char *test, void (*body)(const char *isa)) {
    const ds_cpu_isa was = ds_cpu_isa_active();
    for (int isa = DS_ISA_AVX2; isa < DS_ISA_COUNT; isa++) {
        const char *name = ds_cpu_isa_name((ds_cpu_isa)isa);
        if (!ds_cpu_isa_supported((ds_cpu_isa)isa)) {
            printf("SKIP %s/%s: this CPU lacks it\n", test, name);
            continue;
        }
        ds_cpu_isa_force((ds_cpu_isa)isa);
        body(name);
    }
    ds_cpu_isa_force(was);
}
