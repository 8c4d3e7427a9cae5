/* cpu/isa.c: the instruction set of the CPU kernels (see isa.h). */
#include "cpu/isa.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h" /* ds_fail */

static const char *const NAMES[DS_ISA_COUNT] = {"portable", "avx2", "avx512"};

const char *ds_cpu_isa_name(ds_cpu_isa isa) {
    return (unsigned)isa < DS_ISA_COUNT ? NAMES[isa] : "?";
}

int ds_cpu_isa_supported(ds_cpu_isa isa) {
    __builtin_cpu_init();
    switch (isa) {
    case DS_ISA_PORTABLE: return 1;
    case DS_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case DS_ISA_AVX512:
        return ds_cpu_isa_supported(DS_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
    case DS_ISA_COUNT: break;
    }
    return 0;
}

static ds_cpu_isa best(void) {
    for (int i = DS_ISA_COUNT - 1; i > 0; i--)
        if (ds_cpu_isa_supported((ds_cpu_isa)i))
            return (ds_cpu_isa)i;
    return DS_ISA_PORTABLE;
}

static _Atomic int active = -1; /* -1: not chosen yet */

ds_status ds_cpu_isa_select(char *why, size_t why_len) {
    const char *want = getenv("DS_CPU_ISA");
    if (!want || !*want) {
        ds_cpu_isa b = best();
        atomic_store(&active, (int)b);
        if (why && why_len)
            snprintf(why, why_len, "the best this CPU runs; DS_CPU_ISA overrides");
        return DS_OK;
    }
    for (int i = 0; i < DS_ISA_COUNT; i++)
        if (!strcmp(want, NAMES[i])) {
            if (!ds_cpu_isa_supported((ds_cpu_isa)i))
                return ds_fail(DS_ERR_UNSUPPORTED, "DS_CPU_ISA=%s: this CPU cannot run it", want);
            atomic_store(&active, i);
            if (why && why_len)
                snprintf(why, why_len, "DS_CPU_ISA=%s", want);
            return DS_OK;
        }
    return ds_fail(DS_ERR_INVALID_ARGUMENT, "DS_CPU_ISA=%s: unknown (this build has portable, avx2, avx512)",
                   want);
}

ds_cpu_isa ds_cpu_isa_active(void) {
    int a = atomic_load_explicit(&active, memory_order_relaxed);
    if (a < 0) {
        if (ds_cpu_isa_select(NULL, 0) != DS_OK)
            atomic_store(&active, (int)best()); /* a bad DS_CPU_ISA fails at engine creation */
        a = atomic_load(&active);
    }
    return (ds_cpu_isa)a;
}

void ds_cpu_isa_force(ds_cpu_isa isa) {
    atomic_store(&active, (int)isa);
}

int ds_cpu_has_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

void ds_cpu_features(char *buf, size_t len) {
    static const char *const FEATURES[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512dq",
                                           "avx512vl", "avx512bf16", "amx-bf16"};
    char have[160] = "", lack[160] = "";
    __builtin_cpu_init();
    for (size_t i = 0; i < sizeof FEATURES / sizeof *FEATURES; i++) {
        int yes = 0;
        switch (i) { /* __builtin_cpu_supports takes a string literal */
        case 0: yes = __builtin_cpu_supports("avx2"); break;
        case 1: yes = __builtin_cpu_supports("fma"); break;
        case 2: yes = __builtin_cpu_supports("avx512f"); break;
        case 3: yes = __builtin_cpu_supports("avx512bw"); break;
        case 4: yes = __builtin_cpu_supports("avx512dq"); break;
        case 5: yes = __builtin_cpu_supports("avx512vl"); break;
        case 6: yes = __builtin_cpu_supports("avx512bf16"); break;
        case 7: yes = __builtin_cpu_supports("amx-bf16"); break;
        }
        char *to = yes ? have : lack;
        size_t at = strlen(to);
        snprintf(to + at, sizeof have - at, "%s%s", at ? " " : "", FEATURES[i]);
    }
    snprintf(buf, len, "%s%s%s", have[0] ? have : "none of avx2 fma avx512", lack[0] ? "; no " : "",
             lack);
}
