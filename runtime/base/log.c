/* log.c: formats a message and hands it to the callback (no callback: dropped). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

void ds_log(ds_log_fn fn, void *user, ds_log_level level, const char *fmt, ...) {
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(level, msg, user);
}
