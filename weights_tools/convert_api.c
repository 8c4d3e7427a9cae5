/* convert_api.c: the public conversion entry points of depthsolve.h. */
#include <string.h>
#include <sys/stat.h>

#include "weights_tools/readers/checkpoint.h" /* ds_ckpt_load */
#include "weights_tools/convert.h"
#include "model/arch.h"   /* ds_arch_get */
#include "base/error.h"
#include "base/log.h"        /* ds_log */
#include "weights_tools/synth.h"      /* ds_synth_ckpt */

ds_convert_params ds_convert_default_params(void) {
    ds_convert_params p;
    memset(&p, 0, sizeof p);
    p.arch = DS_ARCH_UNKNOWN;
    p.dtype = DS_WEIGHTS_F32;
    return p;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Converts a loaded checkpoint and writes the GGUF file. Frees `ck`. */
static ds_status convert_and_write(ds_ckpt *ck, const char *label, const char *source,
                                   const char *out_path, const ds_convert_params *p) {
    ds_converted c;
    ds_status s = ds_convert_ckpt(ck, label, source, p, &c);
    if (s == DS_OK && p->arch == DS_ARCH_UNKNOWN && ds_arch_twins(c.arch) > 1 && ds_arch_get(c.arch)->net_size == 504)
        ds_log(p->log, p->log_user, DS_LOG_INFO,
               "%s: Depth Anything 3's Mono-Large and Metric-Large hold the same tensors: taken as %s (the word "
               "metric in the path picks da3metric_large); --arch names another",
               label, ds_arch_name(c.arch));
    else if (s == DS_OK && p->arch == DS_ARCH_UNKNOWN && ds_arch_twins(c.arch) > 1)
        ds_log(p->log, p->log_user, DS_LOG_INFO,
               "%s: Depth Anything V2's relative and metric models hold the same tensors: taken as %s (a word of "
               "the path picks a metric one: hypersim or indoor, vkitti or outdoor); --arch names another",
               label, ds_arch_name(c.arch));
    if (s == DS_OK) {
        ds_log(p->log, p->log_user, DS_LOG_INFO,
               "%s: %s, %zu tensors -> %zu tensors, %.1fM parameters", label,
               ds_arch_name(c.arch), ck->n_tensors, c.n_tensors, (double)c.n_params / 1e6);
        s = ds_gguf_write_file(c.writer, out_path);
    }
    ds_converted_free(&c);
    ds_ckpt_free(ck);
    return s;
}

ds_status ds_convert_file(const char *in_path, const char *out_path,
                          const ds_convert_params *params) {
    ds_convert_params p = params ? *params : ds_convert_default_params();
    if (!in_path || !out_path)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "convert: input and output paths are required");
    struct stat in_st, out_st;
    if (stat(in_path, &in_st) == 0 && stat(out_path, &out_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s: the output is the checkpoint itself, which it would replace",
                       out_path);
    ds_ckpt ck;
    DS_TRY(ds_ckpt_load(in_path, &ck));
    ds_log(p.log, p.log_user, DS_LOG_INFO, "%s: read as %s", in_path, ck.format);
    return convert_and_write(&ck, in_path, base_name(in_path), out_path, &p);
}

ds_status ds_synth_file(ds_arch arch, const char *out_path, const ds_convert_params *params) {
    ds_convert_params p = params ? *params : ds_convert_default_params();
    if (!ds_arch_name(arch))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "synth: unknown architecture id %d", (int)arch);
    if (!out_path)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "synth: an output path is required");
    p.arch = arch;
    ds_ckpt ck;
    DS_TRY(ds_synth_ckpt(arch, &ck));
    return convert_and_write(&ck, "synthetic", NULL, out_path, &p);
}
