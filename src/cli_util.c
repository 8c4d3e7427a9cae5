/* cli_util.c: error reporting and small parsers shared by the commands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/cli.h"
#include "base/error.h" /* ds_fail */

int ds_cli_report(const char *cmd, ds_status status) {
    const char *msg = ds_last_error();
    fprintf(stderr, "depthsolve %s: %s\n", cmd, msg[0] ? msg : ds_status_string(status));
    return DS_EXIT_FAILED;
}

int ds_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "depthsolve %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'depthsolve %s --help')\n", cmd);
    va_end(ap);
    return DS_EXIT_USAGE;
}

void ds_cli_log(ds_log_level level, const char *message, void *user) {
    int quiet = user ? *(const int *)user : 0;
    if (level < DS_LOG_INFO || (quiet && level < DS_LOG_WARN))
        return;
    fprintf(stderr, "depthsolve: %s%s\n", level >= DS_LOG_WARN ? "warning: " : "", message);
}

int ds_cli_parse_arch(const char *s, ds_arch *out) {
    if (!strcmp(s, "auto")) {
        *out = DS_ARCH_UNKNOWN;
        return 1;
    }
    *out = ds_arch_from_name(s);
    return *out != DS_ARCH_UNKNOWN;
}

int ds_cli_parse_device(const char *s, ds_device *out, int *index) {
    *index = 0;
    if (!strcmp(s, "auto"))
        *out = DS_DEVICE_AUTO;
    else if (!strcmp(s, "cpu"))
        *out = DS_DEVICE_CPU;
    else if (!strcmp(s, "cuda-emu"))
        *out = DS_DEVICE_CUDA_EMU;
    else if (!strcmp(s, "cuda"))
        *out = DS_DEVICE_CUDA;
    else if (!strncmp(s, "cuda:", 5)) {
        char *end;
        long v = strtol(s + 5, &end, 10);
        if (end == s + 5 || *end || v < 0 || v > 255)
            return 0;
        *out = DS_DEVICE_CUDA;
        *index = (int)v;
    } else
        return 0;
    return 1;
}

int ds_cli_parse_float(const char *s, double lo, double hi, float *out) {
    char *end;
    const double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi)
        return 0;
    *out = (float)v;
    return 1;
}

int ds_cli_parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    const long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

int ds_cli_parse_precision(const char *s, ds_precision *out) {
    if (!strcmp(s, "fp32"))
        *out = DS_PRECISION_FP32;
    else if (!strcmp(s, "tf32"))
        *out = DS_PRECISION_TF32;
    else if (!strcmp(s, "fp16"))
        *out = DS_PRECISION_FP16;
    else if (!strcmp(s, "bf16"))
        *out = DS_PRECISION_BF16;
    else
        return 0;
    return 1;
}

double ds_cli_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

long ds_cli_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

const char *ds_cli_precision_name(ds_precision p) {
    return p == DS_PRECISION_TF32   ? "tf32"
           : p == DS_PRECISION_FP16 ? "fp16"
           : p == DS_PRECISION_BF16 ? "bf16"
                                    : "fp32";
}

int ds_cli_parse_threads(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 1024)
        return 0;
    *out = (int)v;
    return 1;
}

ds_status ds_cli_print_cpu(FILE *f, int asked) {
    ds_cpu_info c;
    DS_TRY(ds_cpu_get_info(&c));
    if (asked)
        fprintf(f, "CPU: %d thread%s (--threads; default %d: %s), %s kernels (%s); %s\n", asked,
                asked == 1 ? "" : "s", c.default_threads, c.threads_why, c.isa, c.isa_why, c.features);
    else
        fprintf(f, "CPU: %d thread%s (%s), %s kernels (%s); %s\n", c.default_threads,
                c.default_threads == 1 ? "" : "s", c.threads_why, c.isa, c.isa_why, c.features);
    return DS_OK;
}
