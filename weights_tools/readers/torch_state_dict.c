/*
 * torch_state_dict.c: finds the state_dict in an unpickled checkpoint and
 * flattens it into dotted tensor names ("a.b.0"), as PyTorch names modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "weights_tools/readers/torch_common.h"

enum {
    MAX_DEPTH = 64,          /* real state_dicts are flat; this only stops cycles */
    MAX_NAME = 4096,
    MAX_VISITS = 1 << 22     /* shared containers could otherwise blow up the walk */
};

typedef struct walk {
    const char *label;
    char path[MAX_NAME + 1];
    size_t path_len;
    size_t visits;
    ds_torch_entry *entries;
    size_t n, cap;
} walk;

static ds_status shown_fail(walk *w, ds_status status, const char *what) {
    char shown[120];
    ds_pk_printable(shown, sizeof shown, w->path, w->path_len);
    return ds_fail(status, "%s: %s at '%s'", w->label, what, shown);
}

static ds_status add_entry(walk *w, const ds_pk_tensor *t) {
    if (w->path_len == 0)
        return ds_fail(DS_ERR_FORMAT, "%s: the checkpoint is a single tensor, not a state_dict",
                       w->label);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        ds_torch_entry *grown = realloc(w->entries, cap * sizeof *grown);
        if (!grown)
            return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory listing tensors", w->label);
        w->entries = grown;
        w->cap = cap;
    }
    char *name = malloc(w->path_len + 1);
    if (!name)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory listing tensors", w->label);
    memcpy(name, w->path, w->path_len + 1);
    w->entries[w->n].name = name;
    w->entries[w->n].tensor = t;
    w->n++;
    return DS_OK;
}

/* Appends ".part" (no dot at the top) to the path; *saved gets the old length. */
static ds_status push_part(walk *w, const char *part, size_t len, size_t *saved) {
    *saved = w->path_len;
    size_t dot = w->path_len ? 1 : 0;
    if (memchr(part, '\0', len))
        return shown_fail(w, DS_ERR_FORMAT, "a key holds a NUL character");
    if (len + dot > MAX_NAME - w->path_len)
        return shown_fail(w, DS_ERR_FORMAT, "tensor name longer than 4096 bytes");
    if (dot)
        w->path[w->path_len++] = '.';
    memcpy(w->path + w->path_len, part, len);
    w->path_len += len;
    w->path[w->path_len] = '\0';
    return DS_OK;
}

static void pop_part(walk *w, size_t saved) {
    w->path_len = saved;
    w->path[saved] = '\0';
}

static int is_container(const ds_pk_value *v) {
    return v->kind == DS_PK_DICT || v->kind == DS_PK_LIST || v->kind == DS_PK_TUPLE;
}

static ds_status visit(walk *w, const ds_pk_value *v, int depth);

static ds_status visit_child(walk *w, const char *part, size_t len, const ds_pk_value *child,
                             int depth) {
    if (++w->visits > MAX_VISITS)
        return shown_fail(w, DS_ERR_FORMAT, "more than 4M values below the state_dict");
    if (child->kind != DS_PK_TENSOR && !is_container(child))
        return DS_OK; /* non-tensor leaves (ints, strings, None, ...) are skipped */
    size_t saved;
    DS_TRY(push_part(w, part, len, &saved));
    ds_status s = visit(w, child, depth + 1);
    pop_part(w, saved);
    return s;
}

static ds_status visit(walk *w, const ds_pk_value *v, int depth) {
    if (v->kind == DS_PK_TENSOR)
        return add_entry(w, &v->u.tensor);
    if (!is_container(v))
        return DS_OK;
    if (depth >= MAX_DEPTH)
        return shown_fail(w, DS_ERR_FORMAT, "containers nested deeper than 64 levels");
    char num[24];
    if (v->kind != DS_PK_DICT) {
        for (size_t i = 0; i < v->u.seq.n; i++) {
            int len = snprintf(num, sizeof num, "%zu", i);
            DS_TRY(visit_child(w, num, (size_t)len, v->u.seq.items[i], depth));
        }
        return DS_OK;
    }
    for (size_t i = 0; i + 1 < v->u.seq.n; i += 2) {
        const ds_pk_value *key = v->u.seq.items[i], *child = v->u.seq.items[i + 1];
        if (key->kind == DS_PK_STR) {
            DS_TRY(visit_child(w, key->u.s.ptr, key->u.s.len, child, depth));
        } else if (key->kind == DS_PK_INT) {
            int len = snprintf(num, sizeof num, "%lld", (long long)key->u.i);
            DS_TRY(visit_child(w, num, (size_t)len, child, depth));
        } else if (child->kind == DS_PK_TENSOR || is_container(child)) {
            return shown_fail(w, DS_ERR_UNSUPPORTED, "a dict key that is not a str or int");
        }
    }
    return DS_OK;
}

/* The checkpoint's state_dict: itself, or its "model" or "state_dict" entry. */
static const ds_pk_value *state_dict_of(const ds_pk_value *root) {
    static const char *const wrappers[] = {"model", "state_dict"};
    for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++) {
        const ds_pk_value *inner = ds_pk_dict_get(root, wrappers[i]);
        if (inner && inner->kind == DS_PK_DICT)
            return inner;
    }
    return root;
}

static int by_name(const void *a, const void *b) {
    const ds_torch_entry *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static ds_status check_unique(const char *label, ds_torch_entry *entries, size_t n) {
    const ds_torch_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory listing tensors", label);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &entries[i];
    qsort(sorted, n, sizeof *sorted, by_name);
    ds_status s = DS_OK;
    for (size_t i = 1; i < n && s == DS_OK; i++) {
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            char shown[120];
            ds_pk_printable(shown, sizeof shown, sorted[i]->name, strlen(sorted[i]->name));
            s = ds_fail(DS_ERR_FORMAT, "%s: two tensors are named '%s'", label, shown);
        }
    }
    free(sorted);
    return s;
}

void ds_torch_entries_free(ds_torch_entry *entries, size_t n) {
    for (size_t i = 0; entries && i < n; i++)
        free(entries[i].name);
    free(entries);
}

ds_status ds_torch_collect(const ds_pk_value *root, const char *label, ds_torch_entry **entries,
                           size_t *n) {
    *entries = NULL;
    *n = 0;
    if (root->kind != DS_PK_DICT)
        return ds_fail(DS_ERR_FORMAT, "%s: the checkpoint holds a %s, not a state_dict", label,
                       ds_pk_kind_name(root->kind));
    walk *w = calloc(1, sizeof *w);
    if (!w)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "%s: out of memory", label);
    w->label = label;
    ds_status s = visit(w, state_dict_of(root), 0);
    if (s == DS_OK && w->n == 0)
        s = ds_fail(DS_ERR_FORMAT, "%s: no tensors in the checkpoint", label);
    if (s == DS_OK)
        s = check_unique(label, w->entries, w->n);
    if (s == DS_OK) {
        *entries = w->entries;
        *n = w->n;
    } else {
        ds_torch_entries_free(w->entries, w->n);
    }
    free(w);
    return s;
}
