/* camera_path.c: the camera moves of `depthsolve animate` (ds_camera_on_path)
 * and the automatic focus (ds_depth_focus). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "depthsolve.h"
#include "base/error.h" /* ds_fail */

static const char *const MOTION_NAMES[DS_MOTION_COUNT] = {"zoom", "dolly", "straight", "swing", "circle"};
static const float MOTION_STRENGTH[DS_MOTION_COUNT] = {0.3f, 0.2f, 0.06f, 0.06f, 0.06f};

const char *ds_motion_name(ds_motion m) { return m >= 0 && m < DS_MOTION_COUNT ? MOTION_NAMES[m] : NULL; }

ds_motion ds_motion_from_name(const char *name) {
    for (int m = 0; name && m < DS_MOTION_COUNT; m++)
        if (strcmp(name, MOTION_NAMES[m]) == 0)
            return (ds_motion)m;
    return DS_MOTION_COUNT;
}

float ds_motion_default_strength(ds_motion m) { return m >= 0 && m < DS_MOTION_COUNT ? MOTION_STRENGTH[m] : 0.0f; }

ds_path_params ds_path_default_params(void) {
    ds_path_params p = {DS_MOTION_ZOOM, -1.0f, -1.0f};
    return p;
}

float ds_depth_focus(const float *depth, int width, int height) {
    enum { BINS = 4096 };
    if (!depth || width < 1 || height < 1)
        return 0.5f;
    const int x0 = width / 5, x1 = width - width / 5, y0 = height / 5, y1 = height - height / 5;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < (int64_t)width * height; k++) {
        const float d = isfinite(depth[k]) ? depth[k] : 0.0f;
        lo = fminf(lo, d);
        hi = fmaxf(hi, d);
    }
    if (!(hi > lo))
        return 0.5f;
    int64_t hist[BINS] = {0};
    int64_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const float d = depth[(int64_t)y * width + x];
            const float v = ((isfinite(d) ? d : 0.0f) - lo) / (hi - lo);
            int b = (int)(v * BINS);
            hist[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
            n++;
        }
    int64_t seen = 0;
    for (int b = 0; b < BINS; b++) {
        seen += hist[b];
        if (4 * seen >= 3 * n)
            return ((float)b + 0.5f) / BINS;
    }
    return 1.0f;
}

/* The rotation (world -> camera) of a camera at c looking at t, +Y up. */
static void look_at(const float c[3], const float t[3], float rot[9]) {
    float z[3] = {c[0] - t[0], c[1] - t[1], c[2] - t[2]}; /* the camera looks down its -Z */
    const float zl = sqrtf(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
    for (int k = 0; k < 3; k++)
        z[k] /= zl;
    float x[3] = {z[2], 0.0f, -z[0]}; /* up x z, up = +Y */
    const float xl = sqrtf(x[0] * x[0] + x[2] * x[2]);
    x[0] /= xl;
    x[2] /= xl;
    const float y[3] = {z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]};
    memcpy(rot, x, sizeof x);
    memcpy(rot + 3, y, sizeof y);
    memcpy(rot + 6, z, sizeof z);
}

ds_status ds_camera_on_path(const ds_path_params *path, const ds_scene_params *scene, float t, ds_camera *out) {
    if (!path || !scene || !out)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: NULL argument");
    *out = ds_camera_identity();
    if (path->motion < 0 || path->motion >= DS_MOTION_COUNT)
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: unknown motion %d", (int)path->motion);
    if (!(path->focus >= 0.0f && path->focus <= 1.0f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: focus %g is outside [0, 1]", (double)path->focus);
    if (!(t >= 0.0f && t <= 1.0f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: t %g is outside [0, 1]", (double)t);
    if (!(scene->near_m > 0.0f && scene->far_m > scene->near_m && isfinite(scene->far_m)))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: near %g and far %g need 0 < near < far",
                       (double)scene->near_m, (double)scene->far_m);
    const float strength = path->strength < 0.0f ? MOTION_STRENGTH[path->motion] : path->strength;
    if (!(strength <= 0.9f))
        return ds_fail(DS_ERR_INVALID_ARGUMENT, "camera path: strength %g is outside [0, 0.9]", (double)strength);
    const float inv_near = 1.0f / scene->near_m, inv_far = 1.0f / scene->far_m;
    const float focus_z = 1.0f / (inv_far + path->focus * (inv_near - inv_far));
    const float travel = strength * focus_z;
    const float ease = 0.5f - 0.5f * cosf((float)M_PI * t); /* 0 -> 1, at rest at both ends */
    const float turn = 2.0f * (float)M_PI * t, r = 0.5f * travel;
    const float focus[3] = {0.0f, 0.0f, -focus_z};
    switch (path->motion) {
    case DS_MOTION_ZOOM: /* things at focus_z keep their size: f' / (focus_z - s) = f / focus_z */
        out->position[2] = -travel * ease;
        out->focal_scale = (focus_z - travel * ease) / focus_z;
        break;
    case DS_MOTION_DOLLY:
        out->position[2] = -travel * ease;
        break;
    case DS_MOTION_STRAIGHT:
        out->position[0] = travel * ease;
        break;
    case DS_MOTION_SWING:
        out->position[0] = r * sinf(turn);
        look_at(out->position, focus, out->rotation);
        break;
    case DS_MOTION_CIRCLE: /* a circle through the photo's camera, centred to its left */
        out->position[0] = r * (cosf(turn) - 1.0f);
        out->position[1] = r * sinf(turn);
        look_at(out->position, focus, out->rotation);
        break;
    default:
        break;
    }
    return DS_OK;
}
