/* cli_batch.c: see cli_batch.h. */
#include "src/cli_batch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"        /* ds_one_line */
#include "src/cli.h"          /* ds_cli_usage_error, ds_cli_parse_device */
#include "src/depth_inputs.h" /* ds_parse_shard */
#include "src/model_store.h"  /* ds_open_model */

static int parse_long(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int ds_cli_batch_option(const char *cmd, int c, const char *arg, const ds_batch_cli *b) {
    long long v;
    switch (c) {
    case 'S': b->batch->solve.square = 1; return 0;
    case 'H':
        if (!parse_long(arg, 32, 8192, &v))
            return ds_cli_usage_error(cmd, "--height takes 32 to 8192");
        b->batch->solve.height = (int)v;
        return 0;
    case 'I': /* the model checks it against its own multiple */
        if (!parse_long(arg, 14, 8192, &v))
            return ds_cli_usage_error(cmd, "--input-size takes 14 to 8192");
        b->batch->solve.height = (int)v;
        return 0;
    case 'O': b->batch->overwrite = 1; return 0;
    case 'x':
        if (!ds_parse_shard(arg, b->shard, b->n_shards))
            return ds_cli_usage_error(cmd, "--shard takes I/N with 0 <= I < N");
        return 0;
    case 'p':
        if (!parse_long(arg, 1, INT64_MAX, &v))
            return ds_cli_usage_error(cmd, "--max-pixels takes a positive number");
        b->batch->max_pixels = v;
        return 0;
    case 'd':
        if (!ds_cli_parse_device(arg, &b->engine->device, &b->engine->device_index))
            return ds_cli_usage_error(cmd, "unknown device '%s'", arg);
        return 0;
    case 't':
        if (!ds_cli_parse_threads(arg, &b->engine->n_threads))
            return ds_cli_usage_error(cmd, "--threads takes 1 to 1024");
        return 0;
    case 'A': b->engine->autotune = 0; return 0;
    case 'Y':
        if (!ds_cli_parse_precision(arg, &b->engine->precision))
            return ds_cli_usage_error(cmd, "--precision takes fp32, tf32, fp16 or bf16");
        return 0;
    case 'q': *b->quiet = 1; return 0;
    default: return DS_CLI_NOT_MINE;
    }
}

static int check_model(const char *cmd, ds_engine *engine, const ds_solve_params *solve) {
    int w, h;
    ds_status s = ds_engine_input_size(engine, 1, 1, solve, &w, &h);
    return s == DS_OK ? DS_EXIT_OK : ds_cli_report(cmd, s);
}

int ds_cli_batch_open(const char *cmd, const char *model, ds_engine_params *params, int *quiet,
                      const ds_solve_params *solve, ds_engine **out) {
    *out = NULL;
    params->log = ds_cli_log;
    params->log_user = quiet;
    ds_engine *e;
    ds_status s = ds_open_model(model, params, &e);
    if (s != DS_OK)
        return ds_cli_report(cmd, s);
    int rc = check_model(cmd, e, solve);
    if (rc != DS_EXIT_OK) {
        ds_engine_free(e);
        return rc;
    }
    *out = e;
    return DS_EXIT_OK;
}

int ds_cli_batch_inputs(const char *cmd, char **paths, int n_paths, int walk_flags, int shard,
                        int n_shards, ds_input_list *out) {
    ds_status s = ds_inputs_collect(out, paths, n_paths, walk_flags);
    if (s != DS_OK)
        return ds_cli_report(cmd, s);
    for (size_t i = 0; i < out->n_problems; i++)
        fprintf(stderr, "depthsolve %s: %s\n", cmd, out->problems[i]);
    ds_inputs_shard(out, shard, n_shards);
    if (out->n == 0 && !out->n_problems)
        fprintf(stderr, "depthsolve %s: warning: no photos (.png, .jpg, .jpeg) in the inputs%s\n", cmd,
                walk_flags & DS_INPUTS_RECURSIVE ? "" : " (use -r for sub-directories)");
    return DS_EXIT_OK;
}

/* Names shown in the summary's list of failed photos; the rest are counted. */
enum { SUMMARY_NAMES = 20 };

void ds_cli_batch_summary(const char *cmd, const ds_batch_result *r, const ds_input_list *inputs) {
    fprintf(stderr, "depthsolve %s: %zu written, %zu skipped (outputs exist), %zu failed in %.1f s", cmd,
            r->written, r->skipped, r->failed + inputs->n_problems, r->wall_seconds);
    if (r->written && r->wall_seconds > 0)
        fprintf(stderr, " (%.2f images/s, network %.0f%% of the time)", r->written / r->wall_seconds,
                100 * r->network_seconds / r->wall_seconds);
    fprintf(stderr, "\n");
    if (!r->n_failed_at)
        return;
    fprintf(stderr, "depthsolve %s: failed:", cmd);
    for (size_t i = 0; i < r->n_failed_at && i < SUMMARY_NAMES; i++) {
        char name[4096];
        snprintf(name, sizeof name, "%s", inputs->items[r->failed_at[i]].path);
        ds_one_line(name);
        fprintf(stderr, "%s %s", i ? "," : "", name);
    }
    if (r->n_failed_at > SUMMARY_NAMES)
        fprintf(stderr, " and %zu more", r->n_failed_at - SUMMARY_NAMES);
    fprintf(stderr, "\n");
}
