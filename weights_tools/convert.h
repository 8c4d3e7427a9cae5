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
 * right shapes. Failure names the closest architecture and what is missing. */
ds_status ds_detect_arch(const ds_ckpt *ck, const char *label, ds_arch *out);

/* Checks `ck` against the architecture (p->arch, or detected) and fills
 * out->writer: its tensors are folded from `ck` when the writer writes them,
 * so `ck` must outlive the write. `label` names the checkpoint in errors;
 * `source` (a file name, or NULL) is recorded in the metadata. */
ds_status ds_convert_ckpt(ds_ckpt *ck, const char *label, const char *source,
                          const ds_convert_params *p, ds_converted *out);
void ds_converted_free(ds_converted *c); /* NULL-safe */

#endif
