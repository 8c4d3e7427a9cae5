/*
 * tune_cache.h: the autotuner's choices on disk, one file per GPU and cuDNN
 * version, so that a second start skips the timing. One line per problem:
 * "<key>\t<choice>", keys and choices without tabs or newlines. Written to
 * a temporary file and renamed over the old one, so a reader never sees a
 * half-written file and two engines starting together cannot mix lines.
 */
#ifndef DS_TUNE_CACHE_H
#define DS_TUNE_CACHE_H

#include <stddef.h>

#include <map>
#include <string>

#include "depthsolve.h" /* ds_status */

namespace ds_cuda {

typedef std::map<std::string, std::string> tune_map;

/* $XDG_CACHE_HOME/depthsolve/cudnn-<gpu>-<version>.txt, or ~/.cache/...
 * without XDG_CACHE_HOME; "" when neither variable is set. The GPU name
 * keeps letters, digits, '-' and '.', other characters become '_'. */
std::string tune_cache_path(const char *gpu_name, size_t cudnn_version);
/* A missing file is an empty map; lines without a tab are skipped. */
ds_status tune_cache_load(const std::string &path, tune_map *out);
/* Creates the directories as needed. */
ds_status tune_cache_store(const std::string &path, const tune_map &m);

} // namespace ds_cuda

#endif
