/* depth_batch.c: reader -> network -> writer threads over the photo list. */
#include "src/depth_batch.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"      /* ds_fail */
#include "src/cli.h"        /* ds_cli_seconds */
#include "src/depth_camera.h" /* ds_write_camera_json */
#include "src/io/image.h"      /* ds_image_read, ds_image_fov_deg */

enum { QUEUE_CAP = 2 }; /* photos in flight between two stages */

typedef struct item {
    size_t index;
    ds_image img;
    float *depth;   /* (dh, dw): the photo's depth map, from the engine's queue */
    int dw, dh;     /* the photo's size, or the network's (--net-size) */
    float *conf;    /* (dh, dw) confidence map, or NULL */
    ds_extras ex;   /* what the run gave beside the depth */
    const char *focal_source; /* metric Depth Anything 3: where the focal length came from, else NULL */
    float focal_x, focal_y;   /* that focal length, pixels of the photo */
    void *result;   /* the sink's solve, or NULL: its write_result releases it */
    char *error;    /* why this photo failed, or NULL */
    int skipped;
} item;

typedef struct queue {
    item *slots[QUEUE_CAP];
    int head, count, closed;
    pthread_mutex_t m;
    pthread_cond_t changed;
} queue;

static void queue_init(queue *q) {
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->m, NULL);
    pthread_cond_init(&q->changed, NULL);
}

static void queue_destroy(queue *q) {
    pthread_mutex_destroy(&q->m);
    pthread_cond_destroy(&q->changed);
}

static void free_item(item *it);

/* Adds it to the queue; a queue closed by its consumer frees it instead. */
static void push(queue *q, item *it) {
    pthread_mutex_lock(&q->m);
    while (q->count == QUEUE_CAP && !q->closed)
        pthread_cond_wait(&q->changed, &q->m);
    if (q->closed) {
        pthread_mutex_unlock(&q->m);
        free_item(it);
        return;
    }
    q->slots[(q->head + q->count++) % QUEUE_CAP] = it;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->m);
}

static item *pop(queue *q) {
    pthread_mutex_lock(&q->m);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->changed, &q->m);
    item *it = NULL;
    if (q->count) {
        it = q->slots[q->head];
        q->head = (q->head + 1) % QUEUE_CAP;
        q->count--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->m);
    return it;
}

static void close_queue(queue *q) {
    pthread_mutex_lock(&q->m);
    q->closed = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->m);
}

/* Frees what a closed queue still holds. */
static void drain(queue *q) {
    item *it;
    while ((it = pop(q)) != NULL)
        free_item(it);
}

static void free_item(item *it) {
    ds_image_free(&it->img);
    free(it->depth);
    free(it->conf);
    free(it->error);
    free(it);
}

/* A photo whose PNGs wait for the batch's range (--normalize global). */
typedef struct pending {
    size_t index;
    char raw[4400]; /* the depth map, float32, in a hidden temporary file */
    int w, h;
} pending;

typedef struct batch {
    const ds_batch_opts *o;
    const ds_input_list *in;
    ds_batch_result *r;
    queue decoded, solved;
    double t0;
    pending *pend;
    size_t n_pend;
    float global_lo, global_hi;
} batch;

static item *failed_item(size_t index, const char *msg) {
    item *it = calloc(1, sizeof *it);
    if (it) {
        it->index = index;
        it->error = strdup(msg);
    }
    return it;
}

static void *reader(void *arg) {
    batch *b = arg;
    for (size_t i = 0; i < b->in->n; i++) {
        item *it = calloc(1, sizeof *it);
        if (!it) {
            it = failed_item(i, "out of memory");
            if (!it)
                continue;
        } else {
            it->index = i;
            const ds_batch_sink *sink = b->o->sink;
            const char *rel = b->in->items[i].rel;
            if (!b->o->overwrite &&
                (sink ? sink->exists(sink->user, rel) : ds_outputs_exist(&b->o->out, rel)))
                it->skipped = 1;
            else if (ds_image_read(b->in->items[i].path, b->o->max_pixels, &it->img) != DS_OK)
                it->error = strdup(ds_last_error());
        }
        push(&b->decoded, it);
    }
    close_queue(&b->decoded);
    return NULL;
}

/* One photo submitted to the engine's queue: resizes and network where the
 * engine runs them (on a CUDA device, all on the device); ds_engine_collect
 * writes it->depth at the photo's size. */
/* A metric Depth Anything 3's focal length for this photo (ds_batch_opts.fov_deg). */
static ds_status choose_focal(batch *b, item *it, ds_solve_params *p) {
    const ds_image *img = &it->img;
    const int longest = img->width > img->height ? img->width : img->height;
    float fov = b->o->fov_deg;
    it->focal_source = "fov";
    if (!(fov > 0)) {
        fov = ds_image_fov_deg(img);
        it->focal_source = "exif";
    }
    if (!(fov > 0) && b->o->camera_engine) {
        float *tmp = malloc((size_t)img->width * img->height * sizeof *tmp);
        if (!tmp)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
        ds_extras ex = {0};
        ds_solve_params cp = ds_solve_default_params();
        cp.height = b->o->solve.height; /* the same process_res */
        ds_status s = ds_engine_solve_rgb8_ex(b->o->camera_engine, img->rgb, img->width, img->height,
                                              (size_t)img->width * 3, &cp, tmp, &ex);
        free(tmp);
        DS_TRY(s);
        if (ex.has_camera) {
            it->focal_source = "camera-model";
            p->focal_x = it->focal_x = ex.camera.fx;
            p->focal_y = it->focal_y = ex.camera.fy;
            return DS_OK;
        }
    }
    if (!(fov > 0)) {
        fov = DS_DEFAULT_FOV_DEG;
        it->focal_source = "default";
    }
    p->focal_x = p->focal_y = it->focal_x = it->focal_y =
        (float)(longest / 2.0 / tan(fov / 2.0 * M_PI / 180.0));
    return DS_OK;
}

static ds_status submit_photo(batch *b, item *it) {
    ds_model_info info;
    DS_TRY(ds_engine_model_info(b->o->engine, &info));
    ds_solve_params p = b->o->solve;
    if (info.metric_focal_ref > 0) {
        DS_TRY(choose_focal(b, it, &p));
        if (!b->o->quiet)
            fprintf(stderr, "depthsolve depth: %s: focal length %.1f px (%s)\n", b->in->items[it->index].path,
                    (double)(it->focal_x + it->focal_y) / 2, it->focal_source);
    }
    it->dw = it->img.width;
    it->dh = it->img.height;
    if (p.net_output)
        DS_TRY(ds_engine_input_size(b->o->engine, it->img.width, it->img.height, &p, &it->dw, &it->dh));
    const size_t n = (size_t)it->dw * it->dh;
    if (!(it->depth = malloc(n * sizeof(float))))
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a %dx%d depth map", it->dw, it->dh);
    if ((info.outputs & DS_OUTPUT_CONFIDENCE) && (b->o->out.formats & DS_OUT_CONF) &&
        !(it->conf = malloc(n * sizeof(float))))
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory for a %dx%d confidence map", it->dw, it->dh);
    return ds_engine_submit_rgb8(b->o->engine, it->img.rgb, it->img.width, it->img.height,
                                 (size_t)it->img.width * 3, &p);
}

static void note_error(batch *b, item *it, ds_status s) {
    if (s != DS_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: %s", b->in->items[it->index].path, ds_last_error());
        it->error = strdup(msg);
    }
}

/* The photos in the engine's queue, oldest first: while one runs on a GPU,
 * the reader decodes the next and the main thread submits it. */
typedef struct in_flight {
    item *items[DS_ENGINE_QUEUE_DEPTH];
    int n;
} in_flight;

/* The oldest run collected into its photo, which goes to the writer. */
static void collect_oldest(batch *b, in_flight *f) {
    item *it = f->items[0];
    it->ex.confidence = it->conf;
    note_error(b, it, ds_engine_collect_ex(b->o->engine, it->depth, &it->ex));
    memmove(f->items, f->items + 1, (size_t)(--f->n) * sizeof *f->items);
    push(&b->solved, it);
}

/* The main thread's job for one photo: the sink's solve (then to the
 * writer), or the photo queued (to the writer once collected). */
static void solve(batch *b, item *it, in_flight *f) {
    const ds_batch_sink *sink = b->o->sink;
    if (sink && sink->solve) {
        note_error(b, it, sink->solve(sink->user, b->o->engine, &it->img, &b->o->solve, &it->result));
        push(&b->solved, it);
        return;
    }
    if (f->n == DS_ENGINE_QUEUE_DEPTH)
        collect_oldest(b, f);
    ds_status s = submit_photo(b, it);
    if (s != DS_OK) {
        note_error(b, it, s);
        push(&b->solved, it);
        return;
    }
    f->items[f->n++] = it;
}

static void progress_line(batch *b, const char *name) {
    if (!b->o->progress)
        return;
    size_t done = b->r->written + b->r->skipped + b->r->failed, total = b->in->n;
    double dt = ds_cli_seconds() - b->t0, rate = done / (dt > 0 ? dt : 1);
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r\033[K[%zu/%zu] %.2f img/s, ETA %d:%02d  %s", done, total, rate,
            (int)eta / 60, (int)eta % 60, name);
    fflush(stderr);
}

/* Photo `index` failed: its line now, its name in the summary. */
static void report_failure(batch *b, size_t index, const char *msg) {
    if (b->o->progress)
        fprintf(stderr, "\r\033[K");
    char line[1200];
    snprintf(line, sizeof line, "%s", msg);
    ds_one_line(line); /* the path may hold a newline */
    fprintf(stderr, "depthsolve %s: %s\n", b->o->sink ? b->o->sink->cmd : "depth", line);
    b->r->failed++;
    size_t *grown = realloc(b->r->failed_at, (b->r->n_failed_at + 1) * sizeof *grown);
    if (grown) { /* without memory the summary only counts it */
        b->r->failed_at = grown;
        b->r->failed_at[b->r->n_failed_at++] = index;
    }
}

void ds_batch_result_free(ds_batch_result *r) {
    free(r->failed_at);
    r->failed_at = NULL;
    r->n_failed_at = 0;
}

static ds_status save_pending(batch *b, size_t index, const float *depth, int w, int h) {
    pending *grown = realloc(b->pend, (b->n_pend + 1) * sizeof *grown);
    if (!grown)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    b->pend = grown;
    pending *p = &b->pend[b->n_pend];
    p->index = index;
    p->w = w;
    p->h = h;
    snprintf(p->raw, sizeof p->raw, "%s/.depthsolve-%ld-%zu.raw", b->o->out.dir, (long)getpid(),
             index);
    FILE *f = fopen(p->raw, "wb");
    size_t n = (size_t)w * h;
    int ok = f && fwrite(depth, sizeof *depth, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        remove(p->raw);
        return ds_fail(DS_ERR_IO, "%s: cannot write a temporary file", p->raw);
    }
    b->n_pend++;
    return DS_OK;
}

/* The camera JSON: the model's estimate, or the focal length a metric model used. */
static ds_status write_camera(batch *b, item *it, const char *rel) {
    const ds_output_opts *o = &b->o->out;
    char path[4400];
    ds_camera_json_path(o, rel, path, sizeof path);
    int nw, nh;
    ds_solve_params p = b->o->solve;
    DS_TRY(ds_engine_input_size(b->o->engine, it->img.width, it->img.height, &p, &nw, &nh));
    const int pw = it->img.width, ph = it->img.height;
    if (it->ex.has_camera) { /* at the photo's size: the network's focal lengths scaled with the sides */
        ds_pinhole photo = ds_pinhole_of(pw, ph, it->ex.net_camera.fx * (float)pw / (float)nw,
                                         it->ex.net_camera.fy * (float)ph / (float)nh);
        return ds_write_camera_json(path, o->model_name, "estimated", &photo, &it->ex.net_camera,
                                    it->ex.net_camera.extrinsics, 0.0f);
    }
    if (!it->focal_source)
        return DS_OK;
    const ds_pinhole photo = ds_pinhole_of(pw, ph, it->focal_x, it->focal_y);
    const ds_pinhole net = ds_pinhole_of(nw, nh, it->focal_x * (float)nw / (float)pw, it->focal_y * (float)nh / (float)ph);
    return ds_write_camera_json(path, o->model_name, it->focal_source, &photo, &net, NULL, it->ex.metric_focal);
}

/* Every output of one photo. */
static ds_status write_item(batch *b, item *it) {
    const ds_output_opts *o = &b->o->out;
    const char *rel = b->in->items[it->index].rel;
    if (it->result) { /* the sink's own, handed over (and released) once */
        void *result = it->result;
        it->result = NULL;
        return b->o->sink->write_result(b->o->sink->user, rel, &it->img, result);
    }
    int w = it->dw, h = it->dh;
    size_t n = (size_t)w * h;
    const float *depth = it->depth;
    if (b->o->sink)
        return b->o->sink->write(b->o->sink->user, rel, &it->img, depth, w, h, &it->ex);
    void *scratch = malloc(n * 8);
    ds_status s = scratch ? DS_OK : ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == DS_OK)
        s = ds_write_float_outputs(o, rel, depth, w, h);
    if (s == DS_OK && (o->formats & DS_OUT_CONF) && it->ex.has_confidence)
        s = ds_write_conf_outputs(o, rel, it->conf, w, h);
    if (s == DS_OK && o->camera_json)
        s = write_camera(b, it, rel);
    if (s == DS_OK && (o->formats & (DS_OUT_PNG8 | DS_OUT_PNG16))) {
        float lo = o->fixed_min, hi = o->fixed_max;
        if (o->norm == DS_NORM_GLOBAL) {
            ds_depth_range(depth, n, &lo, &hi);
            b->global_lo = fminf(b->global_lo, lo);
            b->global_hi = fmaxf(b->global_hi, hi);
            s = save_pending(b, it->index, depth, w, h);
        } else {
            if (o->norm == DS_NORM_IMAGE)
                ds_depth_range(depth, n, &lo, &hi);
            s = ds_write_png_outputs(o, rel, depth, w, h, lo, hi, &it->img, scratch);
        }
    }
    free(scratch);
    return s;
}

static void *writer(void *arg) {
    batch *b = arg;
    item *it;
    while ((it = pop(&b->solved)) != NULL) {
        const char *path = b->in->items[it->index].path;
        if (it->skipped) {
            b->r->skipped++;
        } else if (it->error) {
            report_failure(b, it->index, it->error);
        } else if (write_item(b, it) != DS_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s: %s", path, ds_last_error());
            report_failure(b, it->index, msg);
        } else {
            b->r->written++;
        }
        progress_line(b, path);
        free_item(it);
    }
    return NULL;
}

/* --normalize global: the PNGs of every photo, now that the range is known. */
static void write_global_pngs(batch *b) {
    const ds_output_opts *o = &b->o->out;
    for (size_t k = 0; k < b->n_pend; k++) {
        pending *p = &b->pend[k];
        const ds_input *in = &b->in->items[p->index];
        size_t n = (size_t)p->w * p->h;
        float *depth = malloc(n * sizeof *depth);
        void *scratch = malloc(n * 8);
        ds_image photo = {0};
        FILE *f = fopen(p->raw, "rb");
        ds_status s = depth && scratch && f && fread(depth, sizeof *depth, n, f) == n
                          ? DS_OK
                          : ds_fail(DS_ERR_IO, "%s: cannot read back the depth map", p->raw);
        if (f)
            fclose(f);
        if (s == DS_OK && o->side_by_side)
            s = ds_image_read(in->path, b->o->max_pixels, &photo);
        if (s == DS_OK)
            s = ds_write_png_outputs(o, in->rel, depth, p->w, p->h, b->global_lo, b->global_hi,
                                     &photo, scratch);
        if (s != DS_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s: %s", in->path, ds_last_error());
            report_failure(b, p->index, msg);
            b->r->written--;
        }
        remove(p->raw);
        ds_image_free(&photo);
        free(depth);
        free(scratch);
    }
    free(b->pend);
}

void ds_batch_run(const ds_batch_opts *o, const ds_input_list *in, ds_batch_result *r) {
    memset(r, 0, sizeof *r);
    batch b = {.o = o, .in = in, .r = r, .t0 = ds_cli_seconds(), .global_lo = INFINITY,
               .global_hi = -INFINITY};
    queue_init(&b.decoded);
    queue_init(&b.solved);
    pthread_t rd, wr;
    int err = pthread_create(&rd, NULL, reader, &b);
    if (err == 0 && (err = pthread_create(&wr, NULL, writer, &b)) != 0) {
        close_queue(&b.decoded); /* nobody pops: stop the reader at its next push */
        drain(&b.decoded);
        pthread_join(rd, NULL);
    }
    if (err != 0) {
        fprintf(stderr, "depthsolve %s: cannot start a thread: %s\n", o->sink ? o->sink->cmd : "depth",
                strerror(err));
        r->failed = in->n;
        queue_destroy(&b.decoded);
        queue_destroy(&b.solved);
        return;
    }
    in_flight f = {.n = 0};
    item *it;
    while ((it = pop(&b.decoded)) != NULL) {
        if (it->skipped || it->error) {
            push(&b.solved, it);
            continue;
        }
        double t = ds_cli_seconds();
        solve(&b, it, &f);
        r->network_seconds += ds_cli_seconds() - t;
    }
    double t = ds_cli_seconds();
    while (f.n > 0)
        collect_oldest(&b, &f);
    r->network_seconds += ds_cli_seconds() - t;
    close_queue(&b.solved);
    pthread_join(rd, NULL);
    pthread_join(wr, NULL);
    write_global_pngs(&b);
    if (o->progress)
        fprintf(stderr, "\r\033[K");
    queue_destroy(&b.decoded);
    queue_destroy(&b.solved);
    r->wall_seconds = ds_cli_seconds() - b.t0;
}
