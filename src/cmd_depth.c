/* cmd_depth.c: depthsolve depth, photos and folders in, depth maps out (run.py's job). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/cli.h"
#include "src/cli_batch.h"     /* ds_cli_batch_option, ds_cli_batch_inputs */
#include "src/depth_batch.h"   /* ds_batch_run */
#include "src/depth_inputs.h"  /* ds_input_list */
#include "src/depth_outputs.h" /* ds_parse_formats, ds_parse_normalize */
#include "src/io/image.h"         /* DS_IMAGE_MAX_PIXELS_DEFAULT */
#include "src/model_store.h"   /* ds_open_model */
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */

static const char DEPTH_HELP[] =
    "usage: depthsolve depth --model M [options] INPUT... -o OUTDIR\n"
    "\n"
    "Depth maps of photos, as MiDaS's run.py computes them: the image is resized\n"
    "(cubic) to the network size, the network runs, its output is resized\n"
    "(bicubic) back to the photo's size. INPUTs are PNG/JPEG files or directories.\n"
    "\n"
    "  --model M            a .gguf, a checkpoint (.pt, .safetensors: converted on\n"
    "                       the fly), or a name (midas_v21_small_256, midas_v21_384,\n"
    "                       dpt_hybrid_384, dpt_large_384, dpt_swin2_large_384,\n"
    "                       dpt_swin2_base_384, dpt_swin2_tiny_256, dpt_swin_large_384,\n"
    "                       dpt_levit_224, dpt_beit_large_512 (run.py's default),\n"
    "                       dpt_beit_large_384, dpt_beit_base_384) found in\n"
    "                       $DEPTHSOLVE_MODELS (default ~/.cache/depthsolve; see\n"
    "                       'depthsolve fetch'). The Swin and LeViT models take\n"
    "                       one size, 384x384 (Swin2-T: 256x256, LeViT: 224x224):\n"
    "                       every photo is stretched to it, as run.py does for\n"
    "                       them (--square is implied, and --height can only be\n"
    "                       that size)\n"
    "  -o, --output DIR     where outputs go: DIR/<name>-<model>.<ext>\n"
    "  -r, --recursive      descend into sub-directories (outputs mirror them)\n"
    "  -L, --follow-links   -r, and into links to directories too (each directory once)\n"
    "  --format LIST        png8,png16,pfm,npy,conf (default png8,pfm as run.py);\n"
    "                       conf: the model's confidence map, <name>-<model>.conf.pfm\n"
    "                       (and .conf.npy with npy): Depth Anything 3 small\n"
    "  --colormap NAME      gray, inferno (default, as run.py) or turbo, for png8\n"
    "  --grayscale          run.py's flag: png16 gray instead of png8 inferno\n"
    "  --side-by-side       png8 shows the photo and its depth side by side\n"
    "  --normalize MODE     PNG range: image (per photo, run.py), global (one range\n"
    "                       over the batch: no flicker between video frames), or\n"
    "                       fixed:MIN,MAX (values outside are clamped)\n"
    "  --square             stretch to the network size (run.py --square)\n"
    "  --height N           network size to aim for (run.py --height; Depth Anything 3:\n"
    "                       its process_res, the long side, default 504)\n"
    "                       dpt_levit_224 takes 224x224 only: every photo is\n"
    "                       stretched to it, as run.py does, and --height does not\n"
    "                       apply\n"
    "  --net-size           outputs at the network input's size, not resized to the\n"
    "                       photo's (as Depth Anything 3's API returns them); else\n"
    "                       the model's resize back (Depth Anything: bilinear,\n"
    "                       align_corners)\n"
    "  --fov DEG            Depth Anything 3 metric: the photos' field of view along\n"
    "                       the long side, for the focal length metres depend on\n"
    "                       (default: the photo's EXIF, else --camera-model's\n"
    "                       estimate, else 55; a line says which)\n"
    "  --camera-model M     a camera-estimating model (da3_small) for that focal length\n"
    "  --overwrite          redo photos whose outputs exist (default: skip them)\n"
    "  --shard I/N          only the I-th (0-based) of N slices of the sorted photo\n"
    "                       list, for array jobs (Slurm, Kubernetes indexed jobs)\n"
    "  --max-pixels N       refuse larger photos (default 134217728)\n"
    "  --device D           auto, cpu, cuda, cuda:N, cuda-emu (default auto: the GPU\n"
    "                       when one works, else the CPU; cuda-emu: the CUDA backend\n"
    "                       on the CPU emulator, slow, for checking)\n"
    "  --no-autotune        CUDA: the library's default algorithms, not timed ones\n"
    "  --precision P        CUDA: fp32 (default: float32 math, no tensor cores), tf32\n"
    "                       (TF32 tensor cores) or fp16 (half operands on tensor\n"
    "                       cores, float32 between layers). CPU: fp32, or bf16\n"
    "                       (linear layers on bfloat16 operands, float32 sums;\n"
    "                       needs AVX512-BF16, an error elsewhere)\n"
    "  --threads N          CPU threads (default: all cores)\n"
    "  -q, --quiet          no progress line and no summary\n"
    "\n"
    "A model that estimates the camera (Depth Anything 3 small), or a metric Depth\n"
    "Anything 3, also writes <name>-<model>.camera.json: the intrinsics at the\n"
    "photo's and the network's size, the fields of view, and the pose if estimated.\n"
    "\n"
    "Exit status: 0 all photos done (or skipped), 1 some failed, 2 usage error.\n";

typedef struct depth_args {
    const char *model, *out_dir, *camera_model;
    ds_engine_params engine;
    ds_batch_opts batch;
    int walk_flags, quiet, shard, n_shards, grayscale, formats_given;
} depth_args;

static int parse(int argc, char **argv, depth_args *a) {
    static const struct option opts[] = {
        DS_CLI_ENGINE_OPTIONS,
        {"recursive", no_argument, 0, 'r'},       {"follow-links", no_argument, 0, 'L'},       {"format", required_argument, 0, 'f'},
        {"colormap", required_argument, 0, 'c'},  {"grayscale", no_argument, 0, 'g'},
        {"side-by-side", no_argument, 0, 's'},    {"normalize", required_argument, 0, 'n'},
        {"shard", required_argument, 0, 'x'},     {"net-size", no_argument, 0, 'N'},
        {"fov", required_argument, 0, 'F'},       {"camera-model", required_argument, 0, 'C'},
        {0, 0, 0, 0}};
    ds_output_opts *o = &a->batch.out;
    int c;
    optind = 1;
    const ds_batch_cli shared = {&a->engine, &a->batch, &a->shard, &a->n_shards, &a->quiet};
    while ((c = getopt_long(argc, argv, "o:rLqh", opts, NULL)) != -1) {
        int rc = ds_cli_batch_option("depth", c, optarg, &shared);
        if (rc != DS_CLI_NOT_MINE) {
            if (rc)
                return rc;
            continue;
        }
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'o':
            if (!optarg[0])
                return ds_cli_usage_error("depth", "-o takes a path, not an empty one");
            a->out_dir = optarg;
            break;
        case 'r': a->walk_flags |= DS_INPUTS_RECURSIVE; break;
        case 'L': a->walk_flags |= DS_INPUTS_RECURSIVE | DS_INPUTS_FOLLOW_LINKS; break;
        case 'f':
            if (!ds_parse_formats(optarg, &o->formats))
                return ds_cli_usage_error("depth", "--format takes png8,png16,pfm,npy, not '%s'", optarg);
            a->formats_given = 1;
            break;
        case 'c':
            if (ds_colormap_from_name(optarg, &o->colormap) != DS_OK)
                return ds_cli_usage_error("depth", "--colormap takes gray, inferno or turbo");
            break;
        case 'g': a->grayscale = 1; break;
        case 'N': a->batch.solve.net_output = 1; break;
        case 'F':
            if (!ds_cli_parse_float(optarg, 0.0f, 180.0f, &a->batch.fov_deg) || !(a->batch.fov_deg > 0.0f) ||
                !(a->batch.fov_deg < 180.0f))
                return ds_cli_usage_error("depth", "--fov takes degrees between 0 and 180");
            break;
        case 'C': a->camera_model = optarg; break;
        case 's': o->side_by_side = 1; break;
        case 'n':
            if (!ds_parse_normalize(optarg, &o->norm, &o->fixed_min, &o->fixed_max))
                return ds_cli_usage_error("depth", "--normalize takes image, global or "
                                                   "fixed:MIN,MAX with MIN < MAX, not '%s'", optarg);
            break;
        case 'h': fputs(DEPTH_HELP, stdout); return -1;
        default: return ds_cli_usage_error("depth", "bad option");
        }
    }
    if (!a->model || !a->out_dir || optind >= argc)
        return ds_cli_usage_error("depth", "--model, -o OUTDIR and at least one INPUT are required");
    if (a->batch.solve.net_output && o->side_by_side)
        return ds_cli_usage_error("depth", "--side-by-side needs the photo's size: not with --net-size");
    if (a->grayscale && !a->formats_given)
        o->formats = DS_OUT_PNG16 | DS_OUT_PFM;
    if (a->grayscale)
        o->colormap = DS_COLORMAP_GRAY;
    return DS_EXIT_OK;
}

/* The output directory exists (created if needed) and accepts files. */
static int check_out_dir(const char *dir) {
    if (ds_mkdirs(dir) != DS_OK) {
        ds_cli_report("depth", DS_ERR_IO);
        return 0;
    }
    if (!ds_is_dir(dir) || access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "depthsolve depth: %s: not a writable directory\n", dir);
        return 0;
    }
    return 1;
}

int ds_cmd_depth(int argc, char **argv) {
    depth_args a;
    memset(&a, 0, sizeof a);
    a.engine = ds_engine_default_params();
    a.batch.solve = ds_solve_default_params();
    a.batch.out.formats = DS_OUT_PNG8 | DS_OUT_PFM;
    a.batch.out.colormap = DS_COLORMAP_INFERNO;
    a.batch.max_pixels = DS_IMAGE_MAX_PIXELS_DEFAULT;
    a.n_shards = 1;
    int rc = parse(argc, argv, &a);
    if (rc != DS_EXIT_OK)
        return rc < 0 ? DS_EXIT_OK : rc;
    ds_input_list inputs;
    rc = ds_cli_batch_inputs("depth", argv + optind, argc - optind, a.walk_flags, a.shard, a.n_shards, &inputs);
    if (rc != DS_EXIT_OK)
        return rc;
    if (!check_out_dir(a.out_dir)) {
        ds_inputs_free(&inputs);
        return DS_EXIT_FAILED;
    }
    ds_engine *e;
    if ((rc = ds_cli_batch_open("depth", a.model, &a.engine, &a.quiet, &a.batch.solve, &e)) != DS_EXIT_OK) {
        ds_inputs_free(&inputs);
        return rc;
    }
    ds_model_info info;
    ds_engine_model_info(e, &info);
    ds_inputs_drop_outputs(&inputs, info.arch_name);
    ds_engine *cam = NULL;
    ds_status s = DS_OK;
    if ((a.batch.out.formats & DS_OUT_CONF) && !(info.outputs & DS_OUTPUT_CONFIDENCE)) {
        fprintf(stderr, "depthsolve depth: --format conf: %s gives no confidence map\n", info.arch_name);
        s = DS_ERR_INVALID_ARGUMENT;
    }
    if (s == DS_OK && a.camera_model) {
        ds_engine_params cp = a.engine;
        s = ds_open_model(a.camera_model, &cp, &cam);
        ds_model_info ci;
        if (s == DS_OK && ds_engine_model_info(cam, &ci) == DS_OK && !(ci.outputs & DS_OUTPUT_CAMERA)) {
            fprintf(stderr, "depthsolve depth: --camera-model %s: %s does not estimate the camera\n", a.camera_model,
                    ci.arch_name);
            s = DS_ERR_INVALID_ARGUMENT;
        } else if (s != DS_OK) {
            ds_cli_report("depth", s);
        }
    }
    if (s != DS_OK) {
        ds_engine_free(cam);
        ds_engine_free(e);
        ds_inputs_free(&inputs);
        return DS_EXIT_FAILED;
    }
    a.batch.engine = e;
    a.batch.camera_engine = cam;
    a.batch.quiet = a.quiet;
    a.batch.out.dir = a.out_dir;
    a.batch.out.model_name = info.arch_name;
    /* depth (metres, or Depth Anything 3's relative depth): near is small */
    a.batch.out.metric = info.quantity == DS_DEPTH_METRIC || info.quantity == DS_DEPTH_RELATIVE;
    a.batch.out.camera_json = (info.outputs & DS_OUTPUT_CAMERA) || info.metric_focal_ref > 0;
    a.batch.progress = !a.quiet && isatty(2);
    ds_batch_result r;
    ds_batch_run(&a.batch, &inputs, &r);
    if (!a.quiet)
        ds_cli_batch_summary("depth", &r, &inputs);
    int failed = r.failed || inputs.n_problems;
    ds_engine_free(cam);
    ds_engine_free(e);
    ds_batch_result_free(&r);
    ds_inputs_free(&inputs);
    return failed ? DS_EXIT_FAILED : DS_EXIT_OK;
}
