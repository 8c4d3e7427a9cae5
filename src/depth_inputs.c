/* depth_inputs.c: walking INPUT files and directories into a sorted list. */
#include "src/depth_inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/error.h" /* ds_fail */

static int is_photo_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

/* Records "<path>: <what>" (what defaults to strerror(errno)). */
static ds_status note_problem(ds_input_list *l, const char *path, const char *what) {
    char msg[4400];
    snprintf(msg, sizeof msg, "%s: %s", path, what ? what : strerror(errno));
    ds_one_line(msg);
    char **grown = realloc(l->problems, (l->n_problems + 1) * sizeof *grown);
    char *copy = strdup(msg);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            l->problems = grown;
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing inputs");
    }
    l->problems = grown;
    l->problems[l->n_problems++] = copy;
    return DS_OK;
}

static char *strip_extension(const char *rel) {
    char *s = strdup(rel);
    if (!s)
        return NULL;
    char *slash = strrchr(s, '/'), *dot = strrchr(s, '.');
    if (dot && (!slash || dot > slash) && dot != s && (!slash || dot > slash + 1))
        *dot = '\0';
    return s;
}

static ds_status add(ds_input_list *l, const char *path, const char *rel, int from_dir) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ds_input *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing inputs");
        l->items = grown;
        l->cap = cap;
    }
    char *p = strdup(path), *r = strip_extension(rel);
    if (!p || !r) {
        free(p);
        free(r);
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing inputs");
    }
    l->items[l->n++] = (ds_input){p, r, from_dir};
    return DS_OK;
}

/* The directories a walk has entered, by (device, inode): each is listed
 * once, however many links lead to it, and a link to a directory above
 * cannot make a cycle. */
typedef struct walk_state {
    ds_input_list *l;
    int flags; /* DS_INPUTS_* */
    struct dir_id {
        dev_t dev;
        ino_t ino;
    } *seen;
    size_t n_seen, cap_seen;
} walk_state;

/* 1 if the directory was entered before, else records it (0); -1 out of memory. */
static int seen_before(walk_state *w, const struct stat *st) {
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
            return 1;
    if (w->n_seen == w->cap_seen) {
        size_t cap = w->cap_seen ? 2 * w->cap_seen : 16;
        struct dir_id *grown = realloc(w->seen, cap * sizeof *grown);
        if (!grown)
            return -1;
        w->seen = grown;
        w->cap_seen = cap;
    }
    w->seen[w->n_seen].dev = st->st_dev;
    w->seen[w->n_seen].ino = st->st_ino;
    w->n_seen++;
    return 0;
}

static ds_status walk(walk_state *w, const char *dir, const struct stat *dir_st, const char *rel) {
    ds_input_list *l = w->l;
    const int seen = seen_before(w, dir_st);
    if (seen < 0)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of memory listing inputs");
    if (seen)
        return note_problem(l, dir, "a directory already listed (through a link): skipped");
    DIR *d = opendir(dir);
    if (!d)
        return note_problem(l, dir, NULL);
    ds_status s = DS_OK;
    struct dirent *e;
    while (s == DS_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], sub[4096];
        int n1 = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int n2 = snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (n1 >= (int)sizeof path || n2 >= (int)sizeof sub) {
            s = note_problem(l, path, "path too long");
            continue;
        }
        struct stat st, lst;
        if (stat(path, &st) != 0) {
            s = note_problem(l, path, NULL);
        } else if (S_ISDIR(st.st_mode)) {
            /* a link to a directory is followed only when asked (-L), like find -L */
            const int link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
            if ((w->flags & DS_INPUTS_RECURSIVE) && (!link || (w->flags & DS_INPUTS_FOLLOW_LINKS)))
                s = walk(w, path, &st, sub);
        } else if (S_ISREG(st.st_mode) && is_photo_name(e->d_name)) {
            s = add(l, path, sub, 1);
        }
    }
    closedir(d);
    return s;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const ds_input *)a)->path, ((const ds_input *)b)->path);
}

ds_status ds_inputs_collect(ds_input_list *l, char *const *args, int n_args, int flags) {
    memset(l, 0, sizeof *l);
    walk_state w = {.l = l, .flags = flags};
    for (int i = 0; i < n_args; i++) {
        struct stat st;
        ds_status s;
        if (stat(args[i], &st) != 0) {
            s = note_problem(l, args[i], NULL);
        } else if (S_ISDIR(st.st_mode)) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", args[i]);
            for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
                dir[n - 1] = '\0';
            s = walk(&w, dir, &st, "");
        } else {
            const char *slash = strrchr(args[i], '/');
            s = add(l, args[i], slash ? slash + 1 : args[i], 0);
        }
        if (s != DS_OK) {
            free(w.seen);
            return s;
        }
    }
    free(w.seen);
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, by_path);
    return DS_OK;
}

void ds_inputs_shard(ds_input_list *l, int shard, int n_shards) {
    size_t begin = l->n * (size_t)shard / (size_t)n_shards;
    size_t end = l->n * (size_t)(shard + 1) / (size_t)n_shards;
    for (size_t i = 0; i < l->n; i++)
        if (i < begin || i >= end) {
            free(l->items[i].path);
            free(l->items[i].rel);
        }
    memmove(l->items, l->items + begin, (end - begin) * sizeof *l->items);
    l->n = end - begin;
}

void ds_inputs_drop_outputs(ds_input_list *l, const char *model_name) {
    const size_t tail = strlen(model_name) + 1; /* "-<model>" */
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *rel = l->items[i].rel, *ext = strrchr(l->items[i].path, '.');
        const size_t n = strlen(rel);
        if (l->items[i].from_dir && n > tail && rel[n - tail] == '-' && !strcmp(rel + n - tail + 1, model_name) &&
            ext && !strcasecmp(ext, ".png")) {
            free(l->items[i].path);
            free(l->items[i].rel);
            continue;
        }
        l->items[kept++] = l->items[i];
    }
    l->n = kept;
}

void ds_inputs_free(ds_input_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].path);
        free(l->items[i].rel);
    }
    for (size_t i = 0; i < l->n_problems; i++)
        free(l->problems[i]);
    free(l->items);
    free(l->problems);
    memset(l, 0, sizeof *l);
}

int ds_parse_shard(const char *s, int *shard, int *n_shards) {
    char *end;
    long i = strtol(s, &end, 10);
    if (end == s || *end != '/')
        return 0;
    const char *rest = end + 1;
    long n = strtol(rest, &end, 10);
    if (end == rest || *end || n < 1 || n > 1000000 || i < 0 || i >= n)
        return 0;
    *shard = (int)i;
    *n_shards = (int)n;
    return 1;
}
