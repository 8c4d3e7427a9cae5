/* error.h: thread-local error detail behind ds_last_error(). */
#ifndef DS_ERROR_H
#define DS_ERROR_H

#include "depthsolve.h" /* ds_status */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DS_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define DS_PRINTF(fmt_idx, arg_idx)
#endif

/* Records a one-line message for ds_last_error() and returns `status`,
 * so failures read `return ds_fail(DS_ERR_FORMAT, "%s: bad magic", path);`. */
ds_status ds_fail(ds_status status, const char *fmt, ...) DS_PRINTF(2, 3);

/* Prefixes the current message with "<context>: " (e.g. a file name added
 * by an outer layer) and returns `status` unchanged. */
ds_status ds_fail_context(ds_status status, const char *fmt, ...) DS_PRINTF(2, 3);

void ds_clear_error(void);

/* Control characters in s (a newline in a file name) become '?', so that a
 * message naming the file stays one line. ds_fail applies it. */
void ds_one_line(char *s);

/* Propagates a failure: `DS_TRY(read_header(f));` */
#define DS_TRY(expr)                     \
    do {                                 \
        ds_status ds_try_s_ = (expr);    \
        if (ds_try_s_ != DS_OK)          \
            return ds_try_s_;            \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
