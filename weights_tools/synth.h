/*
 * synth.h: the synthetic-weight formula of the reference data
 * (tests/data/reference/REFERENCE_README.md): every state_dict value is a
 * function of its key and element index, so tests regenerate exactly the
 * weights PyTorch ran with.
 */
#ifndef DS_SYNTH_H
#define DS_SYNTH_H

#include <stdint.h>

#include "weights_tools/readers/checkpoint.h" /* ds_ckpt */
#include "depthsolve.h" /* ds_arch */

/* FNV-1a 64 of the key's bytes. */
uint64_t ds_synth_seed(const char *key);
/* splitmix64 of element i, mapped to a float in [-1, 1). */
float ds_synth_uniform(uint64_t seed, uint64_t i);
/* The formula's float32 value of element i of tensor `key` (ndim, shape). */
float ds_synth_value(const char *key, int ndim, const int64_t *shape, uint64_t seed, uint64_t i);
/* All elements of tensor `key` (numel of shape floats). */
void ds_synth_fill(const char *key, int ndim, const int64_t *shape, float *out);
/* The same from another seed (a salted key's: other values, same rule). */
void ds_synth_fill_seeded(const char *key, int ndim, const int64_t *shape, uint64_t seed, float *out);

/* The raw state_dict of `arch` filled with the formula (num_batches_tracked = 0). */
ds_status ds_synth_ckpt(ds_arch arch, ds_ckpt *out);

/* Network input of case net_HxW: 2 * u for key "input:HxW", NCHW 1x3xHxW. */
void ds_synth_input(int h, int w, float *out);

#endif
