/*
 * engine/extras.c: what a run gives beside the depth (ds_extras): the
 * confidence map and the camera of Depth Anything 3, and its photo path
 * (the official input processor, then the depth, confidence and camera
 * taken to the photo's size; the metric model's metres).
 */
#include <math.h>
#include <string.h>

#include "base/error.h"             /* ds_fail, DS_TRY */
#include "engine/engine_internal.h" /* ds_engine_net_extras, ds_engine_pipeline_buffers */
#include "model/da3_post.h"         /* ds_da3_camera */
#include "photo/da3_input.h"        /* ds_da3_input_sizes, ds_da3_processed_focal, ds_da3_metric_scale */

static const double RAD_TO_DEG = 57.29577951308232;

void ds_extras_clear(ds_extras *x) {
    float *conf = x->confidence;
    memset(x, 0, sizeof *x);
    x->confidence = conf;
}

/* A camera of width x height with focal lengths fx, fy, principal point at the centre. */
static ds_pinhole camera_of(int width, int height, float fx, float fy, const float extrinsics[12]) {
    ds_pinhole c = {.width = width, .height = height, .fx = fx, .fy = fy, .cx = (float)width / 2.0f,
                   .cy = (float)height / 2.0f};
    c.fov_x_deg = (float)(2.0 * atan(width / (2.0 * fx)) * RAD_TO_DEG);
    c.fov_y_deg = (float)(2.0 * atan(height / (2.0 * fy)) * RAD_TO_DEG);
    if (extrinsics)
        memcpy(c.extrinsics, extrinsics, sizeof c.extrinsics);
    return c;
}

/* The network-size camera of the last run, if the model estimated one. */
static int net_camera(const ds_net_extras *n, ds_pinhole *out) {
    if (!n->has_pose)
        return 0;
    float ext[12], k[9];
    ds_da3_camera(n->pose_enc, n->width, n->height, ext, k);
    *out = camera_of(n->width, n->height, k[0], k[4], ext);
    out->cx = k[2];
    out->cy = k[5];
    return 1;
}

ds_status ds_engine_last_extras(const ds_engine *e, ds_extras *extras) {
    if (!e || !extras)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "last_extras: NULL argument");
    ds_extras_clear(extras);
    const ds_net_extras *n = ds_engine_net_extras(e);
    if (n->confidence && extras->confidence) {
        memcpy(extras->confidence, n->confidence, (size_t)n->height * n->width * sizeof(float));
        extras->has_confidence = 1;
    }
    extras->has_camera = net_camera(n, &extras->net_camera);
    extras->camera = extras->net_camera;
    return DS_OK;
}

ds_status ds_engine_run_ex(ds_engine *e, const float *input, int h, int w, float *depth, ds_extras *extras) {
    if (extras)
        ds_extras_clear(extras);
    DS_TRY(ds_engine_run(e, input, h, w, depth));
    return extras ? ds_engine_last_extras(e, extras) : DS_OK;
}

ds_status ds_da3_solve(ds_engine *e, const uint8_t *rgb, int width, int height, size_t stride,
                       const ds_solve_params *params, int nw, int nh, float *depth, ds_extras *extras) {
    ds_model_info info;
    DS_TRY(ds_engine_model_info(e, &info));
    float *x, *y;
    DS_TRY(ds_engine_pipeline_buffers(e, (size_t)3 * nw * nh, (size_t)nw * nh, &x, &y));
    DS_TRY(ds_engine_prepare_rgb8(e, rgb, width, height, stride, nw, nh, x));
    DS_TRY(ds_engine_run(e, x, nh, nw, y));
    const int threads = ds_engine_threads(e);
    const ds_net_extras *n = ds_engine_net_extras(e);
    if (info.metric_focal_ref > 0) { /* metres = output x focal of the network input / 300 */
        float fx = params ? params->focal_x : 0, fy = params ? params->focal_y : 0;
        if (!(fx > 0) || !(fy > 0)) { /* the default field of view along the long side */
            const int longest = width > height ? width : height;
            fx = fy = (float)(longest / 2.0 / tan(DS_DEFAULT_FOV_DEG / 2.0 / RAD_TO_DEG));
        }
        int w1, h1, w2, h2;
        ds_da3_input_sizes(width, height, params && params->height ? params->height : info.net_size,
                           info.input_multiple, &w1, &h1, &w2, &h2);
        const float fxp = ds_da3_processed_focal(fx, width, w1, nw), fyp = ds_da3_processed_focal(fy, height, h1, nh);
        const float scale = ds_da3_metric_scale(fxp, fyp, info.metric_focal_ref);
        for (size_t i = 0; i < (size_t)nw * nh; i++)
            y[i] *= scale;
        if (extras)
            extras->metric_focal = (fxp + fyp) / 2.0f;
    }
    const int at_net = params && params->net_output;
    if (at_net)
        memcpy(depth, y, (size_t)nw * nh * sizeof *depth);
    else
        ds_resize_depth_with(info.depth_resize, y, nw, nh, depth, width, height, threads);
    if (!extras)
        return DS_OK;
    if (n->confidence && extras->confidence) {
        if (at_net)
            memcpy(extras->confidence, n->confidence, (size_t)nw * nh * sizeof(float));
        else
            ds_resize_depth_with(info.depth_resize, n->confidence, nw, nh, extras->confidence, width, height,
                                 threads);
        extras->has_confidence = 1;
    }
    extras->has_camera = net_camera(n, &extras->net_camera);
    if (extras->has_camera && at_net)
        extras->camera = extras->net_camera;
    else if (extras->has_camera) /* the same field of view on the photo: focal lengths scale with the sides */
        extras->camera = camera_of(width, height, extras->net_camera.fx * (float)width / (float)nw,
                                   extras->net_camera.fy * (float)height / (float)nh, extras->net_camera.extrinsics);
    return DS_OK;
}
