/*
 * depth_inputs.h: the list of photos a depth run processes.
 *
 * INPUTs are files (taken whatever their name) or directories (their .png,
 * .jpg and .jpeg files, hidden files skipped; -r descends into
 * sub-directories, whose structure the outputs mirror, and -L also into
 * links to directories). The list is sorted by path, so --shard I/N picks
 * the same slice on every machine.
 */
#ifndef DS_DEPTH_INPUTS_H
#define DS_DEPTH_INPUTS_H

#include <stddef.h>

#include "depthsolve.h" /* ds_status */

typedef struct ds_input {
    char *path; /* as found: "photos/2024/a.jpg" */
    char *rel;  /* output name without extension, relative to OUTDIR: "2024/a" */
    int from_dir; /* found in a directory, not named on the command line */
} ds_input;

typedef struct ds_input_list {
    ds_input *items;
    size_t n, cap;
    char **problems; /* inputs that could not be listed, one message each */
    size_t n_problems;
} ds_input_list;

enum {
    DS_INPUTS_RECURSIVE = 1,    /* -r: descend into sub-directories */
    DS_INPUTS_FOLLOW_LINKS = 2, /* -L: also into links to directories (each directory once) */
};

/* The photos of args (files and directories) as `flags` say. A directory
 * reached twice (two links, or a link to a directory above) is listed once;
 * the second time is a problem noted in the list. */
ds_status ds_inputs_collect(ds_input_list *list, char *const *args, int n_args, int flags);
/* Keeps the shard-th of n_shards contiguous slices (0-based) of the sorted list. */
void ds_inputs_shard(ds_input_list *list, int shard, int n_shards);
/* Drops the PNGs found in directories that are named as model_name's depth
 * maps ("a-<model>.png"): with -o inside an input folder, a rerun does not
 * take its own outputs for photos. Files named on the command line stay. */
void ds_inputs_drop_outputs(ds_input_list *list, const char *model_name);
void ds_inputs_free(ds_input_list *list);

/* "I/N" with 0 <= I < N; 0 if malformed. */
int ds_parse_shard(const char *s, int *shard, int *n_shards);

#endif
