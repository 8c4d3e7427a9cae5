/*
 * net_stages.h: a network's named stage outputs (ds_engine_run_stages)
 * against the PyTorch dumps of a reference case folder
 * (tests/data/reference/<model>/net_HxW): relative L2 per tensor, the worst,
 * and the first failure. A case folder that keeps only what differs from a
 * twin (same_as.json, Depth Anything V2's metric models) is read through
 * the twin's folder; token sequences (1, 1, T, C), which the callback gives
 * as (1, C, 1, T), are compared as the reference stores them, (1, T, C).
 */
#ifndef DS_TEST_NET_STAGES_H
#define DS_TEST_NET_STAGES_H

#include <stddef.h>

typedef struct net_stages {
    char dir[256], twin[560]; /* the case folder; same_as.json's folder, or "" */
    double tolerance;
    int n_stages;
    double worst;
    char failure[512];
} net_stages;

/* A check of the case folder `dir`, failing above `tolerance`. */
void net_stages_init(net_stages *c, const char *dir, double tolerance);
/* `name`.npy of `dir` (NULL: the case folder; else, e.g., its f64/), or the twin's. */
void net_stages_compare(net_stages *c, const char *dir, const char *label, const char *name, const float *data,
                        size_t n);
/* A ds_stage_fn: user is the net_stages. */
void net_stages_on_stage(const char *name, const float *nchw, int channels, int height, int width, void *user);

#endif
