/* base/cpus.c: the CPUs a process may use (see cpus.h). */
#include "base/cpus.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double ds_cpu_max_parse(const char *text) {
    char quota[32];
    long long period = 0;
    if (!text || sscanf(text, "%31s %lld", quota, &period) < 1 || !strcmp(quota, "max"))
        return 0;
    char *end;
    long long q = strtoll(quota, &end, 10);
    if (*end || q <= 0)
        return 0;
    if (period <= 0)
        period = 100000; /* the kernel's default when the file gives one field */
    return (double)q / (double)period;
}

static int read_text(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

double ds_cgroup_quota(const char *dir) {
    char path[4096], text[128];
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (read_text(path, text, sizeof text))
        return ds_cpu_max_parse(text);
    long long quota = -1, period = 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (read_text(path, text, sizeof text))
        quota = atoll(text);
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (read_text(path, text, sizeof text))
        period = atoll(text);
    return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}

/* The tightest quota on the way from this process's cgroup up to the root
 * (a parent's limit binds its children), v2 then v1's cpu controller. */
static double own_quota(void) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0;
    char line[4096];
    double best = 0;
    while (fgets(line, sizeof line, f)) {
        /* "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1) */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctrl = c1 + 1, *rel = c2 + 1;
        const char *root = NULL;
        if (!*ctrl)
            root = "/sys/fs/cgroup";
        else if (!strcmp(ctrl, "cpu") || !strcmp(ctrl, "cpu,cpuacct") || !strcmp(ctrl, "cpuacct,cpu"))
            root = "/sys/fs/cgroup/cpu";
        if (!root)
            continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s%s", root, rel);
        dir[strcspn(dir, "\n")] = '\0';
        for (;;) {
            double q = ds_cgroup_quota(dir);
            if (q > 0 && (best == 0 || q < best))
                best = q;
            char *slash = strrchr(dir, '/');
            if (!slash || (size_t)(slash - dir) < strlen(root))
                break;
            *slash = '\0';
        }
    }
    fclose(f);
    return best;
}

int ds_default_threads(char *why, size_t why_len) {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)online : 1;
    }
    const int affinity = n;
    const double quota = own_quota();
    if (quota > 0 && (int)ceil(quota) < n)
        n = (int)ceil(quota);
    if (why && why_len) {
        if (quota > 0)
            snprintf(why, why_len, "affinity %d CPU%s, cgroup quota %.2f CPUs", affinity,
                     affinity == 1 ? "" : "s", quota);
        else
            snprintf(why, why_len, "affinity %d CPU%s, no cgroup CPU quota", affinity,
                     affinity == 1 ? "" : "s");
    }
    return n;
}

int ds_cpus(void) {
    static _Atomic int n;
    int v = atomic_load_explicit(&n, memory_order_relaxed);
    if (!v) {
        v = ds_default_threads(NULL, 0);
        atomic_store_explicit(&n, v, memory_order_relaxed);
    }
    return v;
}
