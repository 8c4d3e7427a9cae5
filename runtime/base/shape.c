/* shape.c: shapes counted and written out. */
#include "base/shape.h"

#include <stdio.h>

int64_t ds_shape_numel_n(const int64_t *shape, int ndim) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

void ds_format_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    if (ndim == 0) {
        snprintf(buf, len, "scalar");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < ndim && used < len; d++) {
        int n = snprintf(buf + used, len - used, d ? "x%lld" : "%lld", (long long)shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}
