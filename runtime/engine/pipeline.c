/* pipeline.c: photo pixels to a depth map at the photo's size (run.py's path,
 * or Depth Anything's infer_image: the model's rules, ds_model_info). */
#include <string.h>

#include "engine/engine_internal.h"
#include "base/error.h"      /* ds_fail */
#include "model/arch.h"      /* DS_MAX_INPUT_SIDE */
#include "photo/da3_input.h"  /* ds_da3_input_sizes, ds_da3_preprocess_rgb8 */
#include "photo/preprocess.h" /* ds_net_input_size, ds_preprocess_rgb8, ds_resize_bicubic_torch */

ds_solve_params ds_solve_default_params(void) {
    ds_solve_params p;
    memset(&p, 0, sizeof p);
    return p;
}

ds_status ds_engine_input_size(const ds_engine *e, int width, int height,
                               const ds_solve_params *params, int *net_w, int *net_h) {
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    ds_solve_params p = params ? *params : ds_solve_default_params();
    if (width <= 0 || height <= 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "image of %dx%d pixels", width, height);
    /* MiDaS's run.py always aims at multiples of 32, also for DPT; Depth Anything at its 14 */
    const int multiple = info.resize_lower_bound || info.resize_da3 ? info.input_multiple : 32;
    const int largest = DS_MAX_INPUT_SIDE / multiple * multiple; /* sizes round up to the multiple */
    if (p.height != 0 && (p.height < multiple || p.height > largest))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "network %s %d: must be %d to %d",
                       info.resize_lower_bound || info.resize_da3 ? "input size" : "height", p.height, multiple,
                       largest);
    if (info.fixed_size) { /* run.py: keep_aspect_ratio=False, the network's one size */
        if (p.height != 0 && p.height != info.net_size)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s takes %dx%d inputs only, not a network height of %d",
                           info.arch_name, info.net_size, info.net_size, p.height);
        *net_w = *net_h = info.net_size;
        return DS_OK;
    }
    int target = p.height ? p.height : info.net_size;
    if (info.resize_da3) {
        int w1, h1;
        ds_da3_input_sizes(width, height, target, info.input_multiple, &w1, &h1, net_w, net_h);
    } else if (info.resize_lower_bound) {
        ds_net_input_size_lower_bound(width, height, target, multiple, !p.square, net_w, net_h);
    } else {
        ds_net_input_size(width, height, target, 32, info.resize_upper_bound, !p.square, net_w, net_h);
    }
    /* a very long or very tall photo under a lower-bound resize: refused
     * here, before the resized photo and the activations are allocated */
    if (*net_w > DS_MAX_INPUT_SIDE || *net_h > DS_MAX_INPUT_SIDE)
        return ds_fail(DS_ERR_SHAPE,
                       "a %dx%d photo makes a %dx%d (HxW) network input for %s, over %d a side: its aspect "
                       "ratio is too extreme for this model",
                       width, height, *net_h, *net_w, info.arch_name, DS_MAX_INPUT_SIDE);
    return DS_OK;
}

/* Depth Anything 3's two 8-bit resizes to (nw, nh): the processor's target
 * is the one of those near the long side that gives this size. */
static ds_status da3_prepare(const uint8_t *rgb, int width, int height, size_t stride, int nw, int nh,
                             const ds_model_info *info, float *x) {
    const int longest = nw > nh ? nw : nh, m = info->input_multiple;
    for (int d = 0; d <= m; d++)
        for (int sign = 1; sign >= -1; sign -= 2) {
            int w1, h1, w2, h2, target = longest + sign * d;
            ds_da3_input_sizes(width, height, target, m, &w1, &h1, &w2, &h2);
            if (target < 1 || w2 != nw || h2 != nh)
                continue;
            if (ds_da3_preprocess_rgb8(rgb, width, height, stride, target, m, info->mean, info->std, x))
                return ds_fail(DS_ERR_OUT_OF_MEMORY, "prepare: out of memory resizing a %dx%d photo", width, height);
            return DS_OK;
        }
    return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: %s does not take a %dx%d photo to %dx%d (see ds_engine_input_size)",
                   info->arch_name, width, height, nw, nh);
}

ds_status ds_engine_prepare_rgb8(ds_engine *e, const uint8_t *rgb, int width, int height,
                                 size_t stride, int nw, int nh, float *x) {
    if (!e || !rgb || !x || width <= 0 || height <= 0 || nw <= 0 || nh <= 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: bad argument");
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: stride %zu < 3 x width %d", stride, width);
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    if (info.resize_da3)
        return da3_prepare(rgb, width, height, stride, nw, nh, &info, x);
    ds_preprocess_rgb8(rgb, width, height, stride, nw, nh, info.mean, info.std, x,
                       ds_engine_threads(e));
    return DS_OK;
}

void ds_resize_depth(const float *net_depth, int nw, int nh, float *depth, int width, int height,
                     int n_threads) {
    ds_resize_bicubic_torch(net_depth, nw, nh, depth, width, height, n_threads > 0 ? n_threads : 1);
}

void ds_resize_depth_with(ds_depth_resize how, const float *net_depth, int nw, int nh, float *depth, int width,
                          int height, int n_threads) {
    if (how == DS_DEPTH_RESIZE_BILINEAR_ALIGNED)
        ds_resize_bilinear_aligned(net_depth, nw, nh, depth, width, height, n_threads > 0 ? n_threads : 1);
    else
        ds_resize_depth(net_depth, nw, nh, depth, width, height, n_threads);
}

ds_status ds_engine_solve_rgb8(ds_engine *e, const uint8_t *rgb, int width, int height,
                               size_t stride, const ds_solve_params *params, float *depth) {
    return ds_engine_solve_rgb8_ex(e, rgb, width, height, stride, params, depth, NULL);
}

ds_status ds_engine_solve_rgb8_ex(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                                  const ds_solve_params *params, float *depth, ds_extras *extras) {
    if (!e || !rgb || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "solve: NULL argument");
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "solve: stride %zu < 3 x width %d", stride, width);
    int nw, nh;
    DS_TRY(ds_engine_input_size(e, width, height, params, &nw, &nh));
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    if (extras)
        ds_extras_clear(extras);
    if (info.resize_da3 || info.outputs) /* 8-bit OpenCV resizes and outputs beside the depth: on the host */
        return ds_da3_solve(e, rgb, width, height, stride, params, nw, nh, depth, extras);
    if (b->photo && !(params && params->net_output)) { /* resizes on the backend's device */
        void *prepared;
        DS_TRY(ds_engine_prepare_network(e, nh, nw, &prepared));
        return b->photo->solve_rgb8(state, prepared, rgb, width, height, stride, depth);
    }
    float *x, *y;
    DS_TRY(ds_engine_pipeline_buffers(e, (size_t)3 * nw * nh, (size_t)nw * nh, &x, &y));
    DS_TRY(ds_engine_prepare_rgb8(e, rgb, width, height, stride, nw, nh, x));
    DS_TRY(ds_engine_run(e, x, nh, nw, y));
    if (params && params->net_output)
        memcpy(depth, y, (size_t)nw * nh * sizeof *depth);
    else
        ds_resize_depth_with(info.depth_resize, y, nw, nh, depth, width, height, ds_engine_threads(e));
    return DS_OK;
}
