/*
 * base/cpus.h: how many CPUs this process may actually use, the default
 * thread count of the engine, the renderer and every parallel loop: the CPUs
 * of its affinity mask (`taskset -c 0` gives 1), capped by the CPU quota of
 * its cgroup (a container given 1.5 CPUs gets 2, not the host's 64).
 */
#ifndef DS_BASE_CPUS_H
#define DS_BASE_CPUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default thread count; `why` (may be NULL) gets a short phrase saying
 * where it comes from, e.g. "affinity 8 CPUs, cgroup quota 1.50 CPUs". */
int ds_default_threads(char *why, size_t why_len);

/* ds_default_threads(), read once per process: the thread count of the
 * library's loops that take none from the caller. */
int ds_cpus(void);

/* A cgroup v2 `cpu.max` file's text ("max 100000", "150000 100000"): the
 * CPUs it allows, or 0 for no limit (and for text it cannot read). */
double ds_cpu_max_parse(const char *text);

/* The quota of the cgroup whose cpu.max (v2) or cpu.cfs_quota_us and
 * cpu.cfs_period_us (v1) lie in `dir`, in CPUs; 0 for none. */
double ds_cgroup_quota(const char *dir);

#ifdef __cplusplus
}
#endif

#endif
