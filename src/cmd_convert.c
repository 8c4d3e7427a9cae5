/* cmd_convert.c: depthsolve convert and depthsolve synth. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "src/cli.h"

static int parse_dtype(const char *s, ds_weight_dtype *out) {
    if (!strcmp(s, "f32"))
        *out = DS_WEIGHTS_F32;
    else if (!strcmp(s, "f16"))
        *out = DS_WEIGHTS_F16;
    else
        return 0;
    return 1;
}

static const char CONVERT_HELP[] =
    "usage: depthsolve convert IN.pt|IN.pth|IN.safetensors -o OUT.gguf [options]\n"
    "\n"
    "Reads an official MiDaS checkpoint (PyTorch zip or legacy format, or\n"
    "safetensors) without executing anything in it, checks every tensor against\n"
    "the architecture, folds BatchNorm and weight standardization, and writes GGUF.\n"
    "\n"
    "  -o, --output FILE     the GGUF file to write (written atomically)\n"
    "  --arch auto|NAME      architecture; auto detects it from names and shapes\n"
    "                        (midas_v21_small_256, midas_v21_384, dpt_hybrid_384,\n"
    "                        dpt_large_384, dpt_swin2_large_384, dpt_swin2_base_384,\n"
    "                        dpt_swin2_tiny_256, dpt_swin_large_384, dpt_levit_224,\n"
    "                        dpt_beit_large_512, dpt_beit_large_384, dpt_beit_base_384)\n"
    "  --dtype f32|f16       storage of conv and linear weights (default f32)\n"
    "  -q, --quiet           no progress messages\n";

static const char SYNTH_HELP[] =
    "usage: depthsolve synth --arch NAME -o OUT.gguf [--dtype f32|f16]\n"
    "\n"
    "Writes the model an official checkpoint of that architecture would convert\n"
    "to, with every weight given by the synthetic formula of the reference data\n"
    "(tests/data/reference/REFERENCE_README.md). For tests and benchmarks: no\n"
    "download needed, and PyTorch can rebuild exactly the same weights. NAME:\n"
    "midas_v21_small_256, midas_v21_384, dpt_hybrid_384, dpt_large_384,\n"
    "dpt_levit_224.\n";

/* What convert and synth share: their options, and the end of the run. */
typedef struct gguf_cmd {
    const char *name; /* "convert" or "synth" */
    const char *help;
    ds_convert_params p;
    const char *out;
    int quiet;
} gguf_cmd;

/* Parses -o, --arch, --dtype, -q, -h. Returns -1 to go on, else the exit code. */
static int parse_options(gguf_cmd *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
        {"dtype", required_argument, 0, 'd'},  {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!optarg[0])
                return ds_cli_usage_error(g->name, "-o takes a path, not an empty one");
            g->out = optarg;
            break;
        case 'a':
            if (!ds_cli_parse_arch(optarg, &g->p.arch))
                return ds_cli_usage_error(g->name, "unknown architecture '%s'", optarg);
            break;
        case 'd':
            if (!parse_dtype(optarg, &g->p.dtype))
                return ds_cli_usage_error(g->name, "--dtype takes f32 or f16, not '%s'", optarg);
            break;
        case 'q': g->quiet = 1; break;
        case 'h': fputs(g->help, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error(g->name, "bad option");
        }
    }
    g->p.log = ds_cli_log;
    g->p.log_user = &g->quiet;
    return -1;
}

static int finish(const gguf_cmd *g, ds_status s, double seconds) {
    if (s != DS_OK)
        return ds_cli_report(g->name, s);
    if (!g->quiet)
        fprintf(stderr, "depthsolve: wrote %s in %.3f s\n", g->out, seconds);
    return DS_EXIT_OK;
}

int ds_cmd_convert(int argc, char **argv) {
    gguf_cmd g = {"convert", CONVERT_HELP, ds_convert_default_params(), NULL, 0};
    int rc = parse_options(&g, argc, argv);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return ds_cli_usage_error("convert", "expected exactly one input checkpoint");
    if (!g.out)
        return ds_cli_usage_error("convert", "-o OUT.gguf is required");
    double t0 = ds_cli_seconds();
    ds_status s = ds_convert_file(argv[optind], g.out, &g.p);
    return finish(&g, s, ds_cli_seconds() - t0);
}

int ds_cmd_synth(int argc, char **argv) {
    gguf_cmd g = {"synth", SYNTH_HELP, ds_convert_default_params(), NULL, 0};
    int rc = parse_options(&g, argc, argv);
    if (rc >= 0)
        return rc;
    if (optind != argc)
        return ds_cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (g.p.arch == DS_ARCH_UNKNOWN || !g.out)
        return ds_cli_usage_error("synth", "--arch NAME and -o OUT.gguf are required");
    double t0 = ds_cli_seconds();
    ds_status s = ds_synth_file(g.p.arch, g.out, &g.p);
    return finish(&g, s, ds_cli_seconds() - t0);
}
