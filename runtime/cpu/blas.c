/* cpu/blas.c: OpenBLAS kept on the calling thread (see blas.h). */
#include "cpu/blas.h"

/* In the OpenMP build this also sets the calling thread's OpenMP thread
 * count, which is what OpenBLAS reads on every call. */
void openblas_set_num_threads(int n);

void ds_blas_serial(void) {
    static _Thread_local int done;
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
}
