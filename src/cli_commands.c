/* cli_commands.c: the table of subcommands. */
#include "src/cli.h"

const ds_cli_command ds_cli_commands[] = {
    {"depth", "depth maps of photos and folders (run.py's job)", ds_cmd_depth},
    {"mesh", "textured 3D meshes of photos (.glb, .obj, .ply)", ds_cmd_mesh},
    {"animate", "a 3D-zoom video of a photo (.mp4, .gif, PNG frames)", ds_cmd_animate},
    {"convert", "convert a MiDaS checkpoint (.pt, .safetensors) to GGUF", ds_cmd_convert},
    {"fetch", "download an official checkpoint into the model store", ds_cmd_fetch},
    {"synth", "write a model with synthetic weights (tests, benchmarks)", ds_cmd_synth},
    {"info", "describe a checkpoint or GGUF file", ds_cmd_info},
    {"net", "run the network alone on a normalized tensor (.npy)", ds_cmd_net},
    {"bench", "time the network: load, latency, peak memory", ds_cmd_bench},
    {0, 0, 0},
};
