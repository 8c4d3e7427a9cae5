/* tune_cache.cu: the autotuner's cache file (tune_cache.h). Host code only. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"      /* ds_fail */
#include "cuda/tune_cache.h" /* the functions defined here */

namespace ds_cuda {

std::string tune_cache_path(const char *gpu_name, size_t cudnn_version) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    std::string dir;
    if (xdg && xdg[0])
        dir = xdg;
    else if (home && home[0])
        dir = std::string(home) + "/.cache";
    else
        return "";
    std::string gpu;
    for (const char *p = gpu_name; *p; p++)
        gpu += (isalnum((unsigned char)*p) || *p == '-' || *p == '.') ? *p : '_';
    return dir + "/depthsolve/cudnn-" + gpu + "-" + std::to_string(cudnn_version) + ".txt";
}

ds_status tune_cache_load(const std::string &path, tune_map *out) {
    out->clear();
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return errno == ENOENT ? DS_OK : ds_fail(DS_ERR_IO, "%s: %s", path.c_str(), strerror(errno));
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || !tab[1])
            continue;
        *tab = 0;
        (*out)[line] = tab + 1;
    }
    fclose(f);
    return DS_OK;
}

/* mkdir -p of the directories above `path`. */
static ds_status make_parents(const std::string &path) {
    for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
        const std::string dir = path.substr(0, at);
        if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
            return ds_fail(DS_ERR_IO, "%s: %s", dir.c_str(), strerror(errno));
    }
    return DS_OK;
}

ds_status tune_cache_store(const std::string &path, const tune_map &m) {
    DS_TRY(make_parents(path));
    const std::string tmp = path + ".tmp." + std::to_string((long)getpid());
    FILE *f = fopen(tmp.c_str(), "wb");
    if (!f)
        return ds_fail(DS_ERR_IO, "%s: %s", tmp.c_str(), strerror(errno));
    for (const auto &kv : m)
        fprintf(f, "%s\t%s\n", kv.first.c_str(), kv.second.c_str());
    const bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok || rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        remove(tmp.c_str());
        return ds_fail(DS_ERR_IO, "%s: %s", path.c_str(), strerror(e));
    }
    return DS_OK;
}

} // namespace ds_cuda
