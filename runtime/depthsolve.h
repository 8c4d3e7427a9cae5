/*
 * depthsolve.h: public C API of libdepthsolve (MiDaS monocular depth).
 *
 * Conventions
 *  - Every function that can fail returns a ds_status. On failure,
 *    ds_last_error() returns a one-line message naming the file or object
 *    and the problem. That message is thread-local.
 *  - Handles are opaque; every *_free() accepts NULL.
 *  - The library never prints and never exits: diagnostics go to the log
 *    callback given in the params (or nowhere).
 *
 * Thread safety: functions that take no handle may be called from any
 * thread at any time. A handle may be used by one thread at a time;
 * distinct handles are independent.
 */
#ifndef DEPTHSOLVE_H
#define DEPTHSOLVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libdepthsolve.so exports: these functions and nothing else (the
 * library is built with hidden visibility). */
#if defined(__GNUC__)
#define DS_API __attribute__((visibility("default")))
#else
#define DS_API
#endif

#define DS_VERSION_MAJOR 0
#define DS_VERSION_MINOR 1
#define DS_VERSION_PATCH 0

typedef enum ds_status {
    DS_OK = 0,
    DS_ERR_INVALID_ARGUMENT, /* a caller passed a bad parameter */
    DS_ERR_IO,               /* a file could not be opened, read or written */
    DS_ERR_FORMAT,           /* a file is malformed or truncated */
    DS_ERR_UNSUPPORTED,      /* well-formed, but a feature we do not handle */
    DS_ERR_UNSAFE,           /* a pickle asked for a global outside the allow-list */
    DS_ERR_MODEL,            /* missing, unexpected or mis-shaped tensor */
    DS_ERR_SHAPE,            /* an input shape the network does not accept */
    DS_ERR_OUT_OF_MEMORY,
    DS_ERR_DEVICE,           /* GPU runtime, driver or library failure */
    DS_ERR_INTERNAL,
    DS_STATUS_COUNT
} ds_status;

/* Short constant text for a status ("format error"). */
DS_API const char *ds_status_string(ds_status status);

/* Detail of the last failure on the calling thread ("" if none). */
DS_API const char *ds_last_error(void);

typedef enum ds_log_level {
    DS_LOG_DEBUG = 0,
    DS_LOG_INFO = 1,
    DS_LOG_WARN = 2,
    DS_LOG_ERROR = 3
} ds_log_level;

typedef void (*ds_log_fn)(ds_log_level level, const char *message, void *user);

/* ---- Model architectures ------------------------------------------------ */

typedef enum ds_arch {
    DS_ARCH_UNKNOWN = -1,
    DS_ARCH_MIDAS_V21_SMALL_256 = 0,
    DS_ARCH_MIDAS_V21_384,
    DS_ARCH_DPT_HYBRID_384,
    DS_ARCH_DPT_LARGE_384,
    DS_ARCH_DPT_SWIN2_LARGE_384,
    DS_ARCH_DPT_SWIN2_BASE_384,
    DS_ARCH_DPT_SWIN2_TINY_256,
    DS_ARCH_DPT_SWIN_LARGE_384,
    DS_ARCH_DPT_LEVIT_224,
    /* Depth Anything V2: DINOv2 ViT-S/B/L + DPT head; relative (like MiDaS),
     * and metric (metres: Hypersim indoor, max 20 m; Virtual KITTI outdoor, max 80 m) */
    DS_ARCH_DEPTH_ANYTHING_V2_VITS,
    DS_ARCH_DEPTH_ANYTHING_V2_VITB,
    DS_ARCH_DEPTH_ANYTHING_V2_VITL,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITS,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITB,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_HYPERSIM_VITL,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITS,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITB,
    DS_ARCH_DEPTH_ANYTHING_V2_METRIC_VKITTI_VITL,
    /* Depth Anything 3: DA3-Small (depth, confidence and the camera), and
     * DA3Mono-Large / DA3Metric-Large (depth and sky); all Apache-2.0 */
    DS_ARCH_DA3_SMALL,
    DS_ARCH_DA3MONO_LARGE,
    DS_ARCH_DA3METRIC_LARGE,
    DS_ARCH_DPT_BEIT_LARGE_512, /* MiDaS v3.1 BEiT: run.py's default model */
    DS_ARCH_DPT_BEIT_LARGE_384,
    DS_ARCH_DPT_BEIT_BASE_384,
    DS_ARCH_COUNT
} ds_arch;

/* "midas_v21_small_256", ... ; NULL for an out-of-range value. */
DS_API const char *ds_arch_name(ds_arch arch);
/* DS_ARCH_UNKNOWN if the name is not one of ours. */
DS_API ds_arch ds_arch_from_name(const char *name);

/* ---- Checkpoint conversion ---------------------------------------------- */

typedef enum ds_weight_dtype {
    DS_WEIGHTS_F32 = 0,
    DS_WEIGHTS_F16 = 1 /* convolution and linear weights in f16, the rest f32 */
} ds_weight_dtype;

typedef struct ds_convert_params {
    ds_arch arch;          /* DS_ARCH_UNKNOWN: detect from tensor names and shapes */
    ds_weight_dtype dtype;
    ds_log_fn log;         /* may be NULL */
    void *log_user;
} ds_convert_params;

DS_API ds_convert_params ds_convert_default_params(void);

/*
 * Reads a PyTorch checkpoint (zip or legacy format) or a safetensors file,
 * checks it against the architecture, folds BatchNorm and weight
 * standardization, and writes a GGUF file. The output is written to a
 * temporary name and renamed, so it never exists half-written.
 */
DS_API ds_status ds_convert_file(const char *in_path, const char *out_path,
                          const ds_convert_params *params);

/*
 * Writes the GGUF file that converting a checkpoint of the given
 * architecture filled with the synthetic-weight formula would produce
 * (see tests/data/README.md). Needs no download.
 */
DS_API ds_status ds_synth_file(ds_arch arch, const char *out_path, const ds_convert_params *params);

/* ---- Inference engine ---------------------------------------------------- */

typedef enum ds_device {
    DS_DEVICE_AUTO = 0, /* the GPU when one works, else the CPU (one log line says why) */
    DS_DEVICE_CPU,
    DS_DEVICE_CUDA,     /* device_index picks the GPU */
    DS_DEVICE_CUDA_EMU  /* the CUDA backend under CPU emulation (slow; for checking) */
} ds_device;

typedef struct ds_engine ds_engine;

/* The arithmetic of the CUDA backend's convolutions and matrix products,
 * and of the CPU backend's linear layers (fp32 or bf16). The emulator
 * (cuda-emu) rounds FP16's operands to half as the GPU does, and cuts TF32's
 * to 10 mantissa bits as tensor cores read float32 data, so that their
 * error can be measured without a GPU. */
typedef enum ds_precision {
    DS_PRECISION_FP32 = 0, /* float32 math, no tensor cores: parity with the reference (default) */
    DS_PRECISION_TF32,     /* float32 storage, TF32 tensor cores (10-bit mantissa products) */
    DS_PRECISION_FP16,     /* half operands of convolutions and linears on tensor cores, float32
                              accumulation and storage between layers; half copies of their weights */
    DS_PRECISION_BF16      /* CPU only: the linear layers on bfloat16 operands (weights rounded once,
                              at load), float32 sums, the rest float32; needs AVX512-BF16 and the
                              AVX-512 kernels (an error elsewhere, and on CUDA) */
} ds_precision;

typedef struct ds_engine_params {
    const char *model_path; /* a GGUF file written by ds_convert_file / ds_synth_file */
    ds_device device;
    int device_index;       /* CUDA device ordinal */
    int n_threads;          /* CPU threads; 0: all cores */
    int reference;          /* non-zero: plain reference ops (slow, for checking) */
    int profile;            /* non-zero: time every node; each run logs a summary (INFO) */
    ds_log_fn log;          /* may be NULL */
    void *log_user;
    int autotune;           /* CUDA: time the library's algorithms once per shape (default 1) */
    ds_precision precision; /* CUDA: _FP32 (default), _TF32 or _FP16; CPU: _FP32 or _BF16 */
} ds_engine_params;

DS_API ds_engine_params ds_engine_default_params(void);

/* Opens the model (mapped, not copied) and checks its metadata and tensors. */
DS_API ds_status ds_engine_create(const ds_engine_params *params, ds_engine **out);
DS_API void ds_engine_free(ds_engine *engine); /* NULL-safe */

/* What a model's depth map holds. */
typedef enum ds_depth_quantity {
    DS_DEPTH_RELATIVE_INVERSE = 0, /* relative inverse depth: larger is nearer, up to an unknown scale
                                      and shift (MiDaS, Depth Anything V2 relative) */
    DS_DEPTH_METRIC,               /* depth in metres: larger is farther (Depth Anything V2 metric) */
    DS_DEPTH_RELATIVE              /* relative depth: larger is farther, up to an unknown scale
                                      (Depth Anything 3) */
} ds_depth_quantity;

/* How a network's output goes back to the photo's size (ds_resize_depth_with). */
typedef enum ds_depth_resize {
    DS_DEPTH_RESIZE_BICUBIC = 0,    /* PyTorch bicubic, align_corners=False (MiDaS run.py) */
    DS_DEPTH_RESIZE_BILINEAR_ALIGNED /* PyTorch bilinear, align_corners=True (Depth Anything's infer_image) */
} ds_depth_resize;

typedef struct ds_model_info {
    ds_arch arch;
    const char *arch_name;
    int net_size;           /* training resolution (256 or 384; 518 for Depth Anything V2) */
    int input_multiple;     /* input sides must be multiples of this (32, 16, 14) */
    int resize_upper_bound; /* MiDaS run.py's resize: 1 "upper_bound", 0 "minimal" (or lower_bound below) */
    float mean[3], std[3];  /* input normalization: (x - mean) / std, x in [0, 1] */
    int64_t n_params;
    int n_threads;          /* CPU threads the engine uses */
    const char *device;     /* the backend that runs it: "cpu", "cuda", "cuda-emu" */
    int fixed_size;         /* 1: the network takes net_size x net_size only (Swin, LeViT):
                               every photo is stretched to it, as run.py does */
    /* Depth Anything's resize rule ("lower_bound"): the short side reaches net_size (or the
     * ds_solve_params target), both sides multiples of input_multiple. */
    int resize_lower_bound;
    ds_depth_resize depth_resize; /* how the depth map goes back to the photo's size */
    ds_depth_quantity quantity;   /* what the depth map holds */
    float max_depth;              /* DS_DEPTH_METRIC: the largest depth the model gives (metres), else 0 */
    /* Depth Anything 3's input processor: the longest side to net_size (or the
     * ds_solve_params target), then each side to the nearest multiple of
     * input_multiple, by two 8-bit OpenCV resizes (cubic up, area down). */
    int resize_da3;
    int outputs;            /* what a run gives beside the depth: DS_OUTPUT_* bits (ds_extras) */
    /* Depth Anything 3 metric: metres = network output x focal / metric_focal_ref, the
     * focal length in pixels of the network input (300); 0 for other models */
    float metric_focal_ref;
} ds_model_info;

/* ds_model_info.outputs */
enum {
    DS_OUTPUT_CONFIDENCE = 1, /* a confidence map (Depth Anything 3 small: exp + 1, >= 1) */
    DS_OUTPUT_CAMERA = 2,     /* the camera: intrinsics and pose (Depth Anything 3 small) */
    DS_OUTPUT_SKY = 4         /* a sky map (Depth Anything 3 large), already used on the depth */
};

/* A pinhole camera for an image of width x height pixels: focal lengths
 * and principal point in pixels, the fields of view they make, and the pose
 * as a 3x4 world-to-camera matrix [R | t] (row-major; OpenCV axes: x right,
 * y down, z forward). */
typedef struct ds_pinhole {
    int width, height;
    float fx, fy, cx, cy;
    float fov_x_deg, fov_y_deg; /* 2 atan(width / (2 fx)), 2 atan(height / (2 fy)) */
    float extrinsics[12];
} ds_pinhole;

/* What a run gives beside the depth map (ds_model_info.outputs says which). */
typedef struct ds_extras {
    float *confidence;    /* in: NULL, or room for a map of the depth's size; filled when has_confidence */
    int has_confidence;
    int has_camera;
    ds_pinhole camera;     /* at the depth map's size: the photo's for the rgb8 calls */
    ds_pinhole net_camera; /* at the network input's size, as the model estimates it */
    /* Depth Anything 3 metric, rgb8 calls: the focal length (pixels of the network
     * input, (fx + fy) / 2) the metres were computed with; else 0 */
    float metric_focal;
} ds_extras;

DS_API ds_status ds_engine_model_info(const ds_engine *engine, ds_model_info *out);

/* What the engine holds on its device and issues per image, for benchmarks
 * and leak checks. Zeros on the CPU. */
typedef struct ds_engine_stats {
    int64_t device_bytes;     /* device memory the engine holds now: weights, the
                                 activation arena, scratch, the libraries' workspace,
                                 photo and mesh buffers */
    int64_t graph_operations; /* operations one forward pass replays (the CUDA graph's
                                 nodes: our kernels, the libraries' kernels, copies; under
                                 cuda-emu a library call counts once); 0 before a run */
    int64_t device_used_bytes; /* the whole device's memory in use, every process's
                                  (cudaMemGetInfo); under cuda-emu every live emulated
                                  allocation; -1 if it cannot be read */
} ds_engine_stats;
DS_API ds_status ds_engine_get_stats(const ds_engine *engine, ds_engine_stats *out);

/* How the CPU backend runs in this process: its default thread count (the
 * CPUs of the affinity mask, capped by the cgroup's CPU quota) and the
 * instruction set of its kernels (the best this CPU runs, or DS_CPU_ISA),
 * each with the reason. Fails, in one line, on a DS_CPU_ISA this build or
 * this CPU cannot run. */
typedef struct ds_cpu_info {
    int default_threads;
    char threads_why[128]; /* "affinity 8 CPUs, cgroup quota 1.50 CPUs" */
    char isa[16];          /* "avx2", "portable" */
    char isa_why[128];
    char features[256];    /* the CPU's vector features: "avx2 fma; no avx512f ..." */
} ds_cpu_info;
DS_API ds_status ds_cpu_get_info(ds_cpu_info *out);

/* Readies the engine for height x width network inputs ahead of their
 * first run: plans their memory; on the CPU packs the weights into the
 * layouts the kernels run on and maps in the memory every run writes; on a
 * GPU allocates, makes the libraries' plans and captures the CUDA graph.
 * What it does, a first run of that size would otherwise do itself (half a
 * second for a ViT-L on two cores); call it where waiting is expected, at
 * start-up, so that the first input costs what the next ones do. Optional;
 * network sizes as in ds_engine_run (a photo's: ds_engine_input_size). */
DS_API ds_status ds_engine_prepare_size(ds_engine *engine, int height, int width);

/* Runs the network on a normalized 1x3xHxW float32 tensor (NCHW). Writes the
 * HxW depth map: relative inverse depth (non-negative, larger is nearer), or
 * metres for a metric model (ds_model_info.quantity). The first run at a new
 * size plans memory for it (unless ds_engine_prepare_size did); later runs at
 * that size allocate nothing. */
DS_API ds_status ds_engine_run(ds_engine *engine, const float *input_nchw, int height, int width,
                        float *depth_out);

/* ds_engine_run in two halves, for a stream of inputs: submit queues the
 * network on an input (copied: the caller may reuse it at once) and returns;
 * collect waits for the oldest submitted run and writes its depth map (the
 * height x width it was submitted with). On a CUDA device the upload of one
 * input, the network on the one before and the download of the one before
 * that overlap (three streams), and the caller's own work (decoding,
 * resizing the next photo) overlaps them all; elsewhere submit runs the
 * network at once. At most DS_ENGINE_QUEUE_DEPTH runs wait: submitting
 * another, or collecting none, is DS_ERR_INVALID_ARGUMENT. Sizes may differ
 * from run to run (a new size waits for the runs in flight first). Other
 * calls on the engine may come between submit and collect. */
#define DS_ENGINE_QUEUE_DEPTH 2
DS_API ds_status ds_engine_submit(ds_engine *engine, const float *input_nchw, int height, int width);
/* Writes the oldest run's depth map: height x width of the submitted input
 * (ds_engine_submit), or of the photo (ds_engine_submit_rgb8). */
DS_API ds_status ds_engine_collect(ds_engine *engine, float *depth_out);
/* ds_engine_collect with the run's extras (as ds_engine_solve_rgb8_ex; may be NULL). */
DS_API ds_status ds_engine_collect_ex(ds_engine *engine, float *depth_out, ds_extras *extras);
/* Runs submitted and not collected yet. */
DS_API int ds_engine_pending(const ds_engine *engine);

/* Called for each named stage output ("pretrained_layer1", "scratch_layer1_rn",
 * "scratch_refinenet1", "head_pre_relu", ...; Depth Anything V2's
 * "backbone_layer1", "head_project1", "head_pre_act", ...), as 1xCxHxW
 * float32 (NCHW); a token sequence (1, 1, T, C) comes as 1xCx1xT. */
typedef void (*ds_stage_fn)(const char *name, const float *nchw, int channels, int height,
                            int width, void *user);

/* ds_engine_run that also reports every named stage output. */
DS_API ds_status ds_engine_run_stages(ds_engine *engine, const float *input_nchw, int height, int width,
                               float *depth_out, ds_stage_fn on_stage, void *user);

/* ---- The whole pipeline on pixels (run.py's path) -------------------------- */

typedef struct ds_solve_params {
    int square; /* run.py --square: stretch to net_size x net_size */
    int height; /* network size to aim for (0: the model's): MiDaS run.py's --height,
                   Depth Anything run.py's --input-size (the short side), Depth Anything 3's
                   process_res (the long side) */
    /* Depth Anything 3 metric: the photo's focal lengths in pixels of the photo, which
     * the metres depend on; 0: a field of view of DS_DEFAULT_FOV_DEG along the long side */
    float focal_x, focal_y;
    /* non-zero: the depth (and confidence) at the network input's size, as Depth
     * Anything 3's API returns them (depth_out holds ds_engine_input_size's
     * net_width x net_height floats), not resized to the photo's */
    int net_output;
} ds_solve_params;

#define DS_DEFAULT_FOV_DEG 55.0f

DS_API ds_solve_params ds_solve_default_params(void);

/* The network input size run.py picks for a width x height photo (net_size
 * x net_size for a fixed-size network, whose params->height must be 0 or
 * net_size). */
DS_API ds_status ds_engine_input_size(const ds_engine *engine, int width, int height,
                               const ds_solve_params *params, int *net_width, int *net_height);

/* RGB8 pixels (3 bytes per pixel, `stride` bytes per row) to the float depth
 * map at the photo's size (width x height floats, row-major): cubic resize
 * (OpenCV INTER_CUBIC semantics) to the model's network size, normalization,
 * the network, and the model's resize back (PyTorch semantics: bicubic for
 * MiDaS, bilinear with align_corners for Depth Anything). Output: the
 * model's quantity (ds_model_info.quantity): relative inverse depth (the
 * network's output is >= 0; the bicubic resize may undershoot slightly near
 * edges, exactly as run.py's does), or metres. */
DS_API ds_status ds_engine_solve_rgb8(ds_engine *engine, const uint8_t *rgb, int width, int height,
                               size_t stride, const ds_solve_params *params, float *depth_out);

/* ds_engine_run and ds_engine_solve_rgb8 that also give what the model
 * gives beside the depth (ds_model_info.outputs): the confidence map (at the
 * depth's size: resized to the photo as the depth is), the camera. extras
 * may be NULL. */
DS_API ds_status ds_engine_run_ex(ds_engine *engine, const float *input_nchw, int height, int width,
                                  float *depth_out, ds_extras *extras);
DS_API ds_status ds_engine_solve_rgb8_ex(ds_engine *engine, const uint8_t *rgb, int width, int height,
                                         size_t stride, const ds_solve_params *params, float *depth_out,
                                         ds_extras *extras);

/* The extras of the engine's last network run (ds_engine_run, ds_engine_run_stages...)
 * at the network's size: the camera, and the confidence map copied into
 * extras->confidence when given (room for the run's height x width). */
DS_API ds_status ds_engine_last_extras(const ds_engine *engine, ds_extras *extras);

/* ds_engine_solve_rgb8 queued, as ds_engine_submit: the photo is copied
 * (the caller may reuse it at once), and ds_engine_collect writes its depth
 * map at the photo's size (width x height floats). On a CUDA device the
 * resizes run there too: the host only decodes and writes, and the upload
 * of one photo, the network on the one before and the download of the one
 * before that overlap. Photos of different sizes may follow each other: the
 * engine keeps a few network sizes prepared (a folder of portrait and
 * landscape photos does not rebuild at every change). */
DS_API ds_status ds_engine_submit_rgb8(ds_engine *engine, const uint8_t *rgb, int width, int height, size_t stride,
                                const ds_solve_params *params);

/* The steps of ds_engine_solve_rgb8, for callers that pipeline them (decode,
 * network and writing on different threads): the network input of a photo
 * for a size from ds_engine_input_size (3 x net_h x net_w floats, NCHW)... */
DS_API ds_status ds_engine_prepare_rgb8(ds_engine *engine, const uint8_t *rgb, int width, int height,
                                 size_t stride, int net_width, int net_height, float *input_nchw);
/* ... ds_engine_run, then the network output resized to the photo's size:
 * as the model does it (ds_model_info.depth_resize)... */
DS_API void ds_resize_depth_with(ds_depth_resize how, const float *net_depth, int net_width, int net_height,
                                 float *depth, int width, int height, int n_threads);
/* ... or bicubic (MiDaS run.py's), whatever the model. */
DS_API void ds_resize_depth(const float *net_depth, int net_width, int net_height, float *depth,
                     int width, int height, int n_threads);

/* The range (lo, hi) of n depth values as run.py normalizes them for its
 * PNGs: NaN and infinities count as 0; (0, 0) when n is 0. */
DS_API void ds_depth_range(const float *depth, size_t n, float *lo, float *hi);

/* ---- Photo to 3D mesh ---------------------------------------------------- */
/* A grid of vertices over the photo, displaced by its depth map, as
 * interleaved float32 vertices (x, y, z, nx, ny, nz, u, v) and triangles of
 * uint32 vertex indices, counter-clockwise seen from the front (+Z).
 *
 * Units and axes: metres, +X right, +Y up, +Z towards the viewer (glTF's).
 * UVs: u right, v down, (0, 0) the photo's top-left corner (glTF's).
 * The depth map is MiDaS's relative inverse depth, normalized per image:
 * n = (d - min) / (max - min) in [0, 1] (1 the nearest; NaN and infinities
 * count as 0 as in ds_depth_range; a flat map gives n = 0 everywhere).
 *
 *  - DS_MESH_PLANE (Blender's image-as-plane recipe): a plane 1 m high with
 *    the photo's aspect ratio, centred on the origin in z = 0, each vertex
 *    moved along +Z by depth_scale * n.
 *  - DS_MESH_CAMERA: a pinhole camera at the origin looking down -Z with
 *    fov_deg along the photo's long side; the vertex of UV (u, v) is on that
 *    pixel's ray at distance z (along -Z) with 1/z = 1/far + n (1/near - 1/far),
 *    so the mesh seen from that camera is the photo.
 *
 * Depth is sampled bilinearly at each vertex's UV (pixel centres at
 * (i + 0.5) / width). Normals: the normalized cross product of the
 * differences of the displaced neighbours (one-sided at the border), +Z
 * where that is zero. tear > 0 drops every triangle whose depth range, with
 * z as above for both projections, exceeds tear times its nearest depth:
 * (zmax - zmin) > tear * zmin; kept triangles keep their order. */
typedef enum ds_mesh_projection { DS_MESH_PLANE = 0, DS_MESH_CAMERA } ds_mesh_projection;

typedef struct ds_mesh_params {
    int grid;                      /* cells along the long side (1..16384); 0: one vertex per pixel */
    ds_mesh_projection projection; /* default DS_MESH_PLANE */
    float depth_scale;             /* plane: displacement of the nearest point, metres (0.25) */
    float fov_deg;                 /* camera: field of view along the long side (55); 0 in
                                      ds_engine_mesh_rgb8: the model's estimate (ds_model_info.outputs
                                      has DS_OUTPUT_CAMERA: Depth Anything 3 small), else 55 */
    float near_m, far_m;           /* depth of n = 1 and n = 0 (1, 10); 0 < near < far */
    float tear;                    /* <= 0: keep every triangle (default 0) */
    /* The depth map holds metres (a metric model's, DS_DEPTH_METRIC): the camera
     * projection puts each vertex at its depth, z = d (near_m and far_m unused),
     * so the mesh has its true size; the plane is displaced by the normalized
     * inverse depth n = (1/d - 1/max) / (1/min - 1/max) (0 where d <= 0).
     * ds_engine_mesh_rgb8 sets it from the model. Default 0. */
    int metric;
} ds_mesh_params;

DS_API ds_mesh_params ds_mesh_default_params(void);

typedef struct ds_mesh {
    float *vertices;             /* (n_vertices, 8): x y z nx ny nz u v; malloc'd */
    uint32_t *indices;           /* (n_triangles, 3); malloc'd */
    int64_t n_vertices, n_triangles;
    int cols, rows;              /* vertex grid: vertex (i, j) is i + j * cols */
    float yfov, aspect;          /* the view the mesh fills: vertical field of view (radians), width / height */
    float camera_z;              /* where that camera sits on +Z (0 for DS_MESH_CAMERA) */
    float bounds_min[3], bounds_max[3]; /* of the vertex positions */
} ds_mesh;

/* The mesh of a width x height depth map (row-major floats, host memory),
 * built on the CPU's cores (the same arithmetic as the CUDA kernels, which
 * build it on a device: ds_engine_mesh_rgb8); the result is in host memory,
 * released with ds_mesh_free. */
DS_API ds_status ds_mesh_build(const float *depth, int width, int height, const ds_mesh_params *params,
                        ds_mesh *out);
DS_API void ds_mesh_free(ds_mesh *mesh); /* NULL-safe; leaves *mesh empty */

/* The mesh's edges, for importers that keep an edge table (Blender): every
 * edge joins a grid vertex to its right, lower or lower-right neighbour, and
 * edges are numbered by their lower vertex, then in that order. *n_edges gets
 * their count; edges (NULL, or (*n_edges, 2) vertex pairs, lower first) and
 * corner_edge (NULL, or 3 x n_triangles: the edge from each corner's vertex
 * to the next corner's) are filled when given: call once with both NULL to
 * size edges. DS_ERR_INVALID_ARGUMENT for a triangle with another kind of
 * edge, DS_ERR_UNSUPPORTED past 32-bit indices. */
DS_API ds_status ds_mesh_edges(const ds_mesh *mesh, int32_t *edges, int32_t *corner_edge, int64_t *n_edges);

/* The photo's mesh in one call: ds_engine_solve_rgb8's depth map (solve may
 * be NULL for the defaults), then the mesh ds_mesh_build gives of it, the
 * same in every field. On a CUDA backend ("cuda", "cuda-emu") the mesh is
 * built on the device from the depth map the network left there, which
 * never goes to the host before; on the CPU, solve then ds_mesh_build.
 * depth_out: NULL, or width x height floats that receive the depth map.
 * *out (host memory, released with ds_mesh_free) is left empty on failure.
 * Uses the engine as any call does: one thread at a time. */
DS_API ds_status ds_engine_mesh_rgb8(ds_engine *engine, const uint8_t *rgb, int width, int height, size_t stride,
                              const ds_solve_params *solve, const ds_mesh_params *params, float *depth_out,
                              ds_mesh *out);

/* A mesh in device memory, for embedders that render with CUDA interop. */
typedef struct ds_mesh_device {
    const float *vertices;       /* (n_vertices, 8): x y z nx ny nz u v; device memory */
    const uint32_t *indices;     /* (n_triangles, 3); device memory */
    int64_t n_vertices, n_triangles;
    int cols, rows;              /* as in ds_mesh */
    float yfov, aspect, camera_z; /* as in ds_mesh (no bounds: they would need a download) */
    int device;                  /* the CUDA device ordinal they are on */
    void *stream;                /* the cudaStream_t they were written on */
} ds_mesh_device;

/* ds_engine_mesh_rgb8 with the mesh left in device memory: the same
 * vertices and indices, in buffers the engine owns (do not free them),
 * valid until the next call on the engine or ds_engine_free. The work on
 * `stream` is complete when this returns: read them on any stream of that
 * device. Under "cuda-emu" they are the emulator's device memory, which is
 * host memory the host may read directly. The CPU backend has no device:
 * DS_ERR_UNSUPPORTED (use ds_engine_mesh_rgb8). *out is zeroed on failure. */
DS_API ds_status ds_engine_mesh_rgb8_device(ds_engine *engine, const uint8_t *rgb, int width, int height,
                                     size_t stride, const ds_solve_params *solve,
                                     const ds_mesh_params *params, float *depth_out, ds_mesh_device *out);

/* ---- Photo to 3D-zoom video ---------------------------------------------- */
/* A scene is a photo and its depth map, ready to be seen from other cameras:
 * a grid of vertices, one at every pixel centre, each on its pixel's ray
 * from the photo's camera at the metric depth of its inverse depth (as
 * DS_MESH_CAMERA: 1/z = 1/far + n (1/near - 1/far), n the depth map
 * normalized to [0, 1]), optionally extended by a mirrored border of
 * `margin` pixels so that moving cameras do not look past the photo's edges.
 *
 * A frame (ds_scene_render) is that grid seen from a ds_camera: nearest
 * surface first; each pixel's colour is the photo's where its surface point
 * projects back into the photo's camera (so the frame of the photo's own
 * camera is the photo). Triangles the new view stretches more than `tear`
 * times in one direction are torn: foreground and background separate
 * instead of a rubber sheet between them. The holes that opens, and any
 * pixel outside the scene, are filled from the background side: the
 * farthest of the nearest drawn pixels in 8 directions (and those within
 * 15% of its depth), never from the foreground.
 *
 * Axes and units as ds_mesh: metres, +X right, +Y up, the photo's camera at
 * the origin looking down -Z. A scene may be used by one thread at a time. */
typedef struct ds_scene ds_scene;

typedef struct ds_scene_params {
    float fov_deg;        /* the photo's field of view along its long side (55) */
    float near_m, far_m;  /* depth of the nearest and farthest points (1, 10) */
    int margin;           /* mirrored border, pixels (0; ds_scene_margin computes one) */
    float tear;           /* stretch that tears a triangle, > 1 (2.5) */
    int edge_radius;      /* depth ramps steeper than 20% of the inverse depth within this
                             many pixels become steps (network depth maps blur their edges);
                             0: as given; -1 (default): max(width, height) / 400, rounded */
    ds_device device;     /* DS_DEVICE_CPU: plain C; DS_DEVICE_CUDA: the GPU kernels;
                             DS_DEVICE_CUDA_EMU: the same kernels emulated (slow);
                             DS_DEVICE_AUTO (default): the GPU when one works, else the CPU */
    int device_index;
    int n_threads;        /* CPU threads; 0: all cores */
} ds_scene_params;

DS_API ds_scene_params ds_scene_default_params(void);

typedef struct ds_camera {
    float position[3]; /* centre, metres */
    float rotation[9]; /* world -> camera, row-major; identity: the photo's orientation */
    float focal_scale; /* focal length over the photo's: 1 the same view, < 1 wider */
} ds_camera;

DS_API ds_camera ds_camera_identity(void); /* the photo's own camera */

/* RGB8 photo (`stride` bytes per row) and its width x height depth map
 * (relative inverse depth, any scale: the output of ds_engine_solve_rgb8);
 * both are copied. */
DS_API ds_status ds_scene_create(const uint8_t *rgb, int width, int height, size_t stride, const float *depth,
                          const ds_scene_params *params, ds_scene **out);
DS_API void ds_scene_free(ds_scene *scene); /* NULL-safe */

/* The backend that renders: "cpu", "cuda" or "cuda-emu". */
DS_API const char *ds_scene_device(const ds_scene *scene);

/* Renders the photo-sized frame seen from `camera` into rgb (width x height
 * RGB8, `stride` bytes per row). Allocates nothing after the first frame. */
DS_API ds_status ds_scene_render(ds_scene *scene, const ds_camera *camera, uint8_t *rgb, size_t stride);

/* The mirrored border (pixels) a width x height scene needs so that none of
 * the n cameras sees past it, at most max(width, height) / 2. */
DS_API ds_status ds_scene_margin(const ds_scene_params *params, int width, int height, const ds_camera *cameras,
                          int n, int *margin);

/* Camera paths: `t` in [0, 1] along the path; t = 0 is the photo's camera.
 *  - DS_MOTION_ZOOM: the camera moves towards the focus point while its field
 *    of view widens so that things at the focus depth keep their size (the
 *    "dolly zoom"); - DS_MOTION_DOLLY: the same move, the field of view kept;
 *  - DS_MOTION_STRAIGHT: a move to the right, the camera not turning;
 *  - DS_MOTION_SWING: left and right and back, the camera kept on the focus
 *    point; - DS_MOTION_CIRCLE: a circle in the image plane, aimed likewise.
 * One-way moves (zoom, dolly, straight) ease in and out over t in [0, 1];
 * swing and circle are loops: t = 1 is t = 0 again.
 * strength: how far the camera travels (the width of the path for swing and
 * circle) as a fraction of the focus depth; focus: the normalized inverse
 * depth n (1 nearest) of the focus point, on the photo's centre ray. */
typedef enum ds_motion {
    DS_MOTION_ZOOM = 0,
    DS_MOTION_DOLLY,
    DS_MOTION_STRAIGHT,
    DS_MOTION_SWING,
    DS_MOTION_CIRCLE,
    DS_MOTION_COUNT
} ds_motion;

typedef struct ds_path_params {
    ds_motion motion; /* default DS_MOTION_ZOOM */
    float strength;   /* < 0: the motion's default (zoom 0.3, dolly 0.2, the others 0.06) */
    float focus;      /* in [0, 1]; < 0: ds_depth_focus of the depth map (default -1) */
} ds_path_params;

DS_API ds_path_params ds_path_default_params(void);
DS_API const char *ds_motion_name(ds_motion motion); /* "zoom", ...; NULL out of range */
DS_API ds_motion ds_motion_from_name(const char *name); /* DS_MOTION_COUNT if unknown */
DS_API float ds_motion_default_strength(ds_motion motion);

/* The focus of an automatic camera move: the 75th percentile of the
 * normalized inverse depth over the middle 60% of the picture (the subject
 * is usually central and nearer than most of the picture). */
DS_API float ds_depth_focus(const float *depth, int width, int height);

/* The camera at t of the path; focus must be in [0, 1] here (resolve
 * "auto" with ds_depth_focus first); the scene params give near, far. */
DS_API ds_status ds_camera_on_path(const ds_path_params *path, const ds_scene_params *scene, float t,
                            ds_camera *out);

#ifdef __cplusplus
}
#endif

#endif /* DEPTHSOLVE_H */
