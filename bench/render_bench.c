/* render_bench.c: frames per second of ds_scene_render (depthsolve animate's
 * renderer) on a synthetic photo and depth map: a textured backdrop and a
 * nearer disc, seen along a camera path.
 *
 *   build/render_bench [WIDTH HEIGHT FRAMES MOTION DEVICE THREADS [OUT.mp4]]
 *   (default 1920 1080 60 zoom cpu 0; DEVICE cpu, cuda or cuda-emu; THREADS 0: all cores;
 *   OUT.mp4: the frames also encoded through ffmpeg, as `depthsolve animate` does) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "depthsolve.h"
#include "src/io/video_out.h" /* ds_video_open */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const int w = argc > 1 ? atoi(argv[1]) : 1920, h = argc > 2 ? atoi(argv[2]) : 1080;
    const int frames = argc > 3 ? atoi(argv[3]) : 60;
    const ds_motion motion = ds_motion_from_name(argc > 4 ? argv[4] : "zoom");
    const char *device = argc > 5 ? argv[5] : "cpu";
    if (w < 2 || h < 2 || frames < 1 || motion == DS_MOTION_COUNT) {
        fprintf(stderr, "usage: render_bench [WIDTH HEIGHT FRAMES MOTION DEVICE THREADS]\n");
        return 2;
    }
    uint8_t *rgb = malloc((size_t)w * h * 3), *frame = malloc((size_t)w * h * 3);
    float *depth = malloc((size_t)w * h * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t k = (size_t)y * w + x;
            const float dx = (float)(x - w / 2) / (float)h, dy = (float)(y - h / 2) / (float)h;
            const int disc = dx * dx + dy * dy < 0.06f;
            rgb[k * 3] = (uint8_t)(x * 255 / w);
            rgb[k * 3 + 1] = (uint8_t)(y * 255 / h);
            rgb[k * 3 + 2] = disc ? 220 : (uint8_t)(((x / 40 + y / 40) % 2) * 200);
            depth[k] = disc ? 0.9f : 0.2f + 0.3f * (float)y / (float)h; /* a floor rising to the camera */
        }
    ds_scene_params sp = ds_scene_default_params();
    sp.n_threads = argc > 6 ? atoi(argv[6]) : 0;
    sp.device = !strcmp(device, "cuda")       ? DS_DEVICE_CUDA
                : !strcmp(device, "cuda-emu") ? DS_DEVICE_CUDA_EMU
                                              : DS_DEVICE_CPU;
    ds_path_params path = ds_path_default_params();
    path.motion = motion;
    path.focus = ds_depth_focus(depth, w, h);
    ds_camera *cams = malloc((size_t)frames * sizeof *cams);
    for (int i = 0; i < frames; i++)
        ds_camera_on_path(&path, &sp, frames > 1 ? (float)i / (float)(frames - 1) : 0.0f, &cams[i]);
    if (ds_scene_margin(&sp, w, h, cams, frames, &sp.margin) != DS_OK) {
        fprintf(stderr, "render_bench: %s\n", ds_last_error());
        return 1;
    }
    const double t0 = now();
    ds_scene *scene;
    if (ds_scene_create(rgb, w, h, (size_t)w * 3, depth, &sp, &scene) != DS_OK) {
        fprintf(stderr, "render_bench: %s\n", ds_last_error());
        return 1;
    }
    ds_video *video = NULL;
    if (argc > 7 && ds_video_open(argv[7], DS_VIDEO_MP4, w, h, 30, 18, &video) != DS_OK) {
        fprintf(stderr, "render_bench: %s\n", ds_last_error());
        return 1;
    }
    const double t1 = now();
    double worst = 0.0;
    for (int i = 0; i < frames; i++) {
        const double a = now();
        if (ds_scene_render(scene, &cams[i], frame, (size_t)w * 3) != DS_OK) {
            fprintf(stderr, "render_bench: %s\n", ds_last_error());
            return 1;
        }
        worst = fmax(worst, now() - a);
        if (video && ds_video_write(video, frame) != DS_OK) {
            fprintf(stderr, "render_bench: %s\n", ds_last_error());
            return 1;
        }
    }
    if (video && ds_video_close(video, 1) != DS_OK) {
        fprintf(stderr, "render_bench: %s\n", ds_last_error());
        return 1;
    }
    const double t2 = now();
    printf("render_bench: %dx%d, margin %d, %d frames of %s on %s%s: scene %.1f ms, %.2f ms/frame (worst %.2f), "
           "%.1f frames/s\n",
           w, h, sp.margin, frames, ds_motion_name(motion), ds_scene_device(scene), argc > 7 ? " into MP4" : "",
           1e3 * (t1 - t0),
           1e3 * (t2 - t1) / frames, 1e3 * worst, frames / (t2 - t1));
    ds_scene_free(scene);
    free(cams);
    free(rgb);
    free(frame);
    free(depth);
    return 0;
}
