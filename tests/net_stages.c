/* net_stages.c: see net_stages.h. */
#include "tests/net_stages.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "depthsolve.h"     /* ds_last_error */
#include "src/io/npy.h"     /* ds_npy_read */
#include "tests/op_check.h" /* op_rel_l2 */
#include "tests/test.h"     /* test_read_file */

void net_stages_init(net_stages *c, const char *dir, double tolerance) {
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->tolerance = tolerance;
    char path[300];
    snprintf(path, sizeof path, "%s/same_as.json", dir);
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    if (!text)
        return;
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *twin = cJSON_GetObjectItemCaseSensitive(j, "dir");
    if (cJSON_IsString(twin))
        snprintf(c->twin, sizeof c->twin, "%s/%s", dir, twin->valuestring);
    cJSON_Delete(j);
    free(text);
}

/* The reference `name` (dir, else the twin's folder), or NULL after noting why. */
static int read_ref(net_stages *c, const char *dir, const char *name, ds_npy *ref) {
    char path[900];
    snprintf(path, sizeof path, "%s/%s.npy", dir ? dir : c->dir, name);
    if (access(path, R_OK) != 0 && c->twin[0])
        snprintf(path, sizeof path, "%s/%s.npy", c->twin, name);
    if (ds_npy_read(path, ref) == DS_OK)
        return 1;
    if (!c->failure[0])
        snprintf(c->failure, sizeof c->failure, "%s", ds_last_error());
    return 0;
}

static void compare_with(net_stages *c, const ds_npy *ref, const char *label, const char *name, const float *data,
                         size_t n) {
    if ((size_t)ds_npy_numel(ref) != n) {
        if (!c->failure[0])
            snprintf(c->failure, sizeof c->failure, "%s: %zu values, the reference has %lld", name, n,
                     (long long)ds_npy_numel(ref));
        return;
    }
    const double e = op_rel_l2(data, ref->data, n);
    printf("    %-24s %-4s rel L2 %.2e\n", name, label, e);
    c->n_stages++;
    c->worst = e > c->worst ? e : c->worst;
    if (!(e <= c->tolerance) && !c->failure[0])
        snprintf(c->failure, sizeof c->failure, "%s (%s): relative L2 %.3g > %.0e", name, label, e, c->tolerance);
}

void net_stages_compare(net_stages *c, const char *dir, const char *label, const char *name, const float *data,
                        size_t n) {
    ds_npy ref;
    if (!read_ref(c, dir, name, &ref))
        return;
    compare_with(c, &ref, label, name, data, n);
    ds_npy_free(&ref);
}

void net_stages_on_stage(const char *name, const float *nchw, int ch, int h, int w, void *user) {
    net_stages *c = user;
    const size_t n = (size_t)ch * h * w;
    ds_npy ref;
    if (!read_ref(c, NULL, name, &ref))
        return;
    /* tokens: (1, T, C), or (1, 1, T, C) as Depth Anything 3's dumps keep them */
    const int tokens = h == 1 && (ref.ndim == 3 || (ref.ndim == 4 && ref.shape[1] == 1 && ref.shape[3] == ch));
    if (!tokens) { /* a map (1, C, H, W) */
        if (ref.ndim == 4 && (ref.shape[1] != ch || ref.shape[2] != h || ref.shape[3] != w) && !c->failure[0])
            snprintf(c->failure, sizeof c->failure, "%s: %dx%dx%d, the reference %lldx%lldx%lld", name, ch, h, w,
                     (long long)ref.shape[1], (long long)ref.shape[2], (long long)ref.shape[3]);
        compare_with(c, &ref, "fp32", name, nchw, n);
        ds_npy_free(&ref);
        return;
    }
    float *tc = malloc(n * sizeof *tc); /* tokens: (C, 1, T) -> (T, C) */
    for (int t = 0; tc && t < w; t++)
        for (int k = 0; k < ch; k++)
            tc[(size_t)t * ch + k] = nchw[(size_t)k * w + t];
    if (tc)
        compare_with(c, &ref, "fp32", name, tc, n);
    else if (!c->failure[0])
        snprintf(c->failure, sizeof c->failure, "out of memory");
    free(tc);
    ds_npy_free(&ref);
}
