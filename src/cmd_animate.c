/* cmd_animate.c: depthsolve animate, a photo to a 3D-zoom video: its depth
 * map (as `depthsolve depth` computes it), a scene of it (ds_scene), and a
 * camera move rendered frame by frame into MP4, GIF or PNG frames. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/cli.h"
#include "src/cli_batch.h"   /* ds_cli_batch_option */
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */
#include "base/error.h"       /* ds_fail */
#include "src/io/image.h"       /* ds_image_read */
#include "src/io/image_fit.h"   /* ds_image_fit */
#include "src/model_store.h" /* ds_open_model */
#include "src/io/video_out.h"   /* ds_video_* */

static const char ANIMATE_HELP[] =
    "usage: depthsolve animate --model M IMAGE -o OUT.mp4|OUT.gif|OUTDIR/ [options]\n"
    "\n"
    "A 3D-zoom clip of a photo: the camera moves into the picture and the\n"
    "foreground moves against the background, rendered from the depth map.\n"
    "Frame 0 is the photo (fitted to --size). With a metric model (Depth Anything\n"
    "V2 metric) the scene has the depths it measured, in metres: the parallax and\n"
    "the focus are true to scale.\n"
    "\n"
    "  --model M          as for 'depthsolve depth'\n"
    "  -o, --output OUT   .mp4 (H.264 through ffmpeg), .gif (ffmpeg), or a folder\n"
    "                     (an existing one, or a path ending in '/') of PNG frames\n"
    "                     frame_00000.png, ... Without ffmpeg the frames go to\n"
    "                     OUT_frames/ and the exit status is 1.\n"
    "  --motion M         zoom (default): towards the subject while the view widens,\n"
    "                     the subject keeping its size; dolly: towards it;\n"
    "                     straight: to the right; swing: left and right, aimed at\n"
    "                     the subject; circle: a small circle, aimed likewise\n"
    "                     (swing and circle loop)\n"
    "  --seconds S        length (default 5)\n"
    "  --fps N            frames per second (default 30)\n"
    "  --size WxH         frame size (default: the photo's, at most 1920 on the\n"
    "                     long side, 640 for GIF); another aspect ratio crops\n"
    "                     the photo's centre\n"
    "  --strength S       how far the camera travels, as a fraction of the focus\n"
    "                     depth (default: zoom 0.3, dolly 0.2, others 0.06)\n"
    "  --focus F          auto (default: the subject, from the depth map) or the\n"
    "                     normalized inverse depth to aim at, 0 (far) to 1 (near)\n"
    "  --fov DEG          the photo's field of view along its long side (default: the\n"
    "                     one the model estimates (Depth Anything 3 small), else 55)\n"
    "  --tear S           stretch at which surfaces tear apart at depth edges\n"
    "                     (default 2.5; higher keeps more rubber sheets)\n"
    "  --crf N            H.264 quality, 0 (lossless) to 51 (default 18)\n"
    "  --overwrite        replace OUT if it exists\n"
    "  --square, --height N, --input-size N, --max-pixels N, --device D, --threads N,\n"
    "  --no-autotune, --precision P, -q\n"
    "                     as for 'depthsolve depth' (--device also picks where\n"
    "                     frames are rendered)\n"
    "\n"
    "Exit status: 0 written, 1 failed (nothing written), 2 usage error.\n";

typedef struct animate_args {
    const char *model, *out, *image;
    ds_engine_params engine;
    ds_batch_opts batch; /* the options shared with depth and mesh: solve, overwrite, max_pixels */
    ds_path_params path;
    ds_scene_params scene;
    float seconds;
    int fps, width, height, crf, quiet, focus_auto, shard, n_shards;
    int fov_given; /* --fov: the model's estimate is not used */
} animate_args;

static int parse(int argc, char **argv, animate_args *a) {
    static const struct option opts[] = {
        DS_CLI_ENGINE_OPTIONS,
        {"motion", required_argument, 0, 'M'},   {"seconds", required_argument, 0, 's'},
        {"fps", required_argument, 0, 'f'},      {"size", required_argument, 0, 'z'},
        {"strength", required_argument, 0, 'k'}, {"focus", required_argument, 0, 'F'},
        {"fov", required_argument, 0, 'V'},      {"tear", required_argument, 0, 'T'},
        {"crf", required_argument, 0, 'c'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    const ds_batch_cli shared = {&a->engine, &a->batch, &a->shard, &a->n_shards, &a->quiet};
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        const int rc = ds_cli_batch_option("animate", c, optarg, &shared);
        if (rc != DS_CLI_NOT_MINE) {
            if (rc)
                return rc;
            continue;
        }
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'o':
            if (!optarg[0])
                return ds_cli_usage_error("animate", "-o takes a path, not an empty one");
            a->out = optarg;
            break;
        case 'M':
            a->path.motion = ds_motion_from_name(optarg);
            if (a->path.motion == DS_MOTION_COUNT)
                return ds_cli_usage_error("animate", "--motion takes zoom, dolly, straight, swing or circle, not '%s'",
                                          optarg);
            break;
        case 's':
            if (!ds_cli_parse_float(optarg, 0.0, 600.0, &a->seconds) || !(a->seconds > 0.0f))
                return ds_cli_usage_error("animate", "--seconds takes a length in (0, 600]");
            break;
        case 'f':
            if (!ds_cli_parse_int(optarg, 1, 240, &a->fps))
                return ds_cli_usage_error("animate", "--fps takes 1 to 240");
            break;
        case 'z': {
            char *x = strchr(optarg, 'x');
            if (!x)
                return ds_cli_usage_error("animate", "--size takes WxH, e.g. 1920x1080");
            *x = '\0';
            const int ok =
                ds_cli_parse_int(optarg, 2, 16384, &a->width) && ds_cli_parse_int(x + 1, 2, 16384, &a->height);
            *x = 'x';
            if (!ok)
                return ds_cli_usage_error("animate", "--size takes WxH with sides of 2 to 16384 pixels");
            break;
        }
        case 'k':
            if (!ds_cli_parse_float(optarg, 0.0, 0.9, &a->path.strength))
                return ds_cli_usage_error("animate", "--strength takes 0 to 0.9");
            break;
        case 'F':
            if (!strcmp(optarg, "auto"))
                a->focus_auto = 1;
            else if (!ds_cli_parse_float(optarg, 0.0, 1.0, &a->path.focus))
                return ds_cli_usage_error("animate", "--focus takes 'auto' or 0 (far) to 1 (near)");
            else
                a->focus_auto = 0;
            break;
        case 'V':
            if (!ds_cli_parse_float(optarg, 0.0, 180.0, &a->scene.fov_deg) || !(a->scene.fov_deg > 0.0f) ||
                !(a->scene.fov_deg < 180.0f))
                return ds_cli_usage_error("animate", "--fov takes degrees between 0 and 180");
            a->fov_given = 1;
            break;
        case 'T':
            if (!ds_cli_parse_float(optarg, 1.0, 1e6, &a->scene.tear) || !(a->scene.tear > 1.0f))
                return ds_cli_usage_error("animate", "--tear takes a stretch above 1");
            break;
        case 'c':
            if (!ds_cli_parse_int(optarg, 0, 51, &a->crf))
                return ds_cli_usage_error("animate", "--crf takes 0 to 51");
            break;
        case 'h': fputs(ANIMATE_HELP, stdout); return -1;
        default: return ds_cli_usage_error("animate", "bad option");
        }
    }
    if (!a->model || !a->out || argc - optind != 1)
        return ds_cli_usage_error("animate", "--model, -o OUT and one IMAGE are required");
    a->image = argv[optind];
    return DS_EXIT_OK;
}

/* "[#####     ] 45/150 frames, 12.3 frames/s" on one rewritten line. */
static void progress(int done, int total, double seconds) {
    char bar[31];
    const int fill = total ? done * 30 / total : 30;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\ranimate: [%s] %d/%d frames, %.1f frames/s", bar, done, total,
            seconds > 0.0 ? done / seconds : 0.0);
    if (done == total)
        fputc('\n', stderr);
}

/* Where the frames go without ffmpeg: OUT.mp4 -> OUT_frames. */
static void fallback_dir(const char *out, char *buf, size_t len) {
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    const int stem = dot && (!slash || dot > slash) ? (int)(dot - out) : (int)strlen(out);
    snprintf(buf, len, "%.*s_frames", stem, out);
}

/* Whether the folder `path` goes into exists and takes new files. */
static int writable_parent(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
        buf[n - 1] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        snprintf(buf, sizeof buf, ".");
    else
        slash[slash == buf ? 1 : 0] = '\0';
    return ds_is_dir(buf) && access(buf, W_OK | X_OK) == 0;
}

typedef struct clip {
    ds_image photo, frame0;
    float *depth;
    ds_camera *cams;
    int n_frames;
    double depth_seconds, render_seconds;
} clip;

static void clip_free(clip *c) {
    ds_image_free(&c->photo);
    ds_image_free(&c->frame0);
    free(c->depth);
    free(c->cams);
}

/* A metric depth map (metres) as the scene takes depth: its inverse, with
 * near and far the map's nearest and farthest depths, so that the scene's
 * 1/z = 1/far + n (1/near - 1/far) gives each pixel its own depth back
 * (n the inverse normalized over the map). Depths <= 0 (none from a model)
 * count as the farthest. */
static void metric_scene(float *depth, size_t n, ds_scene_params *scene) {
    float lo = INFINITY, hi = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (depth[i] > 0.0f && isfinite(depth[i])) {
            lo = fminf(lo, depth[i]);
            hi = fmaxf(hi, depth[i]);
        }
    if (!(hi > 0.0f))
        return; /* nothing measured: the relative scene's defaults */
    if (!(hi > lo))
        hi = lo * 1.001f; /* a flat map: near < far */
    for (size_t i = 0; i < n; i++)
        depth[i] = depth[i] > 0.0f && isfinite(depth[i]) ? 1.0f / depth[i] : 1.0f / hi;
    scene->near_m = lo;
    scene->far_m = hi;
}

/* The photo fitted to the frame, its depth map, and the camera of every frame. */
static ds_status prepare(animate_args *a, ds_video_kind kind, clip *c) {
    DS_TRY(ds_image_read(a->image, a->batch.max_pixels, &c->photo));
    if (!a->width)
        ds_image_fit_default_size(c->photo.width, c->photo.height, kind == DS_VIDEO_GIF ? 640 : 1920,
                                  kind == DS_VIDEO_MP4, &a->width, &a->height);
    DS_TRY(ds_image_fit(&c->photo, a->width, a->height, &c->frame0));
    ds_image_free(&c->photo); /* the frame-sized copy is all that is used from here */
    c->depth = malloc((size_t)a->width * a->height * sizeof(float));
    if (!c->depth)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory for its depth map", a->image);
    ds_engine *e;
    DS_TRY(ds_open_model(a->model, &a->engine, &e));
    const double t0 = ds_cli_seconds();
    ds_extras ex = {0};
    ds_status s = ds_engine_solve_rgb8_ex(e, c->frame0.rgb, a->width, a->height, (size_t)a->width * 3,
                                          &a->batch.solve, c->depth, &ex);
    if (s == DS_OK && ex.has_camera && !a->fov_given) /* the field of view the model estimated */
        a->scene.fov_deg = a->width >= a->height ? ex.camera.fov_x_deg : ex.camera.fov_y_deg;
    c->depth_seconds = ds_cli_seconds() - t0;
    /* The network's depth edges, upsampled to the frame, spread over about
     * two network pixels: the scene makes ramps that wide steps. */
    int net_w = 0, net_h = 0;
    if (s == DS_OK && ds_engine_input_size(e, a->width, a->height, &a->batch.solve, &net_w, &net_h) == DS_OK) {
        const int side = a->width > a->height ? a->width : a->height, net = net_w > net_h ? net_w : net_h;
        const int radius = (2 * side + net - 1) / net;
        a->scene.edge_radius = radius > 64 ? 64 : radius;
    }
    ds_model_info info;
    ds_engine_model_info(e, &info);
    a->scene.device = !strcmp(info.device, "cuda")       ? DS_DEVICE_CUDA
                      : !strcmp(info.device, "cuda-emu") ? DS_DEVICE_CUDA_EMU
                                                         : DS_DEVICE_CPU;
    a->scene.device_index = a->engine.device_index;
    a->scene.n_threads = info.n_threads;
    ds_engine_free(e);
    DS_TRY(s);
    if (info.quantity == DS_DEPTH_METRIC || info.quantity == DS_DEPTH_RELATIVE) /* depth, not its inverse */
        metric_scene(c->depth, (size_t)a->width * a->height, &a->scene);
    if (a->focus_auto)
        a->path.focus = ds_depth_focus(c->depth, a->width, a->height);
    c->n_frames = (int)lround((double)a->seconds * a->fps);
    c->n_frames = c->n_frames < 1 ? 1 : c->n_frames;
    c->cams = malloc((size_t)c->n_frames * sizeof *c->cams);
    if (!c->cams)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    /* loops end where they began (t = 1 is frame 0 again); one-way moves arrive */
    const int loop = a->path.motion == DS_MOTION_SWING || a->path.motion == DS_MOTION_CIRCLE;
    const int steps = loop ? c->n_frames : c->n_frames - 1;
    for (int i = 0; i < c->n_frames; i++)
        DS_TRY(ds_camera_on_path(&a->path, &a->scene, steps ? (float)i / (float)steps : 0.0f, &c->cams[i]));
    return ds_scene_margin(&a->scene, a->width, a->height, c->cams, c->n_frames, &a->scene.margin);
}

static ds_status render(const animate_args *a, clip *c, ds_video *video) {
    ds_scene *scene;
    DS_TRY(ds_scene_create(c->frame0.rgb, a->width, a->height, (size_t)a->width * 3, c->depth, &a->scene, &scene));
    uint8_t *frame = malloc((size_t)a->width * a->height * 3);
    ds_status s = frame ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a frame");
    const int bar = !a->quiet && isatty(2);
    const double t0 = ds_cli_seconds();
    for (int i = 0; i < c->n_frames && s == DS_OK; i++) {
        s = ds_scene_render(scene, &c->cams[i], frame, (size_t)a->width * 3);
        if (s == DS_OK)
            s = ds_video_write(video, frame);
        if (bar)
            progress(i + 1, c->n_frames, ds_cli_seconds() - t0);
    }
    c->render_seconds = ds_cli_seconds() - t0;
    free(frame);
    ds_scene_free(scene);
    return s;
}

int ds_cmd_animate(int argc, char **argv) {
    animate_args a;
    memset(&a, 0, sizeof a);
    a.engine = ds_engine_default_params();
    a.batch.solve = ds_solve_default_params();
    a.batch.max_pixels = DS_IMAGE_MAX_PIXELS_DEFAULT;
    a.n_shards = 1;
    a.path = ds_path_default_params();
    a.scene = ds_scene_default_params();
    a.seconds = 5.0f;
    a.fps = 30;
    a.crf = 18;
    a.focus_auto = 1;
    int rc = parse(argc, argv, &a);
    if (rc != DS_EXIT_OK)
        return rc < 0 ? DS_EXIT_OK : rc;
    ds_video_kind kind;
    if (!ds_video_kind_of(a.out, &kind))
        return ds_cli_usage_error("animate", "-o %s: name an .mp4, a .gif or a folder (ending in '/')", a.out);
    if (kind == DS_VIDEO_MP4 && a.width && (a.width % 2 || a.height % 2))
        return ds_cli_usage_error("animate", "--size %dx%d: H.264 (yuv420p) needs an even width and height",
                                  a.width, a.height);
    char out[4096];
    snprintf(out, sizeof out, "%s", a.out);
    const int no_ffmpeg = kind != DS_VIDEO_PNG_DIR && !ds_video_have_ffmpeg();
    if (no_ffmpeg) {
        fallback_dir(a.out, out, sizeof out);
        fprintf(stderr, "depthsolve animate: ffmpeg is not on PATH (Debian: apt-get install ffmpeg): "
                        "writing PNG frames to %s/ instead of %s\n", out, a.out);
        kind = DS_VIDEO_PNG_DIR;
    }
    if (!writable_parent(out)) {
        fprintf(stderr, "depthsolve animate: %s: its folder does not exist or is not writable\n", out);
        return DS_EXIT_FAILED;
    }
    if (!a.batch.overwrite && ds_video_exists(out, kind)) {
        fprintf(stderr, "depthsolve animate: %s exists (--overwrite replaces it)\n", out);
        return DS_EXIT_FAILED;
    }
    int quiet = a.quiet;
    a.engine.log = ds_cli_log;
    a.engine.log_user = &quiet;
    clip c;
    memset(&c, 0, sizeof c);
    ds_status s = prepare(&a, kind, &c);
    ds_video *video = NULL;
    if (s == DS_OK)
        s = ds_video_open(out, kind, a.width, a.height, a.fps, a.crf, &video);
    if (s == DS_OK)
        s = render(&a, &c, video);
    const ds_status closed = ds_video_close(video, s == DS_OK);
    if (s == DS_OK)
        s = closed;
    if (s != DS_OK) {
        clip_free(&c);
        return ds_cli_report("animate", s);
    }
    if (!a.quiet)
        fprintf(stderr, "animate: %s: %d frames of %dx%d at %d fps, %s (strength %.3g, focus %.2f); depth %.2f s, "
                        "frames %.2f s (%.1f frames/s, %s)\n",
                out, c.n_frames, a.width, a.height, a.fps, ds_motion_name(a.path.motion),
                (double)(a.path.strength < 0.0f ? ds_motion_default_strength(a.path.motion) : a.path.strength),
                (double)a.path.focus, c.depth_seconds, c.render_seconds,
                c.render_seconds > 0.0 ? c.n_frames / c.render_seconds : 0.0,
                a.scene.device == DS_DEVICE_CPU ? "cpu" : a.scene.device == DS_DEVICE_CUDA ? "cuda" : "cuda-emu");
    clip_free(&c);
    return no_ffmpeg ? DS_EXIT_FAILED : DS_EXIT_OK;
}
