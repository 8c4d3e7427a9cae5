/*
 * cuda/dispatch.h: one graph node on the device, the CUDA backend's one
 * switch over ds_op (cuda/dispatch.cu). Compiled twice like the backend:
 * by nvcc (ds_cuda) and by g++ against the emulator (ds_cuda_emu).
 */
#ifndef DS_CUDA_DISPATCH_H
#define DS_CUDA_DISPATCH_H

#include <stddef.h>

#include "gpu/gpu_libs.h" /* gpu_libs */
#include "graph/graph.h"    /* ds_graph, ds_node */
#include "graph/planner.h"  /* ds_plan */
#include "kernels/kernels.h"  /* kern_ctx */

namespace DS_CUDA_NS {

/* A node's weight slots (graph.h: [0] weight, [1] bias, [2], [3]) on the device. */
struct node_weights {
    const float *slot[DS_NODE_MAX_W];
};

/* Everything a node's launch reads: the planned arena on the device and
 * the device copies of every node's weights. */
struct node_exec {
    const ds_graph *graph;
    const ds_plan *plan;
    float *arena;               /* plan->arena_floats, device */
    const node_weights *w_dev;  /* per node: its weight slots on the device (NULL where empty) */
    const __half *const *wh_dev; /* fp16: per node, the half weight of node_half_weight's nodes */
    char *scratch;              /* device, scratch_bytes: a GEMM's output when it may not
                                   land on its residual yet; fp16: the half operands */
    size_t scratch_bytes;
    bool fp16;                  /* --precision fp16 */
    gpu_libs *libs;
    kern_ctx k;                 /* stream, block size */
};

/* Device bytes node i needs in node_exec.scratch (0: none). */
size_t node_scratch_bytes(const ds_graph *g, const ds_plan *plan, int i, bool fp16);

/* fp16 mode: whether node i runs on the libraries with half operands
 * (dense and grouped convolutions, linear layers: not the depthwise ones,
 * which are our own float32 kernel); its weight's rows are `cols` long as
 * stored and `cols_padded` as the library reads them (a dense
 * convolution's channels padded to a multiple of 8 with zeros). */
bool node_half_weight(const ds_graph *g, int i, int64_t *cols, int64_t *cols_padded);

/* Whether run_node has a routine for this node (its op and attributes). */
bool node_supported(const ds_node *n);

/* Issues node i in k.stream (asynchronous; may be captured). The input
 * node issues nothing: the caller writes it. */
ds_status run_node(const node_exec *x, int i);
/* Lets the library seam choose (and, when asked, time) its algorithm for
 * node i, with the very arguments run_node passes; before any capture, as
 * it may grow the seam's workspace and write the node's output. */
ds_status plan_node(const node_exec *x, int i);

} // namespace DS_CUDA_NS

#endif
