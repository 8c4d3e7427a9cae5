/* device.c: DS_DEVICE_AUTO and the concrete devices. */
#include "base/device.h"

#include "base/error.h" /* ds_fail, ds_last_error */
#include "base/log.h"   /* ds_log */

ds_status ds_device_open(ds_device want, ds_device_open_fn open, void *ctx, ds_log_fn log, void *log_user,
                         const char *what) {
    switch (want) {
    case DS_DEVICE_CPU:
    case DS_DEVICE_CUDA:
    case DS_DEVICE_CUDA_EMU:
        return open(ctx, want);
    case DS_DEVICE_AUTO:
        if (open(ctx, DS_DEVICE_CUDA) == DS_OK)
            return DS_OK;
        ds_log(log, log_user, DS_LOG_INFO, "%s: using the CPU (%s)", what, ds_last_error());
        return open(ctx, DS_DEVICE_CPU);
    }
    return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: unknown device %d", what, (int)want);
}
