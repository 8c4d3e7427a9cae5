/* cli_util.c: error reporting and small parsers shared by the commands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
