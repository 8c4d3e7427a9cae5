/* cmd_info.c: depthsolve info, what a .pt / .safetensors / .gguf file holds. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weights_tools/readers/checkpoint.h" /* ds_ckpt_load */
#include "src/cli.h"
#include "src/model_store.h" /* ds_model_licence */
#include "weights_tools/convert.h"    /* ds_detect_arch */
#include "gguf/gguf.h"       /* ds_gguf_open */
#include "base/file_map.h" /* ds_open_regular */
#include "base/shape.h" /* ds_format_shape */

static const char INFO_HELP[] =
    "usage: depthsolve info [--tensors] [FILE...]\n"
    "\n"
    "Prints what a checkpoint (.pt, .pth, .safetensors) or a converted model\n"
    "(.gguf) holds: format, architecture, metadata, tensor and parameter counts,\n"
    "dtypes. Nothing in a checkpoint is executed. With no FILE: how the CPU\n"
    "backend runs here (default threads and why: affinity, cgroup CPU quota;\n"
    "the kernels' instruction set and why: the CPU, DS_CPU_ISA).\n"
    "\n"
    "  --tensors   also list every tensor: name, dtype, shape, FNV-1a of its bytes\n";

/* FNV-1a 64 of a tensor's bytes: equal listings mean equal tensors. */
static uint64_t fnv1a(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void print_tensor(const char *name, ds_dtype dtype, int ndim, const int64_t *shape,
                         const void *data, size_t nbytes) {
    char dims[128];
    ds_format_shape(dims, sizeof dims, ndim, shape);
    printf("    %-64s %-4s %-16s %016" PRIx64 "\n", name, ds_dtype_name(dtype), dims,
           fnv1a(data, nbytes));
}

static int is_gguf(const char *path) {
    int fd;
    struct stat st;
    if (ds_open_regular(path, &fd, &st) != DS_OK)
        return 0; /* the reader that runs next says why */
    char magic[4] = {0};
    int yes = read(fd, magic, 4) == 4 && !memcmp(magic, "GGUF", 4);
    close(fd);
    return yes;
}

static void print_dtype_counts(const size_t counts[DS_DTYPE_COUNT]) {
    const char *sep = "";
    printf("  dtypes:       ");
    for (int t = 0; t < DS_DTYPE_COUNT; t++)
        if (counts[t]) {
            printf("%s%s: %zu", sep, ds_dtype_name((ds_dtype)t), counts[t]);
            sep = ", ";
        }
    printf("\n");
}

/* The licence of the official weights of a known architecture. */
static void print_licence(ds_arch arch) {
    const char *licence = arch != DS_ARCH_UNKNOWN ? ds_model_licence(arch) : NULL;
    if (licence)
        printf("  licence:      %s (the official weights)\n", licence);
}

static int info_gguf(const char *path, int list) {
    ds_gguf *g;
    ds_status s = ds_gguf_open(path, &g);
    if (s != DS_OK)
        return ds_cli_report("info", s);
    const char *arch = "?";
    ds_gguf_get_str(g, "general.architecture", &arch);
    printf("%s\n  format:       GGUF v%u, %zu bytes, alignment %zu\n", path, ds_gguf_version(g),
           ds_gguf_file_size(g), ds_gguf_alignment(g));
    printf("  architecture: %s\n", arch);
    print_licence(ds_arch_from_name(arch));
    size_t counts[DS_DTYPE_COUNT] = {0};
    int64_t params = 0;
    for (size_t i = 0; i < ds_gguf_n_tensors(g); i++) {
        const ds_gguf_tensor *t = ds_gguf_tensor_at(g, i);
        counts[t->dtype]++;
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= t->shape[d];
        params += n;
    }
    printf("  tensors:      %zu\n  parameters:   %" PRId64 " (%.1fM)\n", ds_gguf_n_tensors(g),
           params, (double)params / 1e6);
    print_dtype_counts(counts);
    printf("  metadata:\n");
    for (size_t i = 0; i < ds_gguf_n_kv(g); i++) {
        char value[256];
        ds_gguf_kv_format(g, i, value, sizeof value);
        printf("    %-32s %s\n", ds_gguf_kv_key(g, i), value);
    }
    if (list)
        printf("  tensors (name, dtype, shape, fnv1a):\n");
    for (size_t i = 0; list && i < ds_gguf_n_tensors(g); i++) {
        const ds_gguf_tensor *t = ds_gguf_tensor_at(g, i);
        print_tensor(t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
    }
    ds_gguf_close(g);
    return DS_EXIT_OK;
}

static int info_checkpoint(const char *path, int list) {
    ds_ckpt ck;
    ds_status s = ds_ckpt_load(path, &ck);
    if (s != DS_OK)
        return ds_cli_report("info", s);
    size_t counts[DS_DTYPE_COUNT] = {0};
    int64_t params = 0;
    for (size_t i = 0; i < ck.n_tensors; i++) {
        counts[ck.tensors[i].dtype]++;
        params += ds_ckpt_tensor_numel(&ck.tensors[i]);
    }
    printf("%s\n  format:       %s\n", path, ck.format);
    /* detected on the official names (a copy renamed in place); listed as stored */
    ds_ckpt named;
    const char *layout = NULL;
    ds_arch arch;
    s = ds_ckpt_load(path, &named);
    if (s == DS_OK)
        s = ds_ckpt_to_official(&named, path, &layout);
    if (s == DS_OK)
        s = ds_detect_arch(&named, path, &arch);
    if (layout)
        printf("  layout:       %s (renamed to the official names)\n", layout);
    if (s == DS_OK) {
        printf("  architecture: %s\n", ds_arch_name(arch));
        print_licence(arch);
    } else
        printf("  architecture: unknown (%s)\n", ds_last_error());
    ds_ckpt_free(&named);
    printf("  tensors:      %zu\n  parameters:   %" PRId64 " (%.1fM)\n", ck.n_tensors, params,
           (double)params / 1e6);
    print_dtype_counts(counts);
    if (list)
        printf("  tensors (name, dtype, shape, fnv1a):\n");
    for (size_t i = 0; list && i < ck.n_tensors; i++) {
        const ds_ckpt_tensor *t = &ck.tensors[i];
        print_tensor(t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
    }
    ds_ckpt_free(&ck);
    return DS_EXIT_OK;
}

int ds_cmd_info(int argc, char **argv) {
    static const struct option opts[] = {
        {"tensors", no_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, list = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(INFO_HELP, stdout);
            return DS_EXIT_OK;
        }
        if (c == 't') {
            list = 1;
            continue;
        }
        return ds_cli_usage_error("info", "bad option");
    }
    if (optind >= argc) {
        ds_status s = ds_cli_print_cpu(stdout, 0);
        return s == DS_OK ? DS_EXIT_OK : ds_cli_report("info", s);
    }
    int failed = 0;
    for (int i = optind; i < argc; i++)
        failed |= (is_gguf(argv[i]) ? info_gguf(argv[i], list) : info_checkpoint(argv[i], list)) !=
                  DS_EXIT_OK;
    return failed ? DS_EXIT_FAILED : DS_EXIT_OK;
}
