/* model_store.c: model names, the model store, on-the-fly conversion, downloads. */
#include "src/model_store.h"
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/cli.h"   /* ds_mkdirs */
#include "base/error.h" /* ds_fail */

/* Where each architecture's official checkpoint is published, its file
 * name there, and the licence of its weights. */
typedef struct model_source {
    const char *url_dir; /* the file is url_dir/file (url_dir/remote when set) */
    const char *file;    /* its name in the model store */
    const char *licence;
    const char *remote;  /* the name on the server when several share it (model.safetensors), or NULL */
} model_source;

#define MIDAS_V21 "https://github.com/isl-org/MiDaS/releases/download/v2_1"
#define MIDAS_V3 "https://github.com/isl-org/MiDaS/releases/download/v3"
#define MIDAS_V31 "https://github.com/isl-org/MiDaS/releases/download/v3_1"
#define DAV2 "https://huggingface.co/depth-anything/Depth-Anything-V2-"
#define DA3 "https://huggingface.co/depth-anything/"
#define APACHE "Apache-2.0"
#define NON_COMMERCIAL "CC-BY-NC-4.0 (non-commercial use only)"
static const model_source SOURCES[DS_ARCH_COUNT] = {
    [DS_ARCH_MIDAS_V21_SMALL_256] = {MIDAS_V21, "midas_v21_small_256.pt", "MIT"},
    [DS_ARCH_MIDAS_V21_384] = {MIDAS_V21, "midas_v21_384.pt", "MIT"},
    [DS_ARCH_DPT_HYBRID_384] = {MIDAS_V3, "dpt_hybrid_384.pt", "MIT"},
    [DS_ARCH_DPT_LARGE_384] = {MIDAS_V3, "dpt_large_384.pt", "MIT"},
    [DS_ARCH_DPT_SWIN2_LARGE_384] = {MIDAS_V31, "dpt_swin2_large_384.pt", "MIT"},
    [DS_ARCH_DPT_SWIN2_BASE_384] = {MIDAS_V31, "dpt_swin2_base_384.pt", "MIT"},
    [DS_ARCH_DPT_SWIN2_TINY_256] = {MIDAS_V31, "dpt_swin2_tiny_256.pt", "MIT"},
    [DS_ARCH_DPT_SWIN_LARGE_384] = {MIDAS_V31, "dpt_swin_large_384.pt", "MIT"},
    [DS_ARCH_DPT_LEVIT_224] = {MIDAS_V31, "dpt_levit_224.pt", "MIT"},
    [DS_ARCH_DEPTH_ANYTHING_V2_VITS] = {DAV2 "Small/resolve/main", "depth_anything_v2_vits.pth", APACHE},
    [DS_ARCH_DEPTH_ANYTHING_V2_VITB] = {DAV2 "Base/resolve/main", "depth_anything_v2_vitb.pth", NON_COMMERCIAL},
    [DS_ARCH_DEPTH_ANYTHING_V2_VITL] = {DAV2 "Large/resolve/main", "depth_anything_v2_vitl.pth", NON_COMMERCIAL},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITS] = {DAV2 "Metric-Hypersim-Small/resolve/main",
                                                        "depth_anything_v2_metric_hypersim_vits.pth", APACHE},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITB] = {DAV2 "Metric-Hypersim-Base/resolve/main",
                                                        "depth_anything_v2_metric_hypersim_vitb.pth", NON_COMMERCIAL},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITL] = {DAV2 "Metric-Hypersim-Large/resolve/main",
                                                        "depth_anything_v2_metric_hypersim_vitl.pth", NON_COMMERCIAL},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITS] = {DAV2 "Metric-VKITTI-Small/resolve/main",
                                                      "depth_anything_v2_metric_vkitti_vits.pth", APACHE},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB] = {DAV2 "Metric-VKITTI-Base/resolve/main",
                                                      "depth_anything_v2_metric_vkitti_vitb.pth", NON_COMMERCIAL},
    [DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL] = {DAV2 "Metric-VKITTI-Large/resolve/main",
                                                      "depth_anything_v2_metric_vkitti_vitl.pth", NON_COMMERCIAL},
    /* Depth Anything 3: the Apache-2.0 ones (DA3-Large, -Giant, -Nested are CC BY-NC 4.0, not fetched) */
    [DS_ARCH_DA3_SMALL] = {DA3 "DA3-SMALL/resolve/main", "da3_small.safetensors", APACHE, "model.safetensors"},
    [DS_ARCH_DA3MONO_LARGE] = {DA3 "DA3MONO-LARGE/resolve/main", "da3mono_large.safetensors", APACHE,
                               "model.safetensors"},
    [DS_ARCH_DA3METRIC_LARGE] = {DA3 "DA3METRIC-LARGE/resolve/main", "da3metric_large.safetensors", APACHE,
                                 "model.safetensors"},
    [DS_ARCH_DPT_BEIT_LARGE_512] = {MIDAS_V31, "dpt_beit_large_512.pt", "MIT"},
    [DS_ARCH_DPT_BEIT_LARGE_384] = {MIDAS_V31, "dpt_beit_large_384.pt", "MIT"},
    [DS_ARCH_DPT_BEIT_BASE_384] = {MIDAS_V31, "dpt_beit_base_384.pt", "MIT"},
};

static const model_source *source_of(ds_arch arch) {
    return ds_arch_name(arch) && SOURCES[arch].file ? &SOURCES[arch] : NULL;
}

void ds_model_store_dir(char *buf, size_t len) {
    const char *env = getenv("DEPTHSOLVE_MODELS");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "%s/.cache/depthsolve", home && *home ? home : ".");
}

const char *ds_model_url(ds_arch arch, char *buf, size_t len) {
    const model_source *src = source_of(arch);
    if (!src)
        return NULL;
    const char *base = getenv("DEPTHSOLVE_MODEL_BASE_URL");
    snprintf(buf, len, "%s/%s", base && *base ? base : src->url_dir, src->remote ? src->remote : src->file);
    return buf;
}

const char *ds_model_licence(ds_arch arch) {
    const model_source *src = source_of(arch);
    return src ? src->licence : NULL;
}

const char *ds_model_file(ds_arch arch) {
    const model_source *src = source_of(arch);
    return src ? src->file : NULL;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A checkpoint converted to an unlinked temporary GGUF: the engine's mapping
 * keeps the data alive, nothing is left on disk. */
static ds_status open_checkpoint(const char *path, ds_engine_params *p, ds_engine **out) {
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/depthsolve-XXXXXX.gguf", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemps(tmp, 5);
    if (fd < 0)
        return ds_fail(DS_ERR_IO, "%s: cannot create a temporary file to convert into: %s", tmp,
                       strerror(errno));
    close(fd);
    ds_convert_params cp = ds_convert_default_params();
    cp.log = p->log;
    cp.log_user = p->log_user;
    ds_status s = ds_convert_file(path, tmp, &cp);
    if (s == DS_OK) {
        p->model_path = tmp;
        s = ds_engine_create(p, out);
        p->model_path = path;
    }
    unlink(tmp);
    return s;
}

ds_status ds_open_model(const char *spec, ds_engine_params *p, ds_engine **out) {
    *out = NULL;
    if (is_file(spec)) {
        if (has_suffix(spec, ".pt") || has_suffix(spec, ".pth") || has_suffix(spec, ".safetensors") ||
            has_suffix(spec, ".bin"))
            return open_checkpoint(spec, p, out);
        p->model_path = spec;
        return ds_engine_create(p, out);
    }
    ds_arch arch = ds_arch_from_name(spec);
    if (arch == DS_ARCH_UNKNOWN) {
        struct stat st;
        if ((strchr(spec, '/') || strchr(spec, '.')) && stat(spec, &st) == 0) /* there, but no file */
            return ds_fail(DS_ERR_IO, "%s: %s", spec, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        if (strchr(spec, '/') || strchr(spec, '.'))
            return ds_fail(DS_ERR_IO, "%s: no such model file", spec);
        char known[1024] = "";
        for (int i = 0; i < DS_ARCH_COUNT; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     ds_arch_name((ds_arch)i));
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "unknown model '%s': give a .gguf/.pt/.pth file or one of %s", spec,
                       known);
    }
    char dir[4096], path[4200], url[1024];
    ds_model_store_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.gguf", dir, spec);
    if (!is_file(path))
        return ds_fail(DS_ERR_IO,
                       "model %s is not in %s: run 'depthsolve fetch %s', or download %s and run "
                       "'depthsolve convert --arch %s %s -o %s'",
                       spec, dir, spec, ds_model_url(arch, url, sizeof url), spec, ds_model_file(arch), path);
    p->model_path = path;
    ds_status s = ds_engine_create(p, out);
    p->model_path = spec;
    return s;
}

typedef struct download {
    FILE *f;
    EVP_MD_CTX *sha;
    int progress;
    const char *name;
} download;

static size_t on_data(char *data, size_t size, size_t n, void *user) {
    download *d = user;
    size_t bytes = size * n;
    EVP_DigestUpdate(d->sha, data, bytes);
    return fwrite(data, 1, bytes, d->f);
}

static int on_progress(void *user, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
    (void)ut, (void)un;
    download *d = user;
    if (d->progress && total > 0)
        fprintf(stderr, "\rdownloading %s: %5.1f%% of %.0f MB", d->name, 100.0 * now / total,
                total / 1e6);
    return 0;
}

static ds_status download_file(const char *url, const char *dest, const char *name, int progress,
                               char sha_hex[65]) {
    char part[4300];
    snprintf(part, sizeof part, "%s.part", dest);
    download d = {fopen(part, "wb"), EVP_MD_CTX_new(), progress, name};
    if (!d.f || !d.sha) {
        if (d.f)
            fclose(d.f);
        EVP_MD_CTX_free(d.sha);
        return ds_fail(DS_ERR_IO, "%s: cannot write: %s", part, strerror(errno));
    }
    EVP_DigestInit_ex(d.sha, EVP_sha256(), NULL);
    CURL *curl = curl_easy_init();
    char curl_err[CURL_ERROR_SIZE] = "";
    CURLcode rc = CURLE_FAILED_INIT;
    long http = 0;
    if (curl) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &d);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_cleanup(curl);
    }
    if (progress)
        fputc('\n', stderr);
    unsigned char digest[32];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(d.sha, digest, &dlen);
    EVP_MD_CTX_free(d.sha);
    int closed = fclose(d.f) == 0;
    if (rc != CURLE_OK || !closed) {
        unlink(part);
        return ds_fail(DS_ERR_IO, "cannot download %s: %s", url,
                       curl_err[0] ? curl_err : curl_easy_strerror(rc));
    }
    for (unsigned i = 0; i < dlen && i < 32; i++)
        snprintf(sha_hex + 2 * i, 3, "%02x", digest[i]);
    if (rename(part, dest) != 0) {
        unlink(part);
        return ds_fail(DS_ERR_IO, "%s: cannot rename: %s", dest, strerror(errno));
    }
    return DS_OK;
}

ds_status ds_fetch_model(ds_arch arch, const char *dir, int keep_checkpoint, int progress,
                         char *gguf_path, size_t len) {
    const char *name = ds_arch_name(arch);
    if (!name || !source_of(arch))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "fetch: unknown architecture");
    char url[1024], pt[4200], sha[65] = "";
    ds_model_url(arch, url, sizeof url);
    DS_TRY(ds_mkdirs(dir));
    snprintf(pt, sizeof pt, "%s/%s", dir, ds_model_file(arch));
    snprintf(gguf_path, len, "%s/%s.gguf", dir, name);
    ds_status s = download_file(url, pt, name, progress, sha);
    if (s != DS_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", ds_last_error());
        return ds_fail(s, "%s; without network, download it elsewhere and run "
                          "'depthsolve convert --arch %s %s -o %s'", why, name, ds_model_file(arch), gguf_path);
    }
    ds_convert_params cp = ds_convert_default_params();
    cp.arch = arch; /* a file that is not this architecture is refused, tensor by tensor */
    s = ds_convert_file(pt, gguf_path, &cp);
    if (s == DS_OK && progress)
        fprintf(stderr, "%s: sha256 %s\n", pt, sha);
    if (!keep_checkpoint || s != DS_OK)
        unlink(pt);
    return s;
}
