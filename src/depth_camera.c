/* depth_camera.c: see depth_camera.h. */
#include "src/depth_camera.h"

#include <math.h>
#include <stdio.h>

#include "base/atomic_file.h" /* ds_atomic_open, ds_atomic_commit */
#include "base/error.h"       /* DS_TRY */

ds_pinhole ds_pinhole_of(int width, int height, float fx, float fy) {
    ds_pinhole c = {.width = width, .height = height, .fx = fx, .fy = fy, .cx = width / 2.0f, .cy = height / 2.0f};
    c.fov_x_deg = (float)(2.0 * atan(width / (2.0 * fx)) * 180.0 / M_PI);
    c.fov_y_deg = (float)(2.0 * atan(height / (2.0 * fy)) * 180.0 / M_PI);
    return c;
}

static void camera(FILE *f, const char *name, const ds_pinhole *c) {
    fprintf(f,
            "  \"%s\": {\"width\": %d, \"height\": %d, \"fx\": %.9g, \"fy\": %.9g, \"cx\": %.9g, \"cy\": %.9g, "
            "\"fov_x_deg\": %.9g, \"fov_y_deg\": %.9g}",
            name, c->width, c->height, (double)c->fx, (double)c->fy, (double)c->cx, (double)c->cy,
            (double)c->fov_x_deg, (double)c->fov_y_deg);
}

ds_status ds_write_camera_json(const char *path, const char *model, const char *source, const ds_pinhole *photo,
                               const ds_pinhole *net, const float *extrinsics, float metric_focal) {
    ds_atomic_file af;
    DS_TRY(ds_atomic_open(&af, path));
    FILE *f = af.f;
    fprintf(f, "{\n  \"model\": \"%s\",\n  \"source\": \"%s\",\n", model, source);
    camera(f, "photo", photo);
    fputs(",\n", f);
    camera(f, "network", net);
    if (extrinsics) {
        fputs(",\n  \"extrinsics\": [", f);
        for (int r = 0; r < 3; r++)
            fprintf(f, "%s[%.9g, %.9g, %.9g, %.9g]", r ? ", " : "", (double)extrinsics[4 * r],
                    (double)extrinsics[4 * r + 1], (double)extrinsics[4 * r + 2], (double)extrinsics[4 * r + 3]);
        fputs("]", f);
    }
    if (metric_focal > 0)
        fprintf(f, ",\n  \"metric_focal_px\": %.9g", (double)metric_focal);
    fputs("\n}\n", f);
    return ds_atomic_commit(&af, !ferror(f));
}
