/*
 * depth_batch.h: the photo -> depth pipeline of `depthsolve depth` over a list
 * of photos, in three threads so decoding and writing hide behind the network:
 *
 *   reader:  decode photo i+1 .. i+2 (skips photos whose outputs exist)
 *   main:    resize + normalize + network on photo i (or a sink's solve)
 *   writer:  bicubic back to the photo's size, write outputs of photo i-1 ..
 *
 * A photo that fails (unreadable, corrupt, unwritable output) is reported and
 * the batch goes on. Every file is written under a temporary name and renamed.
 */
#ifndef DS_DEPTH_BATCH_H
#define DS_DEPTH_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "src/depth_inputs.h"  /* ds_input_list */
#include "src/depth_outputs.h" /* ds_output_opts */
#include "depthsolve.h"    /* ds_engine, ds_solve_params */
#include "src/io/image.h"         /* ds_image */

/* Another command's outputs of each photo in place of the depth outputs
 * (`depthsolve mesh`): called on the writer thread with the depth map at the
 * photo's size. */
typedef struct ds_batch_sink {
    const char *cmd; /* the command named in messages */
    int (*exists)(void *user, const char *rel);
    ds_status (*write)(void *user, const char *rel, const ds_image *photo, const float *depth, int width,
                       int height, const ds_extras *extras); /* extras: what the run gave beside the depth */
    void *user;
    /* Optional: the main thread's step in place of resize + normalize +
     * network, for a sink that takes the whole photo to the engine
     * (`depthsolve mesh` on a CUDA backend: the mesh built on the device);
     * on success *result goes to write_result on the writer thread, which
     * releases it, instead of a depth map to write. */
    ds_status (*solve)(void *user, ds_engine *engine, const ds_image *photo, const ds_solve_params *params,
                       void **result);
    ds_status (*write_result)(void *user, const char *rel, const ds_image *photo, void *result);
} ds_batch_sink;

typedef struct ds_batch_opts {
    ds_engine *engine;
    const ds_batch_sink *sink; /* NULL: the depth outputs of `out` */
    ds_solve_params solve;
    ds_output_opts out;
    int overwrite;      /* rewrite photos whose outputs all exist */
    int progress;       /* a progress line on stderr */
    int64_t max_pixels; /* decoder limit */
    /* Depth Anything 3's metric model takes each photo's focal length from
     * fov_deg (--fov, along the long side; 0: not given), else the photo's
     * EXIF, else camera_engine's estimate (--camera-model), else
     * DS_DEFAULT_FOV_DEG; a line on stderr says which unless quiet. */
    float fov_deg;
    ds_engine *camera_engine;
    int quiet;
} ds_batch_opts;

typedef struct ds_batch_result {
    size_t written, skipped, failed;
    size_t *failed_at, n_failed_at; /* the failed photos' indexes in the input list, in order */
    double wall_seconds, network_seconds; /* network: resize + normalize + the engine queue's submit and collect (or the sink's solve) */
} ds_batch_result;

/* Runs the batch; failures are printed to stderr as they happen, one line each. */
void ds_batch_run(const ds_batch_opts *o, const ds_input_list *inputs, ds_batch_result *r);
void ds_batch_result_free(ds_batch_result *r);

#endif
