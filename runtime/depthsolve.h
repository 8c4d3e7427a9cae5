/*
 * depthsolve.h: public C API of libdepthsolve (MiDaS monocular depth).
 *
 * Conventions
 *  - Every function that can fail returns a ds_status. On failure,
 *    ds_last_error() returns a one-line message naming the file or object
 *    and the problem. That message is thread-local.
 *  - Handles are opaque; every *_free() accepts NULL.
 *  - The library never prints and never exits: diagnostics go to the log
 *    callback given in the params (or nowhere).
 *
 * Thread safety: functions that take no handle may be called from any
 * thread at any time. A handle may be used by one thread at a time;
 * distinct handles are independent.
 */
#ifndef DEPTHSOLVE_H
#define DEPTHSOLVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DS_VERSION_MAJOR 0
#define DS_VERSION_MINOR 1
#define DS_VERSION_PATCH 0

typedef enum ds_status {
    DS_OK = 0,
    DS_ERR_INVALID_ARGUMENT, /* a caller passed a bad parameter */
    DS_ERR_IO,               /* a file could not be opened, read or written */
    DS_ERR_FORMAT,           /* a file is malformed or truncated */
    DS_ERR_UNSUPPORTED,      /* well-formed, but a feature we do not handle */
    DS_ERR_UNSAFE,           /* a pickle asked for a global outside the allow-list */
    DS_ERR_MODEL,            /* missing, unexpected or mis-shaped tensor */
    DS_ERR_SHAPE,            /* an input shape the network does not accept */
    DS_ERR_OUT_OF_MEMORY,
    DS_ERR_DEVICE,           /* GPU runtime, driver or library failure */
    DS_ERR_INTERNAL,
    DS_STATUS_COUNT
} ds_status;

/* Short constant text for a status ("format error"). */
const char *ds_status_string(ds_status status);

/* Detail of the last failure on the calling thread ("" if none). */
const char *ds_last_error(void);

typedef enum ds_log_level {
    DS_LOG_DEBUG = 0,
    DS_LOG_INFO = 1,
    DS_LOG_WARN = 2,
    DS_LOG_ERROR = 3
} ds_log_level;

typedef void (*ds_log_fn)(ds_log_level level, const char *message, void *user);

/* ---- Model architectures ------------------------------------------------ */

typedef enum ds_arch {
    DS_ARCH_UNKNOWN = -1,
    DS_ARCH_MIDAS_V21_SMALL_256 = 0,
    DS_ARCH_MIDAS_V21_384,
    DS_ARCH_DPT_HYBRID_384,
    DS_ARCH_DPT_LARGE_384,
    DS_ARCH_COUNT
} ds_arch;

/* "midas_v21_small_256", ... ; NULL for an out-of-range value. */
const char *ds_arch_name(ds_arch arch);
/* DS_ARCH_UNKNOWN if the name is not one of ours. */
ds_arch ds_arch_from_name(const char *name);

/* ---- Checkpoint conversion ---------------------------------------------- */

typedef enum ds_weight_dtype {
    DS_WEIGHTS_F32 = 0,
    DS_WEIGHTS_F16 = 1 /* convolution and linear weights in f16, the rest f32 */
} ds_weight_dtype;

typedef struct ds_convert_params {
    ds_arch arch;          /* DS_ARCH_UNKNOWN: detect from tensor names and shapes */
    ds_weight_dtype dtype;
    ds_log_fn log;         /* may be NULL */
    void *log_user;
} ds_convert_params;

ds_convert_params ds_convert_default_params(void);

/*
 * Reads a PyTorch checkpoint (zip or legacy format) or a safetensors file,
 * checks it against the architecture, folds BatchNorm and weight
 * standardization, and writes a GGUF file. The output is written to a
 * temporary name and renamed, so it never exists half-written.
 */
ds_status ds_convert_file(const char *in_path, const char *out_path,
                          const ds_convert_params *params);

/*
 * Writes the GGUF file that converting a checkpoint of the given
 * architecture filled with the synthetic-weight formula would produce
 * (see tests/data/README.md). Needs no download.
 */
ds_status ds_synth_file(ds_arch arch, const char *out_path, const ds_convert_params *params);

#ifdef __cplusplus
}
#endif

#endif /* DEPTHSOLVE_H */
