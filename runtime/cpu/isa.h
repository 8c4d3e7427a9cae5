/*
 * cpu/isa.h: which instruction set the CPU kernels use. Chosen when an
 * engine is created: the best path this build has for this CPU, or the one
 * DS_CPU_ISA names (`portable`, `avx2`, `avx512`), so that every path a machine has
 * can be tested against the reference and an AVX2 run measured on a newer
 * machine. The choice is process-wide (the kernels read it per call).
 */
#ifndef DS_CPU_ISA_H
#define DS_CPU_ISA_H

#include <stddef.h>

#include "depthsolve.h" /* ds_status */

typedef enum ds_cpu_isa {
    DS_ISA_PORTABLE = 0, /* plain C, any CPU */
    DS_ISA_AVX2,         /* AVX2 + FMA (the *_avx2.c kernels) */
    DS_ISA_AVX512,       /* + AVX-512 F/BW/DQ/VL: the *_avx512.c kernels where one
                            exists, the AVX2 ones elsewhere */
    DS_ISA_COUNT
} ds_cpu_isa;

const char *ds_cpu_isa_name(ds_cpu_isa isa);
/* 1 if this CPU can run the path. */
int ds_cpu_isa_supported(ds_cpu_isa isa);
/* The path the kernels run now. */
ds_cpu_isa ds_cpu_isa_active(void);
/* Makes the choice from DS_CPU_ISA (or the best supported path when it is
 * unset or empty); an unknown name or a path this CPU lacks is an error that
 * says which, and changes nothing. `why` (may be NULL) says how it was chosen. */
ds_status ds_cpu_isa_select(char *why, size_t why_len);
/* For tests: run `isa` from now on (it must be supported). */
void ds_cpu_isa_force(ds_cpu_isa isa);

/* The CPU's vector features the choice and the precisions depend on, as
 * "avx2 fma avx512f ... ; no amx-bf16" words. */
void ds_cpu_features(char *buf, size_t len);
/* 1 if the CPU has AVX512-BF16, what the bf16 linear layers run on
 * (every CPU with AMX-BF16 has it too). */
int ds_cpu_has_bf16(void);

#endif
