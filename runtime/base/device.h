/* device.h: what a ds_device asks for, opened the same way by the engine
 * and by the scene renderer. */
#ifndef DS_DEVICE_H
#define DS_DEVICE_H

#include "depthsolve.h" /* ds_device, ds_status, ds_log_fn */

/* Opens one concrete device: DS_DEVICE_CPU, DS_DEVICE_CUDA or DS_DEVICE_CUDA_EMU. */
typedef ds_status (*ds_device_open_fn)(void *ctx, ds_device which);

/* Opens `want` through `open`. DS_DEVICE_AUTO opens CUDA, else the CPU,
 * with one INFO line to `log` saying why the GPU is not used (`what`
 * names the caller: "device auto", "scene"). An unknown value is
 * DS_ERR_INVALID_ARGUMENT. */
ds_status ds_device_open(ds_device want, ds_device_open_fn open, void *ctx, ds_log_fn log, void *log_user,
                         const char *what);

#endif
