/* cli_batch.h: the command-line options `depth` and `mesh` share (the photo
 * batch and the engine it runs). */
#ifndef DS_CLI_BATCH_H
#define DS_CLI_BATCH_H

#include "depth_batch.h" /* ds_batch_opts */
#include "depthsolve.h"  /* ds_engine_params */

/* Where the shared options land in a command's own arguments. */
typedef struct ds_batch_cli {
    ds_engine_params *engine;
    ds_batch_opts *batch;
    int *shard, *n_shards, *quiet;
} ds_batch_cli;

enum { DS_CLI_NOT_MINE = -1 };

/* Handles getopt_long's `c` if it is a shared option: --square (S),
 * --height (H), --overwrite (O), --shard (x), --max-pixels (p), --device (d),
 * --threads (t), --no-autotune (A), -q. Returns DS_CLI_NOT_MINE for any other
 * option, else 0, or DS_EXIT_USAGE after a one-line message naming `cmd`. */
int ds_cli_batch_option(const char *cmd, int c, const char *arg, const ds_batch_cli *b);

#endif
