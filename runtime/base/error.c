/* error.c: status strings and the thread-local last-error message. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { DS_ERROR_MSG_MAX = 1024 };

static _Thread_local char last_error[DS_ERROR_MSG_MAX];

const char *ds_status_string(ds_status status) {
    switch (status) {
    case DS_OK: return "ok";
    case DS_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DS_ERR_IO: return "i/o error";
    case DS_ERR_FORMAT: return "format error";
    case DS_ERR_UNSUPPORTED: return "unsupported";
    case DS_ERR_UNSAFE: return "unsafe content refused";
    case DS_ERR_MODEL: return "model mismatch";
    case DS_ERR_SHAPE: return "shape not accepted";
    case DS_ERR_OUT_OF_MEMORY: return "out of memory";
    case DS_ERR_DEVICE: return "device error";
    case DS_ERR_INTERNAL: return "internal error";
    case DS_STATUS_COUNT: break;
    }
    return "unknown status";
}

const char *ds_last_error(void) { return last_error; }

void ds_clear_error(void) { last_error[0] = '\0'; }

void ds_one_line(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

ds_status ds_fail(ds_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    ds_one_line(last_error);
    return status;
}

ds_status ds_fail_context(ds_status status, const char *fmt, ...) {
    char old[DS_ERROR_MSG_MAX];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    /* copied by hand: snprintf here trips gcc's -Wformat-truncation at -O1 */
    if (n >= 0 && (size_t)n + 3 <= sizeof last_error) {
        size_t at = (size_t)n;
        size_t keep = strnlen(old, sizeof last_error - at - 3);
        memcpy(last_error + at, ": ", 2);
        memcpy(last_error + at + 2, old, keep);
        last_error[at + 2 + keep] = '\0';
    }
    ds_one_line(last_error);
    return status;
}
