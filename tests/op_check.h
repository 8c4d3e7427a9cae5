/*
 * op_check.h: compares an op's fast CPU kernel (or any other implementation)
 * with its reference kernel on random data, ggml test-backend-ops style:
 * NMSE = sum((a-b)^2) / sum(b^2), guard zones around every output that must
 * stay untouched, and the in-place variant the memory planner may choose.
 */
#ifndef DS_OP_CHECK_H
#define DS_OP_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/ops.h" /* ds_cpu_kernel, ds_node */

#ifdef __cplusplus
extern "C" {
#endif

/* A node of `op` reading value 0 (in[0]) into an (n, h, w, c) output. */
ds_node op_node(ds_op op, int64_t n, int64_t h, int64_t w, int64_t c);

/* Uniform floats in [-scale, scale), reproducible from `seed`. */
void op_random(float *dst, size_t n, uint64_t seed, float scale);

/* A buffer of n floats between two guard zones of a NaN bit pattern. */
float *op_guarded_alloc(size_t n);
int op_guards_intact(const float *p, size_t n);
void op_guarded_free(float *p);

double op_nmse(const float *a, const float *ref, size_t n);
/* sqrt(op_nmse): the relative L2 error the network tests bound. */
double op_rel_l2(const float *a, const float *ref, size_t n);

typedef struct op_check_result {
    double nmse;          /* fast vs reference */
    double nmse_inplace;  /* the same with the output on top of the allowed input (-1: n/a) */
    int guards_ok;        /* no write outside the output */
    int finite;           /* the fast output has no NaN/Inf */
} op_check_result;

/* What went wrong against `limit` on NMSE, or NULL: the guard zones, a NaN or
 * Inf, the error, the error in place. */
const char *op_check_failure(const op_check_result *r, double limit);

/*
 * Runs `node` (op, attributes and output shape filled in) with random inputs
 * of x_shape (and r_shape if r_shape != NULL) and random weight and bias of
 * w_len and b_len floats (0: none), through ds_cpu_ref_kernels and `fast`.
 * `scale_w` scales the random weights (use ~1/sqrt(fan_in)).
 */
op_check_result op_check(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                         size_t w_len, size_t b_len, float scale_w, const ds_cpu_kernel *fast,
                         int n_threads, uint64_t seed);

/* The same with all four weight slots of the node (graph.h): lens[k] random
 * floats each (0: none), slots 0 and 2 scaled by scale_w, 1 and 3 by 0.1. */
op_check_result op_check_slots(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                               const size_t lens[4], float scale_w, const ds_cpu_kernel *fast, int n_threads,
                               uint64_t seed);

/* op_check with the node's weights given: w[k] is graph.h's slot k as
 * ds_cpu_op takes it (w, b, w2, w3), NULL where absent. */
op_check_result op_check_given(const ds_node *node, const int64_t x_shape[4], const int64_t *r_shape,
                               const float *const w[4], const ds_cpu_kernel *fast, int n_threads,
                               uint64_t seed);
/* op_check_slots with 1 and 2 threads (seeds *seed, then +1 each), the
 * worst NMSE (in place or not) raised into *worst: NULL when every run is
 * within `limit`, else a message saying what went wrong (static storage). */
const char *op_check_message(const ds_node *n, const int64_t xs[4], const int64_t *rs, const size_t lens[4],
                             float scale_w, double limit, uint64_t *seed, double *worst);

/* body(isa) under every vector ISA from AVX2 up that this CPU has (cpu/isa.h;
 * the others print "SKIP test/isa: this CPU lacks it"), then the ISA that
 * was active before. */
void op_each_isa(const char *test, void (*body)(const char *isa));

#ifdef __cplusplus
}
#endif

#endif
