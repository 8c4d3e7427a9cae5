/* cmd_mesh.c: depthsolve mesh, photos in, displaced textured meshes out
 * (the depth pipeline of `depthsolve depth`, then ds_mesh_build; on a CUDA
 * backend ds_engine_mesh_rgb8, the mesh built where the depth map is). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/cli.h"
#include "src/cli_batch.h"     /* ds_cli_batch_option, ds_cli_batch_inputs */
#include "src/depth_batch.h"  /* ds_batch_run, ds_batch_sink */
#include "src/depth_inputs.h" /* ds_input_list */
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */
#include "base/error.h"        /* ds_fail */
#include "src/io/image.h"        /* DS_IMAGE_MAX_PIXELS_DEFAULT */
#include "src/io/mesh_write.h"   /* ds_mesh_write, ds_mesh_format */

static const char MESH_HELP[] =
    "usage: depthsolve mesh --model M [options] IMAGE -o OUT.{glb,obj,ply}\n"
    "       depthsolve mesh --model M [options] INPUT... -o OUTDIR [--format glb|obj|ply]\n"
    "\n"
    "A textured 3D mesh of each photo: its depth map (as 'depthsolve depth'\n"
    "computes it) displaces a grid of vertices; the photo is the texture.\n"
    "Units: metres; axes: +Y up, +Z towards the viewer (glTF's).\n"
    "\n"
    "  --model M            as for 'depthsolve depth'\n"
    "  -o, --output OUT     a .glb (binary glTF 2.0: mesh, texture, camera), .obj\n"
    "                       (+ .mtl + -texture.png) or .ply (binary, + -texture.png)\n"
    "                       for one IMAGE; else a directory: OUTDIR/<name>-<model>.<ext>\n"
    "  --format F           glb (default), obj or ply, for the directory form\n"
    "  --grid N|pixel       N cells along the long side (default 128), or a vertex\n"
    "                       at every pixel\n"
    "  --projection P       plane (default): a 1 m high plane with the photo's aspect,\n"
    "                       pushed towards the viewer by --depth-scale x the inverse\n"
    "                       depth normalized to [0, 1]; camera: vertices along the\n"
    "                       rays of a pinhole camera, the mesh seen from it is the photo;\n"
    "                       with a metric model (Depth Anything V2 metric) each vertex\n"
    "                       lies at its depth in metres: the mesh has its true size;\n"
    "                       Depth Anything 3's depths are placed as they are too\n"
    "  --depth-scale S      plane: metres at the nearest point (default 0.25)\n"
    "  --fov DEG            camera field of view along the long side (default: the one\n"
    "                       the model estimates (Depth Anything 3 small), else from the\n"
    "                       photo's EXIF 35 mm focal length when it has one, else 55)\n"
    "  --near Z, --far Z    depths of the nearest and farthest points (default 1, 10;\n"
    "                       a metric model's depths are its own)\n"
    "  --tear T             drop triangles whose depth range exceeds T times their\n"
    "                       nearest depth, so foreground and background separate\n"
    "                       (e.g. 0.05; default 0: keep all)\n"
    "  -r, --recursive, -L, --follow-links, --overwrite, --shard I/N, --square,\n"
    "  --height N, --input-size N, --max-pixels N, --device D, --threads N,\n"
    "  --no-autotune, --precision P, -q\n"
    "                       as for 'depthsolve depth'\n"
    "\n"
    "Exit status: 0 all photos done (or skipped), 1 some failed, 2 usage error.\n";

typedef struct mesh_args {
    const char *model, *out;
    int single; /* -o names the file */
    ds_mesh_format format;
    ds_mesh_params mesh;
    ds_engine_params engine;
    ds_batch_opts batch;
    const char *model_name;
    int walk_flags, quiet, shard, n_shards, fov_given;
} mesh_args;

static int parse(int argc, char **argv, mesh_args *a) {
    static const struct option opts[] = {
        DS_CLI_ENGINE_OPTIONS,
        {"recursive", no_argument, 0, 'r'},         {"follow-links", no_argument, 0, 'L'},
        {"format", required_argument, 0, 'f'},
        {"grid", required_argument, 0, 'G'},        {"projection", required_argument, 0, 'P'},
        {"depth-scale", required_argument, 0, 'D'}, {"fov", required_argument, 0, 'F'},
        {"near", required_argument, 0, 'N'},        {"far", required_argument, 0, 'R'},
        {"tear", required_argument, 0, 'T'},        {"shard", required_argument, 0, 'x'},
        {0, 0, 0, 0}};
    int c, format_given = 0;
    optind = 1;
    const ds_batch_cli shared = {&a->engine, &a->batch, &a->shard, &a->n_shards, &a->quiet};
    while ((c = getopt_long(argc, argv, "o:rLqh", opts, NULL)) != -1) {
        int rc = ds_cli_batch_option("mesh", c, optarg, &shared);
        if (rc != DS_CLI_NOT_MINE) {
            if (rc)
                return rc;
            continue;
        }
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'o':
            if (!optarg[0])
                return ds_cli_usage_error("mesh", "-o takes a path, not an empty one");
            a->out = optarg;
            break;
        case 'r': a->walk_flags |= DS_INPUTS_RECURSIVE; break;
        case 'L': a->walk_flags |= DS_INPUTS_RECURSIVE | DS_INPUTS_FOLLOW_LINKS; break;
        case 'f':
            if (!ds_mesh_format_from_name(optarg, &a->format))
                return ds_cli_usage_error("mesh", "--format takes glb, obj or ply, not '%s'", optarg);
            format_given = 1;
            break;
        case 'G': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!strcmp(optarg, "pixel"))
                a->mesh.grid = 0;
            else if (end == optarg || *end || v < 1 || v > 16384)
                return ds_cli_usage_error("mesh", "--grid takes 1 to 16384 or 'pixel'");
            else
                a->mesh.grid = (int)v;
            break;
        }
        case 'P':
            if (!strcmp(optarg, "plane"))
                a->mesh.projection = DS_MESH_PLANE;
            else if (!strcmp(optarg, "camera"))
                a->mesh.projection = DS_MESH_CAMERA;
            else
                return ds_cli_usage_error("mesh", "--projection takes plane or camera");
            break;
        case 'D':
            if (!ds_cli_parse_float(optarg, -1e6f, 1e6f, &a->mesh.depth_scale))
                return ds_cli_usage_error("mesh", "--depth-scale takes a number");
            break;
        case 'F':
            if (!ds_cli_parse_float(optarg, 0.0f, 180.0f, &a->mesh.fov_deg) || a->mesh.fov_deg <= 0.0f ||
                a->mesh.fov_deg >= 180.0f)
                return ds_cli_usage_error("mesh", "--fov takes degrees between 0 and 180");
            a->fov_given = 1;
            break;
        case 'N':
        case 'R':
            if (!ds_cli_parse_float(optarg, 0.0f, 1e9f, c == 'N' ? &a->mesh.near_m : &a->mesh.far_m))
                return ds_cli_usage_error("mesh", "--near and --far take positive metres");
            break;
        case 'T':
            if (!ds_cli_parse_float(optarg, 0.0f, 1e9f, &a->mesh.tear))
                return ds_cli_usage_error("mesh", "--tear takes a number >= 0");
            break;
        case 'h': fputs(MESH_HELP, stdout); return -1;
        default: return ds_cli_usage_error("mesh", "bad option");
        }
    }
    if (!a->model || !a->out || optind >= argc)
        return ds_cli_usage_error("mesh", "--model, -o OUT and at least one INPUT are required");
    if (!(a->mesh.near_m < a->mesh.far_m))
        return ds_cli_usage_error("mesh", "--near must be below --far");
    ds_mesh_format by_ext;
    a->single = !ds_is_dir(a->out) && ds_mesh_format_from_path(a->out, &by_ext);
    if (a->single) {
        if (format_given && by_ext != a->format)
            return ds_cli_usage_error("mesh", "--format %s contradicts -o %s", ds_mesh_format_ext(a->format), a->out);
        a->format = by_ext;
        if (argc - optind != 1 || ds_is_dir(argv[optind]))
            return ds_cli_usage_error("mesh", "-o %s takes one IMAGE (a directory -o takes several)", a->out);
    }
    return DS_EXIT_OK;
}

/* The mesh file of `rel`. */
static void out_path(const mesh_args *a, const char *rel, char *buf, size_t len) {
    if (a->single)
        snprintf(buf, len, "%s", a->out);
    else
        snprintf(buf, len, "%s/%s-%s.%s", a->out, rel, a->model_name, ds_mesh_format_ext(a->format));
}

static int mesh_exists(void *user, const char *rel) {
    char path[4400];
    struct stat st;
    out_path(user, rel, path, sizeof path);
    return stat(path, &st) == 0;
}

/* Writes m as the mesh file of `rel` (making its mirrored sub-directory). */
static ds_status write_mesh(const mesh_args *a, const char *rel, const ds_image *photo, const ds_mesh *m) {
    char path[4400];
    out_path(a, rel, path, sizeof path);
    char *slash = strrchr(path, '/');
    if (slash && !a->single) { /* mirrored sub-directories */
        *slash = '\0';
        ds_status s = ds_mkdirs(path);
        *slash = '/';
        DS_TRY(s);
    }
    return ds_mesh_write(path, a->format, m, photo);
}

/* The parameters for one photo: unless --fov, the field of view along the
 * long side the model estimated (Depth Anything 3 small), else the photo's
 * EXIF one. */
static ds_mesh_params params_for(const mesh_args *a, const ds_image *photo, const ds_extras *ex) {
    ds_mesh_params p = a->mesh;
    const float fov = ds_image_fov_deg(photo);
    if (!a->fov_given && ex && ex->has_camera)
        p.fov_deg = photo->width >= photo->height ? ex->camera.fov_x_deg : ex->camera.fov_y_deg;
    else if (!a->fov_given && fov > 0.0f)
        p.fov_deg = fov;
    return p;
}

/* The CPU backend's way (writer thread): the mesh of the host depth map. */
static ds_status mesh_write(void *user, const char *rel, const ds_image *photo, const float *depth, int w, int h,
                            const ds_extras *ex) {
    const mesh_args *a = user;
    const ds_mesh_params p = params_for(a, photo, ex);
    ds_mesh m;
    DS_TRY(ds_mesh_build(depth, w, h, &p, &m));
    ds_status s = write_mesh(a, rel, photo, &m);
    ds_mesh_free(&m);
    return s;
}

/* A CUDA backend's way (main thread): the whole photo to its mesh, built on
 * the device from the depth map the network left there. */
static ds_status mesh_on_engine(void *user, ds_engine *e, const ds_image *photo, const ds_solve_params *solve,
                                void **result) {
    const mesh_args *a = user;
    const ds_mesh_params p = params_for(a, photo, NULL);
    ds_mesh *m = malloc(sizeof *m);
    if (!m)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    ds_status s = ds_engine_mesh_rgb8(e, photo->rgb, photo->width, photo->height, (size_t)photo->width * 3, solve,
                                      &p, NULL, m);
    if (s != DS_OK) {
        free(m);
        return s;
    }
    *result = m;
    return DS_OK;
}

/* ... and its mesh written on the writer thread, then released. */
static ds_status write_engine_mesh(void *user, const char *rel, const ds_image *photo, void *result) {
    ds_mesh *m = result;
    ds_status s = write_mesh(user, rel, photo, m);
    ds_mesh_free(m);
    free(m);
    return s;
}

int ds_cmd_mesh(int argc, char **argv) {
    mesh_args a;
    memset(&a, 0, sizeof a);
    a.mesh = ds_mesh_default_params();
    a.engine = ds_engine_default_params();
    a.batch.solve = ds_solve_default_params();
    a.batch.max_pixels = DS_IMAGE_MAX_PIXELS_DEFAULT;
    a.n_shards = 1;
    int rc = parse(argc, argv, &a);
    if (rc != DS_EXIT_OK)
        return rc < 0 ? DS_EXIT_OK : rc;
    ds_input_list inputs;
    rc = ds_cli_batch_inputs("mesh", argv + optind, argc - optind, a.walk_flags, a.shard, a.n_shards, &inputs);
    if (rc != DS_EXIT_OK)
        return rc;
    const char *dir = a.out;
    char parent[4096];
    if (a.single) { /* the file's directory must exist */
        const char *slash = strrchr(a.out, '/');
        snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - a.out) : 1, slash ? a.out : ".");
        dir = parent[0] ? parent : "/";
    }
    if ((!a.single && ds_mkdirs(dir) != DS_OK) || !ds_is_dir(dir) || access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "depthsolve mesh: %s: %s\n", dir,
                access(dir, F_OK) != 0 ? "no such directory" : "not a writable directory");
        ds_inputs_free(&inputs);
        return DS_EXIT_FAILED;
    }
    ds_engine *e;
    if ((rc = ds_cli_batch_open("mesh", a.model, &a.engine, &a.quiet, &a.batch.solve, &e)) != DS_EXIT_OK) {
        ds_inputs_free(&inputs);
        return rc;
    }
    ds_model_info info;
    ds_engine_model_info(e, &info);
    a.model_name = info.arch_name;
    /* depth (metres, or Depth Anything 3's depth up to a scale): the camera projection puts it as it is */
    a.mesh.metric = info.quantity == DS_DEPTH_METRIC || info.quantity == DS_DEPTH_RELATIVE;
    /* "cuda", "cuda-emu": the mesh built where the network left the depth map (not Depth Anything 3's
     * photo path, which runs on the host and gives the camera with the depth) */
    const int on_device = strncmp(info.device, "cuda", 4) == 0 && !info.resize_da3;
    const ds_batch_sink sink = {.cmd = "mesh", .exists = mesh_exists, .write = mesh_write, .user = &a,
                                .solve = on_device ? mesh_on_engine : NULL, .write_result = write_engine_mesh};
    a.batch.engine = e;
    a.batch.sink = &sink;
    a.batch.fov_deg = a.fov_given ? a.mesh.fov_deg : 0.0f; /* a metric Depth Anything 3's metres */
    a.batch.quiet = a.quiet;
    a.batch.out.dir = dir; /* --normalize global's temporary files would go there; unused here */
    a.batch.out.model_name = info.arch_name;
    a.batch.progress = !a.quiet && isatty(2);
    ds_batch_result r;
    ds_batch_run(&a.batch, &inputs, &r);
    if (!a.quiet)
        ds_cli_batch_summary("mesh", &r, &inputs);
    const int failed = r.failed || inputs.n_problems;
    ds_engine_free(e);
    ds_batch_result_free(&r);
    ds_inputs_free(&inputs);
    return failed ? DS_EXIT_FAILED : DS_EXIT_OK;
}
