/* pipeline.c: photo pixels to a depth map at the photo's size (run.py's path,
 * or Depth Anything's infer_image: the model's rules, ds_model_info). */
#include <string.h>

#include "engine/engine_internal.h"
#include "base/error.h"      /* ds_fail */
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
    const int multiple = info.resize_lower_bound ? info.input_multiple : 32;
    if (p.height != 0 && (p.height < multiple || p.height > 8192))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "network %s %d: must be %d to 8192",
                       info.resize_lower_bound ? "input size" : "height", p.height, multiple);
    if (info.fixed_size) { /* run.py: keep_aspect_ratio=False, the network's one size */
        if (p.height != 0 && p.height != info.net_size)
            return ds_fail(DS_ERR_INVALID_ARGUMENT, "%s takes %dx%d inputs only, not a network height of %d",
                           info.arch_name, info.net_size, info.net_size, p.height);
        *net_w = *net_h = info.net_size;
        return DS_OK;
    }
    int target = p.height ? p.height : info.net_size;
    if (info.resize_lower_bound)
        ds_net_input_size_lower_bound(width, height, target, multiple, !p.square, net_w, net_h);
    else
        ds_net_input_size(width, height, target, 32, info.resize_upper_bound, !p.square, net_w, net_h);
    return DS_OK;
}

ds_status ds_engine_prepare_rgb8(ds_engine *e, const uint8_t *rgb, int width, int height,
                                 size_t stride, int nw, int nh, float *x) {
    if (!e || !rgb || !x || width <= 0 || height <= 0 || nw <= 0 || nh <= 0)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: bad argument");
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "prepare: stride %zu < 3 x width %d", stride, width);
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
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
    if (!e || !rgb || !depth)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "solve: NULL argument");
    if (stride < (size_t)width * 3)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "solve: stride %zu < 3 x width %d", stride, width);
    int nw, nh;
    DS_TRY(ds_engine_input_size(e, width, height, params, &nw, &nh));
    void *state;
    const ds_backend_ops *b = ds_engine_backend(e, &state);
    if (b->photo) { /* resizes on the backend's device */
        void *prepared;
        DS_TRY(ds_engine_prepare_network(e, nh, nw, &prepared));
        return b->photo->solve_rgb8(state, prepared, rgb, width, height, stride, depth);
    }
    float *x, *y;
    DS_TRY(ds_engine_pipeline_buffers(e, (size_t)3 * nw * nh, (size_t)nw * nh, &x, &y));
    DS_TRY(ds_engine_prepare_rgb8(e, rgb, width, height, stride, nw, nh, x));
    DS_TRY(ds_engine_run(e, x, nh, nw, y));
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    ds_resize_depth_with(info.depth_resize, y, nw, nh, depth, width, height, ds_engine_threads(e));
    return DS_OK;
}
