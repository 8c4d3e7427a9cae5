/* cmd_fetch.c: depthsolve fetch, official checkpoints into the model store. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "src/cli.h"
#include "src/model_store.h" /* ds_fetch_model, ds_model_store_dir */

static const char FETCH_HELP[] =
    "usage: depthsolve fetch NAME... [--dir DIR] [--keep-checkpoint]\n"
    "\n"
    "Downloads the official checkpoint of each architecture (MiDaS: its GitHub\n"
    "releases; Depth Anything V2 and 3: their Hugging Face pages), checks every tensor by\n"
    "converting it, and writes DIR/NAME.gguf, where --model NAME finds it, and\n"
    "says the licence of the weights. NAME (licence):\n"
    "  midas_v21_small_256, midas_v21_384, dpt_hybrid_384, dpt_large_384,\n"
    "  dpt_swin2_large_384, dpt_swin2_base_384, dpt_swin2_tiny_256,\n"
    "  dpt_swin_large_384, dpt_levit_224, dpt_beit_large_512 (run.py's default),\n"
    "  dpt_beit_large_384, dpt_beit_base_384 (MIT)\n"
    "  depth_anything_v2_vits (Apache-2.0), depth_anything_v2_vitb,\n"
    "  depth_anything_v2_vitl (CC-BY-NC-4.0: non-commercial use only)\n"
    "  depth_anything_v2_metric_{hypersim,vkitti}_vits (Apache-2.0),\n"
    "  depth_anything_v2_metric_{hypersim,vkitti}_{vitb,vitl} (CC-BY-NC-4.0)\n"
    "  (metric models give metres: hypersim indoor up to 20 m, vkitti outdoor up\n"
    "  to 80 m)\n"
    "  da3_small, da3mono_large, da3metric_large (Apache-2.0; Depth Anything 3's\n"
    "  Large, Giant and Nested weights are CC-BY-NC-4.0 and not fetched)\n"
    "\n"
    "  --dir DIR           the model store (default $DEPTHSOLVE_MODELS, else\n"
    "                      ~/.cache/depthsolve)\n"
    "  --keep-checkpoint   keep the downloaded .pt/.pth beside the .gguf\n"
    "  -q, --quiet         no progress\n"
    "\n"
    "$DEPTHSOLVE_MODEL_BASE_URL replaces the release URL prefix (a mirror).\n";

int ds_cmd_fetch(int argc, char **argv) {
    static const struct option opts[] = {{"dir", required_argument, 0, 'D'},
                                         {"keep-checkpoint", no_argument, 0, 'k'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char dir[4096];
    ds_model_store_dir(dir, sizeof dir);
    int keep = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'D': snprintf(dir, sizeof dir, "%s", optarg); break;
        case 'k': keep = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(FETCH_HELP, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error("fetch", "bad option");
        }
    }
    if (optind >= argc)
        return ds_cli_usage_error("fetch", "name at least one architecture");
    for (int i = optind; i < argc; i++)
        if (ds_arch_from_name(argv[i]) == DS_ARCH_UNKNOWN)
            return ds_cli_usage_error("fetch", "unknown architecture '%s'", argv[i]);
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        const ds_arch arch = ds_arch_from_name(argv[i]);
        const char *licence = ds_model_licence(arch);
        /* non-commercial terms are said even with -q */
        if (!quiet || strstr(licence, "NC"))
            fprintf(stderr, "depthsolve fetch: %s: the weights are licensed %s\n", argv[i], licence);
        char path[4300];
        ds_status s = ds_fetch_model(arch, dir, keep,
                                     !quiet && isatty(2), path, sizeof path);
        if (s != DS_OK)
            failed |= ds_cli_report("fetch", s) != DS_EXIT_OK;
        else if (!quiet)
            fprintf(stderr, "depthsolve: wrote %s\n", path);
    }
    return failed ? DS_EXIT_FAILED : DS_EXIT_OK;
}
