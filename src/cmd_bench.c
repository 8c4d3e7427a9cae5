/* cmd_bench.c: depthsolve bench, latency and memory of the network alone. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "src/cli.h"
#include "src/depth_outputs.h" /* ds_depth_range, ds_depth_quantize */
#include "base/error.h"       /* ds_fail, DS_TRY */
#include "src/io/image.h"       /* ds_image_read */
#include "src/model_store.h" /* ds_open_model */
#include "weights_tools/synth.h"       /* ds_synth_input */

static const char BENCH_HELP[] =
    "usage: depthsolve bench --model M.gguf [options]\n"
    "\n"
    "Times the network on a synthetic input: model load, first run (plans\n"
    "memory and packs the weights, unless --prepare did), then --runs timed\n"
    "runs after --warmup runs: median, p90 and p99 latency, images/s one\n"
    "image at a time and through the engine's queue (ds_engine_submit:\n"
    "upload, network and download of consecutive images overlap on a GPU),\n"
    "peak RSS; on a CUDA device also the device memory the engine holds and\n"
    "the operations (kernels, copies) its CUDA graph replays per image.\n"
    "\n"
    "  --size HxW          input size (default: the model's training size, square)\n"
    "  --image FILE        time the whole path instead: decode FILE, resize,\n"
    "                      network, resize back (what 'depthsolve depth' does)\n"
    "  --runs N            timed runs (default 10)\n"
    "  --warmup N          untimed runs first (default 2)\n"
    "  --threads N         CPU threads (default: the CPUs this process may use:\n"
    "                      its affinity, capped by its cgroup's CPU quota)\n"
    "  --device D          auto, cpu, cuda, cuda:N, cuda-emu (default auto: the GPU\n"
    "                      when one works, else the CPU; cuda-emu is the CUDA\n"
    "                      backend on the CPU emulator: slow, for checking); on the\n"
    "                      CPU a line says the threads and kernels and why\n"
    "                      (DS_CPU_ISA=portable|avx2|avx512 picks the kernels)\n"
    "  --no-autotune       CUDA: the library's default algorithms, not timed ones\n"
    "  --precision P       CUDA: fp32 (default: float32 math, no tensor cores), tf32\n"
    "                      (TF32 tensor cores) or fp16 (half operands on tensor\n"
    "                      cores, float32 between layers); tf32 and fp16 also run\n"
    "                      fp32 once and report their error against it. CPU: fp32,\n"
    "                      or bf16 (linear layers on bfloat16 operands, float32\n"
    "                      sums; needs AVX512-BF16, an error elsewhere; also\n"
    "                      reports its error against fp32)\n"
    "  --prepare           ds_engine_prepare_size after the load, timed apart\n"
    "                      (plans memory, packs the weights, maps in the memory\n"
    "                      runs write): the first run then times the network\n"
    "                      alone (not with --image)\n"
    "  --json              one JSON object instead of the table\n";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value below which a fraction q of the sorted samples lie (nearest rank). */
static double quantile(const double *sorted, int n, double q) {
    int i = (int)(q * n + 0.999999) - 1;
    return sorted[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

typedef struct bench_work {
    ds_engine *e;
    const char *image; /* NULL: the network alone */
    int h, w;          /* network input, or the photo's size */
    float *x, *depth;
} bench_work;

static ds_status prepare_work(bench_work *b) {
    if (b->image) {
        ds_image img; /* read once for the size; each run decodes again */
        DS_TRY(ds_image_read(b->image, 0, &img));
        b->h = img.height;
        b->w = img.width;
        ds_image_free(&img);
    } else if (!(b->x = malloc((size_t)3 * b->h * b->w * sizeof *b->x))) {
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
        ds_synth_input(b->h, b->w, b->x);
    }
    b->depth = malloc((size_t)b->h * b->w * sizeof *b->depth);
    return b->depth ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
}

static ds_status run_work(bench_work *b) {
    if (!b->image)
        return ds_engine_run(b->e, b->x, b->h, b->w, b->depth);
    ds_image img;
    DS_TRY(ds_image_read(b->image, 0, &img));
    ds_status s = ds_engine_solve_rgb8(b->e, img.rgb, img.width, img.height,
                                       (size_t)img.width * 3, NULL, b->depth);
    ds_image_free(&img);
    return s;
}

/* Images/s through the engine's queue: `runs` submits, kept full, then drained. */
static ds_status queued_rate(bench_work *b, int runs, double *per_s) {
    const double t0 = ds_cli_seconds();
    for (int i = 0; i < runs; i++) {
        if (ds_engine_pending(b->e) == DS_ENGINE_QUEUE_DEPTH)
            DS_TRY(ds_engine_collect(b->e, b->depth));
        DS_TRY(ds_engine_submit(b->e, b->x, b->h, b->w));
    }
    while (ds_engine_pending(b->e) > 0)
        DS_TRY(ds_engine_collect(b->e, b->depth));
    *per_s = runs / (ds_cli_seconds() - t0);
    return DS_OK;
}

/* How far a depth map is from the fp32 one: relative L2, the largest
 * difference in % of the fp32 map's range, and the largest difference of
 * their 8-bit PNG values (each map normalized by its own range, as written). */
typedef struct precision_error {
    double rel_l2, range_pct;
    int u8_steps;
} precision_error;

static precision_error compare_with_fp32(const float *d, const float *ref, size_t n) {
    precision_error e = {0, 0, 0};
    float lo, hi, dlo, dhi;
    ds_depth_range(ref, n, &lo, &hi);
    ds_depth_range(d, n, &dlo, &dhi);
    double num = 0, den = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double diff = (double)d[i] - ref[i];
        num += diff * diff;
        den += (double)ref[i] * ref[i];
        worst = fabs(diff) > worst ? fabs(diff) : worst;
        const int steps = abs((int)ds_depth_quantize(d[i], dlo, dhi, 255) - (int)ds_depth_quantize(ref[i], lo, hi, 255));
        e.u8_steps = steps > e.u8_steps ? steps : e.u8_steps;
    }
    e.rel_l2 = den > 0 ? sqrt(num / den) : 0;
    e.range_pct = hi > lo ? 100.0 * worst / (hi - lo) : 0;
    return e;
}

/* The same work once more in fp32 on the same device, against b->depth. */
static ds_status fp32_error(const char *spec, const ds_engine_params *p, const bench_work *b, precision_error *out) {
    ds_engine_params p32 = *p;
    p32.precision = DS_PRECISION_FP32;
    ds_engine *e32;
    DS_TRY(ds_open_model(spec, &p32, &e32));
    bench_work w = *b;
    w.e = e32;
    const size_t n = (size_t)b->h * b->w;
    w.depth = malloc(n * sizeof *w.depth);
    ds_status s = w.depth ? run_work(&w) : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == DS_OK)
        *out = compare_with_fp32(b->depth, w.depth, n);
    free(w.depth);
    ds_engine_free(e32);
    return s;
}

int ds_cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"size", required_argument, 0, 's'},
        {"runs", required_argument, 0, 'n'},   {"warmup", required_argument, 0, 'W'},
        {"threads", required_argument, 0, 't'}, {"device", required_argument, 0, 'd'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {"image", required_argument, 0, 'i'},  {"no-autotune", no_argument, 0, 'A'}, {"precision", required_argument, 0, 'Y'},
        {"prepare", no_argument, 0, 'P'},      {0, 0, 0, 0}};
    ds_engine_params p = ds_engine_default_params();
    int h = 0, w = 0, runs = 10, warmup = 2, json = 0, prepare = 0, c;
    const char *image = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': p.model_path = optarg; break;
        case 's':
            if (sscanf(optarg, "%dx%d", &h, &w) != 2 || h <= 0 || w <= 0 || h > 8192 || w > 8192)
                return ds_cli_usage_error("bench", "--size takes HxW, sides up to 8192, e.g. 384x672");
            break;
        case 'n':
            if (!ds_cli_parse_threads(optarg, &runs))
                return ds_cli_usage_error("bench", "--runs takes 1 to 1024");
            break;
        case 'W':
            if (!strcmp(optarg, "0"))
                warmup = 0;
            else if (!ds_cli_parse_threads(optarg, &warmup))
                return ds_cli_usage_error("bench", "--warmup takes a number");
            break;
        case 't':
            if (!ds_cli_parse_threads(optarg, &p.n_threads))
                return ds_cli_usage_error("bench", "--threads takes 1 to 1024");
            break;
        case 'd':
            if (!ds_cli_parse_device(optarg, &p.device, &p.device_index))
                return ds_cli_usage_error("bench", "unknown device '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'A': p.autotune = 0; break;
        case 'Y':
            if (!ds_cli_parse_precision(optarg, &p.precision))
                return ds_cli_usage_error("bench", "--precision takes fp32, tf32, fp16 or bf16");
            break;
        case 'i': image = optarg; break;
        case 'P': prepare = 1; break;
        case 'h': fputs(BENCH_HELP, stdout); return DS_EXIT_OK;
        default: return ds_cli_usage_error("bench", "bad option");
        }
    }
    if (!p.model_path || optind != argc)
        return ds_cli_usage_error("bench", "--model is required");
    if (prepare && image)
        return ds_cli_usage_error("bench", "--prepare times the network alone: not with --image");
    double t0 = ds_cli_seconds();
    ds_engine *e;
    const char *spec = p.model_path;
    ds_status s = ds_open_model(spec, &p, &e);
    if (s != DS_OK)
        return ds_cli_report("bench", s);
    double load = ds_cli_seconds() - t0;
    long load_rss = ds_cli_rss_kib(); /* the model is mapped: only what was touched counts */
    ds_model_info info;
    ds_engine_model_info(e, &info);
    const int on_cpu = !strcmp(info.device, "cpu");
    ds_cpu_info cpu = {0}; /* the threads and kernels, on the CPU */
    if (on_cpu) {
        s = ds_cpu_get_info(&cpu);
        if (s != DS_OK) {
            ds_engine_free(e);
            return ds_cli_report("bench", s);
        }
        if (!json)
            ds_cli_print_cpu(stdout, p.n_threads);
    }
    if (!h)
        h = w = info.net_size;
    /* one timed unit: the network on a synthetic tensor, or the whole photo path */
    bench_work work = {.e = e, .image = image, .h = h, .w = w};
    double *times = malloc((size_t)runs * sizeof *times);
    s = times ? prepare_work(&work) : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    double prepared = -1, first = 0; /* prepared: the seconds ds_engine_prepare_size took, if asked */
    if (s == DS_OK && prepare) {
        t0 = ds_cli_seconds();
        s = ds_engine_prepare_size(e, h, w);
        prepared = ds_cli_seconds() - t0;
    }
    if (s == DS_OK) {
        t0 = ds_cli_seconds();
        s = run_work(&work);
        first = ds_cli_seconds() - t0;
    }
    for (int i = 0; s == DS_OK && i < warmup; i++)
        s = run_work(&work);
    for (int i = 0; s == DS_OK && i < runs; i++) {
        t0 = ds_cli_seconds();
        s = run_work(&work);
        times[i] = ds_cli_seconds() - t0;
    }
    h = work.h;
    w = work.w;
    double queued = 0;
    if (s == DS_OK && !image)
        s = queued_rate(&work, runs, &queued);
    const long peak_kib = peak_rss_kib(); /* this engine's: not the fp32 one's below */
    precision_error perr = {-1, -1, -1};
    if (s == DS_OK && p.precision != DS_PRECISION_FP32)
        s = fp32_error(spec, &p, &work, &perr);
    int rc = DS_EXIT_OK;
    if (s != DS_OK) {
        rc = ds_cli_report("bench", s);
    } else {
        double total = 0;
        for (int i = 0; i < runs; i++)
            total += times[i];
        qsort(times, (size_t)runs, sizeof *times, cmp_double);
        double med = quantile(times, runs, 0.5), p90 = quantile(times, runs, 0.9), p99 = quantile(times, runs, 0.99);
        ds_engine_stats st;
        ds_engine_get_stats(e, &st);
        if (json) {
            printf("{\"model\": \"%s\", \"arch\": \"%s\", \"mode\": \"%s\", \"height\": %d, \"width\": %d, "
                   "\"device\": \"%s\", \"threads\": %d, \"runs\": %d, \"load_ms\": %.3f, \"prepare_ms\": %.3f, "
                   "\"first_ms\": %.3f, "
                   "\"median_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"min_ms\": %.3f, "
                   "\"images_per_s\": %.3f, \"queued_images_per_s\": %.3f, \"load_rss_mib\": %.1f, "
                   "\"peak_rss_mib\": %.1f, "
                   "\"device_mib\": %.1f, \"graph_operations\": %lld, \"precision\": \"%s\", "
                   "\"fp32_rel_l2\": %.3g, \"fp32_max_range_pct\": %.3g, \"fp32_u8_steps\": %d, "
                   "\"threads_why\": \"%s\", \"cpu_isa\": \"%s\"}\n",
                   spec, info.arch_name, image ? "end_to_end" : "network", h, w, info.device, info.n_threads, runs,
                   load * 1e3, prepared < 0 ? -1.0 : prepared * 1e3, first * 1e3, med * 1e3, p90 * 1e3, p99 * 1e3,
                   times[0] * 1e3, runs / total, queued, load_rss / 1024.0, peak_kib / 1024.0,
                   st.device_bytes / 1048576.0,
                   (long long)st.graph_operations, ds_cli_precision_name(p.precision), perr.rel_l2, perr.range_pct,
                   perr.u8_steps, !on_cpu ? "" : p.n_threads ? "--threads" : cpu.threads_why, cpu.isa);
        } else {
            printf("%s %s %dx%d on %s: load %.1f ms (RSS %.1f MiB), ", info.arch_name, image ? "photo" : "network", h,
                   w, info.device, load * 1e3, load_rss / 1024.0);
            if (prepared >= 0)
                printf("prepare %.1f ms, ", prepared * 1e3);
            printf("first run %.1f ms, median %.2f ms, p90 %.2f ms, p99 %.2f ms, min %.2f ms (%d runs), %.2f images/s, "
                   "peak RSS %.1f MiB",
                   first * 1e3, med * 1e3, p90 * 1e3, p99 * 1e3, times[0] * 1e3, runs, runs / total,
                   peak_kib / 1024.0);
            if (st.device_bytes)
                printf(", device memory %.1f MiB, %lld graph operations per image", st.device_bytes / 1048576.0,
                       (long long)st.graph_operations);
            if (queued > 0)
                printf(", %.2f images/s queued", queued);
            printf("\n");
            if (perr.rel_l2 >= 0)
                printf("%s against fp32: rel L2 %.3g, largest difference %.3g%% of the depth range, "
                       "%d steps of an 8-bit depth map\n",
                       ds_cli_precision_name(p.precision), perr.rel_l2, perr.range_pct, perr.u8_steps);
        }
    }
    free(work.x), free(work.depth), free(times);
    ds_engine_free(e);
    return rc;
}
