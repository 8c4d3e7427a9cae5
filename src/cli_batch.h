/* cli_batch.h: the command-line options `depth` and `mesh` share (the photo
 * batch and the engine it runs). */
#ifndef DS_CLI_BATCH_H
#define DS_CLI_BATCH_H

#include <stddef.h>

#include "src/depth_batch.h"  /* ds_batch_opts, ds_batch_result */
#include "src/depth_inputs.h" /* ds_input_list */
#include "depthsolve.h"   /* ds_engine_params */

/* Where the shared options land in a command's own arguments. */
typedef struct ds_batch_cli {
    ds_engine_params *engine;
    ds_batch_opts *batch;
    int *shard, *n_shards, *quiet;
} ds_batch_cli;

enum { DS_CLI_NOT_MINE = -1 };

/* The getopt_long entries of the options ds_cli_batch_option handles
 * (--shard aside: only the batch commands take it), and of -m/-o/-q/-h,
 * for a command's option table. */
#define DS_CLI_ENGINE_OPTIONS                                                                          \
    {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},                      \
        {"square", no_argument, 0, 'S'}, {"height", required_argument, 0, 'H'},                       \
        {"overwrite", no_argument, 0, 'O'}, {"max-pixels", required_argument, 0, 'p'},                \
        {"device", required_argument, 0, 'd'}, {"threads", required_argument, 0, 't'},                \
        {"no-autotune", no_argument, 0, 'A'}, {"precision", required_argument, 0, 'Y'},               \
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},                                \
        {"input-size", required_argument, 0, 'I'}

/* Handles getopt_long's `c` if it is a shared option: --square (S),
 * --height (H), --input-size (I: Depth Anything's run.py name for the
 * network size, the short side), --overwrite (O), --shard (x), --max-pixels (p), --device (d),
 * --threads (t), --no-autotune (A), --precision (Y), -q. Returns DS_CLI_NOT_MINE for any other
 * option, else 0, or DS_EXIT_USAGE after a one-line message naming `cmd`. */
int ds_cli_batch_option(const char *cmd, int c, const char *arg, const ds_batch_cli *b);

/* The photos of `paths` (files and folders; -r, -L: DS_INPUTS_* walk_flags),
 * this shard's slice; problems of the listing printed one line each, a
 * warning when there are no photos. DS_OK, or the error (printed) as an
 * exit status. */
int ds_cli_batch_inputs(const char *cmd, char **paths, int n_paths, int walk_flags, int shard,
                        int n_shards, ds_input_list *out);
/* The engine of `model` (a path or a name, ds_open_model), logging through
 * ds_cli_log (silent while *quiet), checked to take the batch's size options
 * (--height does not apply to a fixed-size network): DS_EXIT_OK and *out, or
 * the error printed (one line) as an exit status and *out NULL. */
int ds_cli_batch_open(const char *cmd, const char *model, ds_engine_params *params, int *quiet,
                      const ds_solve_params *solve, ds_engine **out);
/* "<cmd>: N written, N skipped (outputs exist), N failed in S s (I images/s,
 * network P% of the time)" on stderr, then "<cmd>: failed: PATH, PATH, ..."
 * naming the photos that failed (20, then a count). */
void ds_cli_batch_summary(const char *cmd, const ds_batch_result *r, const ds_input_list *inputs);

#endif
