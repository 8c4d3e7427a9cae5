/* test_gguf_write.c: the GGUF writer's failures: atomic replacement that
 * keeps the old file on any error, permissions, and refused input; tensors
 * produced while the file is written. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "gguf/gguf.h"
#include "gguf/gguf_private.h" /* ds_gguf_writer_stream_only */
#include "tests/test.h"

/* Temporary files the writer leaves behind in dir (should be none). */
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-"))
            n++;
    closedir(d);
    return n;
}

static ds_status write_small(const char *path, size_t n_floats) {
    static float data[4096];
    int64_t shape[1] = {(int64_t)n_floats};
    ds_gguf_writer *w = NULL;
    DS_TRY(ds_gguf_writer_create(&w));
    ds_status s = ds_gguf_add_tensor(w, "x", DS_F32, 1, shape, data, n_floats * 4);
    if (s == DS_OK)
        s = ds_gguf_write_file(w, path);
    ds_gguf_writer_free(w);
    return s;
}

/* dir/model.gguf under the test directory, holding "old contents". */
static int old_target(const char *name, char dir[600], char target[700]) {
    snprintf(dir, 600, "%s/%s", test_tmp_dir(), name);
    snprintf(target, 700, "%s/model.gguf", dir);
    return (mkdir(dir, 0755) == 0 || errno == EEXIST) && test_write_file(target, "old contents", 12);
}

static int still_old(const char *target) {
    size_t len = 0;
    uint8_t *now = test_read_file(target, &len);
    int same = now && len == 12 && memcmp(now, "old contents", 12) == 0;
    free(now);
    return same;
}

TEST(atomic_write_keeps_target_on_failure) {
    char dir[600], target[700];
    CHECK(old_target("atomic", dir, target));

    /* the write itself fails half way: a file size limit makes write() return EFBIG */
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {.rlim_cur = 2000, .rlim_max = old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    ds_status s = write_small(target, 4096);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK_MSG(s == DS_ERR_IO && strstr(ds_last_error(), "model.gguf: cannot write"),
              "got %s: %s", ds_status_string(s), ds_last_error());
    CHECK(strstr(ds_last_error(), dir) == ds_last_error());
    CHECK(still_old(target));
    CHECK(count_temp_files(dir) == 0);

    /* a directory in the way of the rename */
    char blocked[700];
    snprintf(blocked, sizeof blocked, "%s/blocked.gguf", dir);
    CHECK(mkdir(blocked, 0755) == 0 || errno == EEXIST);
    CHECK_FAILS(write_small(blocked, 4), DS_ERR_IO, "blocked.gguf: cannot replace");
    struct stat st;
    CHECK(stat(blocked, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(count_temp_files(dir) == 0);

    /* no directory at all */
    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/missing/model.gguf", dir);
    CHECK_FAILS(write_small(nodir, 4), DS_ERR_IO, "missing/model.gguf: cannot create a temporary file");

    /* an unwritable directory (root writes anywhere, so only checked otherwise) */
    if (geteuid() != 0) {
        CHECK(chmod(dir, 0555) == 0);
        s = write_small(target, 4);
        chmod(dir, 0755);
        CHECK_MSG(s == DS_ERR_IO && strstr(ds_last_error(), "model.gguf"), "%s", ds_last_error());
        CHECK(still_old(target));
    }
    CHECK(count_temp_files(dir) == 0);
}

TEST(atomic_write_replaces_and_keeps_mode) {
    char dir[600], target[700];
    snprintf(dir, sizeof dir, "%s/replace", test_tmp_dir());
    CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
    snprintf(target, sizeof target, "%s/model.gguf", dir);
    CHECK_OK(write_small(target, 3));
    struct stat st;
    CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(chmod(target, 0600) == 0);
    CHECK_OK(write_small(target, 100));
    CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0600);
    ds_gguf *g = NULL;
    CHECK_OK(ds_gguf_open(target, &g));
    CHECK(ds_gguf_find_tensor(g, "x")->shape[0] == 100);
    ds_gguf_close(g);
    CHECK(count_temp_files(dir) == 0);
    /* a bare file name goes to the current directory */
    char cwd[600];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    ds_status s = write_small("bare.gguf", 2);
    int back = chdir(cwd) == 0;
    CHECK_OK(s);
    CHECK(back);
    snprintf(target, sizeof target, "%s/bare.gguf", dir);
    CHECK(stat(target, &st) == 0);
    CHECK(count_temp_files(dir) == 0);
}

/* Tensors produced while writing: tensor k holds k * 1000 + i at element i.
 * fill() may run on several threads: each call touches only its own entry. */
typedef struct fill_arg {
    int k;
    int calls;
    int fail; /* this one fails */
} fill_arg;

static ds_status fill_pattern(void *user, void *dst, size_t nbytes) {
    fill_arg *a = user;
    a->calls++;
    if (a->fail)
        return ds_fail(DS_ERR_MODEL, "tensor %d cannot be produced", a->k);
    float *f = dst;
    for (size_t i = 0; i < nbytes / 4; i++)
        f[i] = (float)(a->k * 1000 + (int)i);
    return DS_OK;
}

/* 150 tensors of prime lengths, every third one given as data, the rest filled. */
static ds_status write_mixed(const char *path, fill_arg args[150], int fail_at, int streamed) {
    static float plain[50 * 4099];
    static const int64_t lengths[] = {1, 2, 3, 5, 7, 61, 127, 1021, 4099, 17};
    ds_gguf_writer *w = NULL;
    DS_TRY(ds_gguf_writer_create(&w));
    if (streamed)
        ds_gguf_writer_stream_only(w);
    ds_status s = DS_OK;
    float *next = plain;
    for (int k = 0; k < 150 && s == DS_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", k);
        int64_t n = lengths[k % 10];
        args[k] = (fill_arg){.k = k, .fail = k == fail_at};
        if (k % 3 == 0) {
            for (int64_t i = 0; i < n; i++)
                next[i] = (float)(k * 1000 + i);
            s = ds_gguf_add_tensor(w, name, DS_F32, 1, &n, next, (size_t)n * 4);
            next += n;
        } else {
            s = ds_gguf_add_tensor_fill(w, name, DS_F32, 1, &n, (size_t)n * 4, fill_pattern,
                                        &args[k]);
        }
    }
    if (s == DS_OK)
        s = ds_gguf_write_file(w, path);
    ds_gguf_writer_free(w);
    return s;
}

/* Both ways of writing (through a mapping, and write() where that is not
 * possible) give the same file: every tensor, filled once. */
TEST(filled_tensors_are_written_in_place) {
    for (int streamed = 0; streamed < 2; streamed++) {
        char path[700];
        snprintf(path, sizeof path, "%s/filled%d.gguf", test_tmp_dir(), streamed);
        fill_arg args[150];
        CHECK_OK(write_mixed(path, args, -1, streamed));
        ds_gguf *g = NULL;
        CHECK_OK(ds_gguf_open(path, &g));
        CHECK(ds_gguf_n_tensors(g) == 150);
        for (int k = 0; k < 150; k++) {
            CHECK_MSG(k % 3 == 0 || args[k].calls == 1, "t%d filled %d times", k, args[k].calls);
            const ds_gguf_tensor *t = ds_gguf_tensor_at(g, (size_t)k);
            const float *f = t->data;
            int ok = 1;
            for (size_t i = 0; i < t->nbytes / 4; i++)
                ok &= f[i] == (float)(k * 1000 + (int)i);
            CHECK_MSG(ok, "%s holds other values (streamed %d)", t->name, streamed);
        }
        ds_gguf_close(g);
    }
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/filled0.gguf", test_tmp_dir());
    snprintf(b, sizeof b, "%s/filled1.gguf", test_tmp_dir());
    size_t la = 0, lb = 0;
    uint8_t *fa = test_read_file(a, &la), *fb = test_read_file(b, &lb);
    CHECK(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
    free(fa);
    free(fb);
}

TEST(a_failing_fill_or_write_keeps_the_target) {
    char dir[600], target[700];
    CHECK(old_target("fill_fails", dir, target));
    fill_arg args[150];
    for (int streamed = 0; streamed < 2; streamed++)
        CHECK_FAILS(write_mixed(target, args, 101, streamed), DS_ERR_MODEL,
                    "tensor 101 cannot be produced");
    /* the file system refuses the size (a file size limit: EFBIG) */
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {.rlim_cur = 20000, .rlim_max = old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    ds_status s[2];
    for (int streamed = 0; streamed < 2; streamed++)
        s[streamed] = write_mixed(target, args, -1, streamed);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    for (int streamed = 0; streamed < 2; streamed++)
        CHECK_MSG(s[streamed] == DS_ERR_IO && strstr(ds_last_error(), "model.gguf: cannot write"),
                  "got %s: %s", ds_status_string(s[streamed]), ds_last_error());
    CHECK(still_old(target));
    CHECK(count_temp_files(dir) == 0);
}

TEST(writer_rejects_bad_input) {
    ds_gguf_writer *w = NULL;
    CHECK_OK(ds_gguf_writer_create(&w));
    float x[6] = {0};
    int64_t s23[2] = {2, 3};
    CHECK_OK(ds_gguf_set_u32(w, "k", 1));
    CHECK_FAILS(ds_gguf_set_f32(w, "k", 1), DS_ERR_INVALID_ARGUMENT, "key 'k' set twice");
    CHECK_FAILS(ds_gguf_set_u32(w, "general.alignment", 8), DS_ERR_INVALID_ARGUMENT,
                "written by the writer");
    CHECK_FAILS(ds_gguf_set_str(w, "", "v"), DS_ERR_INVALID_ARGUMENT, "empty key");
    CHECK_FAILS(ds_gguf_set_str(w, "a\tb", "v"), DS_ERR_INVALID_ARGUMENT,
                "a key contains a control byte (0x09)");
    CHECK_FAILS(ds_gguf_set_str(w, "s", NULL), DS_ERR_INVALID_ARGUMENT, "NULL string");
    CHECK_OK(ds_gguf_add_tensor(w, "t", DS_F32, 2, s23, x, sizeof x));
    CHECK_FAILS(ds_gguf_add_tensor(w, "t", DS_F32, 2, s23, x, sizeof x), DS_ERR_INVALID_ARGUMENT,
                "tensor 't' added twice");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_U8, 2, s23, x, 6), DS_ERR_UNSUPPORTED,
                "dtype u8 has no GGUF type");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_BOOL, 2, s23, x, 6), DS_ERR_UNSUPPORTED, "bool");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 5, (int64_t[]){1, 1, 1, 1, 6}, x, sizeof x),
                DS_ERR_INVALID_ARGUMENT, "5 dimensions");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 2, (int64_t[]){0, 3}, x, 0),
                DS_ERR_INVALID_ARGUMENT, "dimension 0 is 0");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 2, (int64_t[]){-2, -3}, x, sizeof x),
                DS_ERR_INVALID_ARGUMENT, "dimension 0 is -2");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 2, s23, x, 20), DS_ERR_INVALID_ARGUMENT,
                "20 bytes given, its shape and dtype need 24");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 2, (int64_t[]){INT64_MAX, 4}, x, 4),
                DS_ERR_INVALID_ARGUMENT, "overflows");
    CHECK_FAILS(ds_gguf_add_tensor(w, "u", DS_F32, 2, s23, NULL, sizeof x), DS_ERR_INVALID_ARGUMENT,
                "NULL data");
    CHECK_FAILS(ds_gguf_add_tensor(w, "", DS_F32, 2, s23, x, sizeof x), DS_ERR_INVALID_ARGUMENT,
                "empty tensor name");
    CHECK_FAILS(ds_gguf_add_tensor(w, "x\n", DS_F32, 2, s23, x, sizeof x),
                DS_ERR_INVALID_ARGUMENT, "a tensor name contains a control byte (0x0a)");
    CHECK_FAILS(ds_gguf_write_file(w, "some/dir/"), DS_ERR_INVALID_ARGUMENT, "not a file name");
    ds_gguf_writer_free(w);
    ds_gguf_writer_free(NULL);
    ds_gguf_close(NULL);
}

int main(void) {
    RUN(atomic_write_keeps_target_on_failure);
    RUN(atomic_write_replaces_and_keeps_mode);
    RUN(filled_tensors_are_written_in_place);
    RUN(a_failing_fill_or_write_keeps_the_target);
    RUN(writer_rejects_bad_input);
    test_remove_tmp_dir();
    return test_summary();
}
