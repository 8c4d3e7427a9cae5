/*
 * ref_case.h: what a reference case's dumped tensor is judged against, as
 * tests/data/reference/REFERENCE_README.md ("Tolerances") says:
 *  - NAME.npy, float32 PyTorch, at relative L2 <= 1e-4;
 *  - or, where float32 PyTorch itself is further than 3e-5 from the float64
 *    truth (f64/torch32_err.json; the ill-conditioned synthetic LeViT),
 *    f64/NAME.npy within 3 x that tensor's torch32_err.
 */
#ifndef DS_TEST_REF_CASE_H
#define DS_TEST_REF_CASE_H

#include <stddef.h>

/* The float32 bound of every network test. */
#define REF_CASE_TOLERANCE 1e-4

/* For tensor `name` of case directory `dir`: the reference file to compare
 * with (path, n bytes) and the bound on the relative L2 error. 0 when the
 * case has no reference for it (a stage not dumped for this model). */
int ref_case_target(const char *dir, const char *name, char *path, size_t n, double *bound);

/* 3 x torch32_err of `name` in dir/f64/torch32_err.json, or 0 if not listed
 * (the pipeline cases are judged with the net case's output error). */
double ref_case_torch32_bound(const char *dir, const char *name);

/* The bound on a pipeline case's depth map of the model whose reference
 * directory is `model_dir` (tests/data/reference/<model>): 1e-4, or 3 x the
 * output's torch32_err of its net case where that is larger (LeViT). */
double ref_case_pipeline_bound(const char *model_dir);

#endif
