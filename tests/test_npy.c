/*
 * test_npy.c: the .npy reader and writer (src/io/npy.c): a round trip, and
 * headers whose shape overflows or whose data is short, refused before any
 * allocation.
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "src/io/npy.h"
#include "tests/test.h"

/* A .npy with `shape` and `data_bytes` bytes of data after its header. */
static void write_npy(const char *path, const char *shape, size_t data_bytes) {
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    int total = (10 + n + 1 + 63) / 64 * 64;
    memset(h + n, ' ', (size_t)(total - 10 - n - 1));
    h[total - 10 - 1] = '\n';
    unsigned char buf[512] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(total - 10), 0};
    memcpy(buf + 10, h, (size_t)(total - 10));
    CHECK((size_t)total + data_bytes <= sizeof buf);
    CHECK(test_write_file(path, buf, (size_t)total + data_bytes));
}

/* Shapes whose element count overflows, or whose data is not all there,
 * are refused before any allocation; a good one reads back. */
TEST(npy_shapes_are_checked) {
    char path[600];
    test_tmp_path(path, sizeof path, "shape.npy");
    ds_npy a;
    write_npy(path, "(1, 3, 1099511627776, 1099511627776)", 0); /* 2^40 x 2^40: wraps to 0 in int64 */
    CHECK_FAILS(ds_npy_read(path, &a), DS_ERR_FORMAT, "shape holds more values than any file can");
    write_npy(path, "(4294967296, 4294967296)", 64);
    CHECK_FAILS(ds_npy_read(path, &a), DS_ERR_FORMAT, "shape holds more values than any file can");
    write_npy(path, "(2, 3)", 20);
    CHECK_FAILS(ds_npy_read(path, &a), DS_ERR_FORMAT, "20 data bytes, the shape needs 24");
    write_npy(path, "(2, 3)", 24);
    CHECK_OK(ds_npy_read(path, &a));
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && ds_npy_numel(&a) == 6);
    ds_npy_free(&a);
}

/* ds_npy_write's file reads back with its shape and values. */
TEST(npy_round_trip) {
    char path[600];
    test_tmp_path(path, sizeof path, "round.npy");
    const float v[6] = {0.5f, -1.0f, 3.25f, 0.0f, 1e-7f, -2.5e6f};
    const int64_t shape[3] = {1, 2, 3};
    CHECK_OK(ds_npy_write(path, v, 3, shape));
    ds_npy a;
    CHECK_OK(ds_npy_read(path, &a));
    CHECK(a.ndim == 3 && a.shape[0] == 1 && a.shape[1] == 2 && a.shape[2] == 3);
    CHECK(!memcmp(a.data, v, sizeof v));
    ds_npy_free(&a);
}

int main(void) {
    RUN(npy_round_trip);
    RUN(npy_shapes_are_checked);
    test_remove_tmp_dir();
    return test_summary();
}
