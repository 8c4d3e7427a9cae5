/* cmd_net.c: depthsolve net, the network alone on a normalized 1x3xHxW tensor. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h" /* DS_TRY */
#include "src/cli.h"
#include "src/io/dirs.h" /* ds_is_dir, ds_mkdirs */
#include "base/shape.h" /* ds_format_shape */
#include "src/io/npy.h" /* ds_npy_read, ds_npy_write */

static const char NET_HELP[] =
    "usage: depthsolve net --model M.gguf --input x.npy -o y.npy [options]\n"
    "\n"
    "Runs the network alone on a normalized 1x3xHxW float32 tensor (NCHW .npy)\n"
    "and writes the 1xHxW depth map (relative inverse depth; metres for a metric\n"
    "model).\n"
    "\n"
    "  --model FILE        converted model (depthsolve convert / synth)\n"
    "  --input FILE        1x3xHxW float32 .npy; H and W multiples of 32 (16 for DPT,\n"
    "                      14 for Depth Anything V2 and 3)\n"
    "  -o, --output FILE   1xHxW float32 .npy\n"
    "  --dump DIR          also write every named stage as DIR/<stage>.npy (1xCxHxW):\n"
    "                      pretrained_layerN, scratch_layerN_rn, scratch_refinenetN,\n"
    "                      head_pre_relu; Depth Anything V2 and 3: pos_embed_resized,\n"
    "                      backbone_layerN, head_projectN, head_conv1, head_pre_act\n"
    "                      (the names of the PyTorch reference dumps), and the\n"
    "                      outputs: depth.npy, and Depth Anything 3's depth_conf,\n"
    "                      sky, pose_enc, extrinsics, intrinsics\n"
    "  --device D          auto, cpu, cuda, cuda:N, cuda-emu (default auto: the GPU\n"
    "                      when one works, else the CPU; cuda-emu is the CUDA\n"
    "                      backend on the CPU emulator: slow, for checking)\n"
    "  --no-autotune       CUDA: the library's default algorithms, not timed ones\n"
    "  --precision P       CUDA: fp32 (default: float32 math, no tensor cores), tf32\n"
    "                      (TF32 tensor cores) or fp16 (half operands on tensor\n"
    "                      cores, float32 between layers). CPU: fp32, or bf16\n"
    "                      (linear layers on bfloat16 operands, float32 sums;\n"
    "                      needs AVX512-BF16, an error elsewhere)\n"
    "  --threads N         CPU threads (default: all cores)\n"
    "  --reference         plain reference ops (slow; for checking the fast ones)\n"
    "  --profile           log the time of every op kind and the slowest nodes\n"
    "  --repeat N          run N times (with --profile: see warm timings)\n";

typedef struct dump_ctx {
    const char *dir;
    int failed;
} dump_ctx;

static void dump_stage(const char *name, const float *nchw, int c, int h, int w, void *user) {
    dump_ctx *d = user;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", d->dir, name);
    int64_t shape[4] = {1, c, h, w};
    if (ds_npy_write(path, nchw, 4, shape) != DS_OK) {
        ds_cli_report("net", DS_ERR_IO);
        d->failed = 1;
    }
}

/* The model's outputs under the reference names: depth.npy (1x1xHxW), and
 * for a model that estimates the camera extrinsics.npy (1x1x3x4) and
 * intrinsics.npy (1x1x3x3) at the network's size. */
static ds_status dump_outputs(const ds_engine *e, const char *dir, const float *depth, int h, int w) {
    char path[4200];
    snprintf(path, sizeof path, "%s/depth.npy", dir);
    const int64_t ds[4] = {1, 1, h, w};
    DS_TRY(ds_npy_write(path, depth, 4, ds));
    ds_extras ex = {0};
    DS_TRY(ds_engine_last_extras(e, &ex));
    if (!ex.has_camera)
        return DS_OK;
    const ds_pinhole *c = &ex.net_camera;
    const float k[9] = {c->fx, 0, c->cx, 0, c->fy, c->cy, 0, 0, 1};
    const int64_t es[4] = {1, 1, 3, 4}, ks[4] = {1, 1, 3, 3};
    snprintf(path, sizeof path, "%s/extrinsics.npy", dir);
    DS_TRY(ds_npy_write(path, c->extrinsics, 4, es));
    snprintf(path, sizeof path, "%s/intrinsics.npy", dir);
    return ds_npy_write(path, k, 4, ks);
}

int ds_cmd_net(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'}, {"dump", required_argument, 0, 'D'},
        {"device", required_argument, 0, 'd'}, {"threads", required_argument, 0, 't'},
        {"reference", no_argument, 0, 'R'},    {"quiet", no_argument, 0, 'q'},
        {"profile", no_argument, 0, 'P'},      {"repeat", required_argument, 0, 'r'},
        {"no-autotune", no_argument, 0, 'A'}, {"precision", required_argument, 0, 'Y'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    ds_engine_params p = ds_engine_default_params();
    const char *input = NULL, *output = NULL, *dump_dir = NULL;
    int quiet = 0, repeat = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': p.model_path = optarg; break;
        case 'i': input = optarg; break;
        case 'o':
            if (!optarg[0])
                return ds_cli_usage_error("net", "-o takes a path, not an empty one");
            output = optarg;
            break;
        case 'D': dump_dir = optarg; break;
        case 'd':
            if (!ds_cli_parse_device(optarg, &p.device, &p.device_index))
                return ds_cli_usage_error("net", "unknown device '%s'", optarg);
            break;
        case 't':
            if (!ds_cli_parse_threads(optarg, &p.n_threads))
                return ds_cli_usage_error("net", "--threads takes 1 to 1024, not '%s'",
                                          optarg);
            break;
        case 'R': p.reference = 1; break;
        case 'A': p.autotune = 0; break;
        case 'Y':
            if (!ds_cli_parse_precision(optarg, &p.precision))
                return ds_cli_usage_error("net", "--precision takes fp32, tf32, fp16 or bf16");
            break;
        case 'P': p.profile = 1; break;
        case 'r':
            if (!ds_cli_parse_threads(optarg, &repeat))
                return ds_cli_usage_error("net", "--repeat takes a positive number");
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(NET_HELP, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error("net", "bad option");
        }
    }
    if (optind != argc)
        return ds_cli_usage_error("net", "unexpected argument '%s'", argv[optind]);
    if (!p.model_path || !input || !output)
        return ds_cli_usage_error("net", "--model, --input and -o are required");
    if (dump_dir && mkdir(dump_dir, 0777) != 0 && !ds_is_dir(dump_dir))
        return ds_cli_usage_error("net", "cannot create the dump directory %s", dump_dir);
    p.log = ds_cli_log;
    p.log_user = &quiet;
    ds_npy x;
    ds_status s = ds_npy_read(input, &x);
    if (s != DS_OK)
        return ds_cli_report("net", s);
    if (x.ndim == 5 && x.shape[0] == 1 && x.shape[1] == 1) { /* Depth Anything 3's (B, S views, C, H, W) */
        for (int d = 1; d < 5; d++)
            x.shape[d - 1] = x.shape[d];
        x.ndim = 4;
    }
    if (x.ndim != 4 || x.shape[0] != 1 || x.shape[1] != 3) {
        char shape[128];
        ds_format_shape(shape, sizeof shape, x.ndim, x.shape);
        ds_npy_free(&x);
        fprintf(stderr, "depthsolve net: %s: expected a 1x3xHxW float32 tensor, got %s\n", input,
                shape);
        return DS_EXIT_FAILED;
    }
    int h = (int)x.shape[2], w = (int)x.shape[3];
    ds_engine *e = NULL;
    float *depth = malloc((size_t)h * (size_t)w * sizeof *depth + 1);
    dump_ctx dump = {dump_dir, 0};
    s = depth ? ds_engine_create(&p, &e) : DS_ERR_OUT_OF_MEMORY;
    for (int i = 0; s == DS_OK && i < repeat; i++) /* repeats: warm timing runs */
        s = ds_engine_run_stages(e, x.data, h, w, depth, dump_dir ? dump_stage : NULL, &dump);
    if (s == DS_OK) {
        int64_t shape[3] = {1, h, w};
        s = ds_npy_write(output, depth, 3, shape);
    }
    if (s == DS_OK && dump_dir)
        s = dump_outputs(e, dump_dir, depth, h, w);
    ds_engine_free(e);
    ds_npy_free(&x);
    free(depth);
    if (s != DS_OK)
        return ds_cli_report("net", s);
    return dump.failed ? DS_EXIT_FAILED : DS_EXIT_OK;
}
