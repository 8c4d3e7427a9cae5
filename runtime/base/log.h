/* log.h: forwards library diagnostics to the caller's log callback, if any. */
#ifndef DS_LOG_H
#define DS_LOG_H

#include "depthsolve.h" /* ds_log_fn, ds_log_level */

void ds_log(ds_log_fn fn, void *user, ds_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
