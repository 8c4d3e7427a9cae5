/*
 * model_store.h: where models live and how a --model argument becomes a file
 * the engine can open.
 *
 * --model takes a GGUF file, a checkpoint (.pt, .pth, .safetensors: converted
 * on the fly into an unlinked temporary file), or an architecture name, looked
 * up as <store>/<name>.gguf; the store is $DEPTHSOLVE_MODELS, else
 * ~/.cache/depthsolve. `depthsolve fetch NAME` fills the store.
 */
#ifndef DS_MODEL_STORE_H
#define DS_MODEL_STORE_H

#include <stddef.h>

#include "depthsolve.h" /* ds_status, ds_engine */

/* The store directory (not created). */
void ds_model_store_dir(char *buf, size_t len);

/* The official download URL of an architecture's checkpoint (the MiDaS
 * GitHub releases, Depth Anything's Hugging Face pages), or NULL.
 * $DEPTHSOLVE_MODEL_BASE_URL replaces the folder of every URL (mirrors,
 * tests): the file is then $DEPTHSOLVE_MODEL_BASE_URL/<checkpoint file>. */
const char *ds_model_url(ds_arch arch, char *buf, size_t len);
/* The checkpoint's file name ("dpt_large_384.pt", "depth_anything_v2_vits.pth"). */
const char *ds_model_file(ds_arch arch);
/* The licence of the official weights ("MIT", "Apache-2.0",
 * "CC-BY-NC-4.0 (non-commercial use only)"). */
const char *ds_model_licence(ds_arch arch);

/* Opens --model as an engine (params->model_path is set here). */
ds_status ds_open_model(const char *spec, ds_engine_params *params, ds_engine **out);

/* Downloads the official checkpoint of `arch` into `dir`, checks it by
 * converting it (every tensor named and shaped as the architecture needs),
 * and writes <dir>/<name>.gguf. `progress` shows a progress line on stderr. */
ds_status ds_fetch_model(ds_arch arch, const char *dir, int keep_checkpoint, int progress,
                         char *gguf_path, size_t len);

#endif
