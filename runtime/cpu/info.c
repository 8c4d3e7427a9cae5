/* cpu/info.c: ds_cpu_get_info (depthsolve.h), what `bench` and `info` print. */
#include <stdio.h>
#include <string.h>

#include "base/cpus.h"  /* ds_default_threads */
#include "base/error.h" /* ds_fail */
#include "cpu/isa.h"    /* ds_cpu_isa_select, ds_cpu_features */

ds_status ds_cpu_get_info(ds_cpu_info *out) {
    if (!out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "cpu_info: NULL argument");
    memset(out, 0, sizeof *out);
    out->default_threads = ds_default_threads(out->threads_why, sizeof out->threads_why);
    DS_TRY(ds_cpu_isa_select(out->isa_why, sizeof out->isa_why));
    snprintf(out->isa, sizeof out->isa, "%s", ds_cpu_isa_name(ds_cpu_isa_active()));
    ds_cpu_features(out->features, sizeof out->features);
    return DS_OK;
}
