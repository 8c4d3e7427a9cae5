/* ref_case.c: the reference file and bound of a dumped tensor (ref_case.h). */
#include "tests/ref_case.h"

#include <cjson/cJSON.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double F64_ABOVE = 3e-5; /* torch32_err from which f64/ is the reference */

double ref_case_torch32_bound(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/f64/torch32_err.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char text[8192];
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = 0;
    cJSON *j = cJSON_Parse(text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, name);
    double bound = cJSON_IsNumber(e) ? 3.0 * e->valuedouble : 0;
    cJSON_Delete(j);
    return bound;
}

int ref_case_target(const char *dir, const char *name, char *path, size_t n, double *bound) {
    const double b64 = ref_case_torch32_bound(dir, name);
    snprintf(path, n, "%s/f64/%s.npy", dir, name);
    if (b64 > 3.0 * F64_ABOVE && access(path, R_OK) == 0) {
        *bound = b64;
        return 1;
    }
    snprintf(path, n, "%s/%s.npy", dir, name);
    *bound = REF_CASE_TOLERANCE;
    return access(path, R_OK) == 0;
}

double ref_case_pipeline_bound(const char *model_dir) {
    char pattern[600], net_dir[600];
    snprintf(pattern, sizeof pattern, "%s/net_*/f64/torch32_err.json", model_dir);
    glob_t g;
    double bound = REF_CASE_TOLERANCE;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        snprintf(net_dir, sizeof net_dir, "%.*s", (int)(strstr(g.gl_pathv[0], "/f64/") - g.gl_pathv[0]),
                 g.gl_pathv[0]);
        const double b = ref_case_torch32_bound(net_dir, "output");
        bound = b > bound ? b : bound;
    }
    globfree(&g);
    return bound;
}
