/*
 * params.h: how a declared layer's parameters are stored in our GGUF files.
 *
 * Converted tensors keep their PyTorch names. 4-D weights are stored channels
 * last, permuted (d0, d1, kh, kw) -> (d0, kh, kw, d1): a conv weight
 * (O, I/g, kh, kw) becomes (O, kh, kw, I/g) ("OHWI", cuDNN's KRSC for NHWC),
 * a transposed-conv weight (I, O, kh, kw) becomes (I, kh, kw, O). BatchNorm is
 * folded into the conv before it (which then always has a bias) and weight
 * standardization into the weight. A layer scale (DINOv2's ls1/ls2.gamma,
 * BEiT's gamma_1/gamma_2: ds_param_decl.row_scale) is folded into the weight
 * rows and bias of the layer whose output it scales. Everything else is
 * stored as in PyTorch.
 */
#ifndef DS_PARAMS_H
#define DS_PARAMS_H

#include "graph/builder.h" /* ds_param_decl */

/* Shape of the stored weight (converted layout). */
void ds_param_weight_shape(const ds_param_decl *d, int *ndim, int64_t shape[4]);
/* Length of the bias, 0 if the layer has none. */
int64_t ds_param_bias_len(const ds_param_decl *d);
/* Whether the stored weight may be f16 in an f16 file (conv and linear weights). */
bool ds_param_weight_may_be_f16(const ds_param_decl *d);

#endif
