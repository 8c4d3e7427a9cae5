/* cmd_convert.c: depthsolve convert and depthsolve synth. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    "                        dpt_large_384)\n"
    "  --dtype f32|f16       storage of conv and linear weights (default f32)\n"
    "  -q, --quiet           no progress messages\n";

int ds_cmd_convert(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
        {"dtype", required_argument, 0, 'd'},  {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    ds_convert_params p = ds_convert_default_params();
    const char *out = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a':
            if (!ds_cli_parse_arch(optarg, &p.arch))
                return ds_cli_usage_error("convert", "unknown architecture '%s'", optarg);
            break;
        case 'd':
            if (!parse_dtype(optarg, &p.dtype))
                return ds_cli_usage_error("convert", "--dtype takes f32 or f16, not '%s'", optarg);
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(CONVERT_HELP, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error("convert", "bad option");
        }
    }
    if (optind != argc - 1)
        return ds_cli_usage_error("convert", "expected exactly one input checkpoint");
    if (!out)
        return ds_cli_usage_error("convert", "-o OUT.gguf is required");
    p.log = ds_cli_log;
    p.log_user = &quiet;
    ds_status s = ds_convert_file(argv[optind], out, &p);
    if (s != DS_OK)
        return ds_cli_report("convert", s);
    if (!quiet)
        fprintf(stderr, "depthsolve: wrote %s\n", out);
    return DS_EXIT_OK;
}

static const char SYNTH_HELP[] =
    "usage: depthsolve synth --arch NAME -o OUT.gguf [--dtype f32|f16]\n"
    "\n"
    "Writes the model an official checkpoint of that architecture would convert\n"
    "to, with every weight given by the synthetic formula of the reference data\n"
    "(tests/data/reference/REFERENCE_README.md). For tests and benchmarks: no\n"
    "download needed, and PyTorch can rebuild exactly the same weights.\n";

int ds_cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
        {"dtype", required_argument, 0, 'd'},  {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    ds_convert_params p = ds_convert_default_params();
    const char *out = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'a':
            if (!ds_cli_parse_arch(optarg, &p.arch) || p.arch == DS_ARCH_UNKNOWN)
                return ds_cli_usage_error("synth", "unknown architecture '%s'", optarg);
            break;
        case 'd':
            if (!parse_dtype(optarg, &p.dtype))
                return ds_cli_usage_error("synth", "--dtype takes f32 or f16, not '%s'", optarg);
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(SYNTH_HELP, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error("synth", "bad option");
        }
    }
    if (optind != argc)
        return ds_cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (p.arch == DS_ARCH_UNKNOWN || !out)
        return ds_cli_usage_error("synth", "--arch NAME and -o OUT.gguf are required");
    p.log = ds_cli_log;
    p.log_user = &quiet;
    ds_status s = ds_synth_file(p.arch, out, &p);
    if (s != DS_OK)
        return ds_cli_report("synth", s);
    if (!quiet)
        fprintf(stderr, "depthsolve: wrote %s\n", out);
    return DS_EXIT_OK;
}
