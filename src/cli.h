/* cli.h: the subcommands of the depthsolve program and shared CLI helpers. */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <stdio.h>

#include "depthsolve.h" /* ds_status, ds_arch, ds_log_level */

/* Exit codes shared by every command. */
enum { DS_EXIT_OK = 0, DS_EXIT_FAILED = 1, DS_EXIT_USAGE = 2 };

typedef struct ds_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} ds_cli_command;

extern const ds_cli_command ds_cli_commands[]; /* NULL-terminated, in cli_commands.c */

int ds_cmd_convert(int argc, char **argv);
int ds_cmd_synth(int argc, char **argv);
int ds_cmd_info(int argc, char **argv);
int ds_cmd_net(int argc, char **argv);
int ds_cmd_bench(int argc, char **argv);
int ds_cmd_fetch(int argc, char **argv);
int ds_cmd_depth(int argc, char **argv);
int ds_cmd_mesh(int argc, char **argv);
int ds_cmd_animate(int argc, char **argv);

/* Prints "depthsolve <cmd>: <ds_last_error()>" to stderr; returns DS_EXIT_FAILED. */
int ds_cli_report(const char *cmd, ds_status status);
/* Prints "depthsolve <cmd>: <message>" and a hint to stderr; returns DS_EXIT_USAGE. */
int ds_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Library log messages to stderr ("depthsolve: ..."), info and up unless quiet. */
void ds_cli_log(ds_log_level level, const char *message, void *user);
/* Parses an architecture name or "auto" (-> DS_ARCH_UNKNOWN); 0 if not one. */
int ds_cli_parse_arch(const char *s, ds_arch *out);
/* "auto", "cpu", "cuda", "cuda:N", "cuda-emu"; 0 if not one. */
int ds_cli_parse_device(const char *s, ds_device *out, int *index);
/* A finite number in [lo, hi], or an integer in [lo, hi]; 0 if the whole
 * string is not one. */
int ds_cli_parse_float(const char *s, double lo, double hi, float *out);
int ds_cli_parse_int(const char *s, long lo, long hi, int *out);
/* "fp32", "tf32" or "fp16"; 0 if not one. */
int ds_cli_parse_precision(const char *s, ds_precision *out);
/* Seconds on a monotonic clock, for durations. */
double ds_cli_seconds(void);
/* Resident memory of this process now (VmRSS), in KiB; 0 where /proc is unavailable. */
long ds_cli_rss_kib(void);
/* The name ds_cli_parse_precision reads. */
const char *ds_cli_precision_name(ds_precision p);
/* A positive thread count; 0 if not one. */
int ds_cli_parse_threads(const char *s, int *out);
/* One line on how the CPU backend runs here (ds_cpu_get_info): threads and
 * why (`asked`: --threads, 0 for the default), kernels and why, the CPU's
 * features. */
ds_status ds_cli_print_cpu(FILE *f, int asked);

#endif
