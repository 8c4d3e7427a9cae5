/*
 * convert.h: from a checkpoint's raw state_dict to the tensors of our GGUF
 * files: architecture detection, the name and shape check, folding.
 */
#ifndef DS_CONVERT_H
#define DS_CONVERT_H

#include "weights_tools/readers/checkpoint.h" /* ds_ckpt */
#include "depthsolve.h" /* ds_arch, ds_convert_params */
#include "gguf/gguf.h"       /* ds_gguf_writer */

typedef struct ds_converted {
    ds_arch arch;
    ds_gguf_writer *writer;       /* metadata, and tensors produced while the file is written */
    struct ds_conv_state *state;  /* what produces them */
    int64_t n_params;             /* elements written (after folding) */
    size_t n_tensors;
} ds_converted;

/* The architecture whose declared tensors `ck` holds, all of them with the
 * right shapes. Where several hold the same tensors (Depth Anything V2's
 * relative and metric heads), a word of `label` (the file's path) picks
 * one (arch.h, file_hint: "hypersim" or "indoor", "vkitti" or "outdoor"),
 * else the relative one. Failure names the closest architecture and what
 * is missing. */
ds_status ds_detect_arch(const ds_ckpt *ck, const char *label, ds_arch *out);
/* How many architectures hold the same tensors as `arch` (itself included). */
int ds_arch_twins(ds_arch arch);

/* A checkpoint in another layout than the official state_dict, renamed in
 * place into the official names (layout_transformers.c: Depth Anything V2
 * as Transformers stores it, q, k and v joined into qkv). *layout names the
 * layout found ("transformers"), or is NULL for the official one. */
ds_status ds_ckpt_to_official(ds_ckpt *ck, const char *label, const char **layout);

/* Checks `ck` against the architecture (p->arch, or detected) and fills
 * out->writer: its tensors are folded from `ck` when the writer writes them,
 * so `ck` must outlive the write. `label` names the checkpoint in errors;
 * `source` (a file name, or NULL) is recorded in the metadata. */
ds_status ds_convert_ckpt(ds_ckpt *ck, const char *label, const char *source,
                          const ds_convert_params *p, ds_converted *out);
void ds_converted_free(ds_converted *c); /* NULL-safe */

#endif
