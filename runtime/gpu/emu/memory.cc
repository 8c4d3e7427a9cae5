/*
 * memory.cc: emulated device and page-locked memory. Both are plain heap
 * blocks, so ASan sees a kernel's out-of-bounds access as it sees the host's;
 * a table of the live blocks lets copies, frees and kernel arguments be
 * checked against where a pointer really lives.
 */
#include <stdlib.h>

#include <map>

#include "gpu/emu/emu_internal.h" /* mem_* declared */
#include "base/error.h" /* ds_fail */

namespace ds_emu {

struct mem_block {
    size_t bytes;
    mem_kind kind;
};

/* Guarded by emu_lock(). */
static std::map<uintptr_t, mem_block> &blocks(void) {
    static std::map<uintptr_t, mem_block> m;
    return m;
}

static const char *kind_name(mem_kind k) { return k == MEM_DEVICE ? "device" : "page-locked host"; }

ds_status mem_alloc(void **p, size_t bytes, mem_kind kind) {
    *p = malloc(bytes ? bytes : 1);
    if (!*p)
        return ds_fail(DS_ERR_OUT_OF_MEMORY, "out of %s memory (%zu bytes)", kind_name(kind), bytes);
    blocks()[(uintptr_t)*p] = mem_block{bytes, kind};
    return DS_OK;
}

size_t mem_live_bytes(mem_kind kind) {
    size_t n = 0;
    for (const auto &b : blocks())
        if (b.second.kind == kind)
            n += b.second.bytes;
    return n;
}

ds_status mem_free(void *p, mem_kind kind) {
    auto it = blocks().find((uintptr_t)p);
    if (it == blocks().end() || it->second.kind != kind)
        return ds_fail(DS_ERR_DEVICE, "freeing %p, which is not the start of a %s allocation", p,
                       kind_name(kind));
    blocks().erase(it);
    free(p);
    return DS_OK;
}

/* The block that contains p, or ends right at p. */
static const std::pair<const uintptr_t, mem_block> *containing(const void *p) {
    auto &m = blocks();
    auto it = m.upper_bound((uintptr_t)p);
    if (it == m.begin())
        return NULL;
    --it;
    return (uintptr_t)p <= it->first + it->second.bytes ? &*it : NULL;
}

bool mem_inside(const void *p, size_t bytes, mem_kind kind) {
    auto *b = containing(p);
    return b && b->second.kind == kind && (uintptr_t)p + bytes <= b->first + b->second.bytes;
}

bool mem_known(const void *p) { return containing(p) != NULL; }

const char *mem_describe(const void *p, size_t bytes) {
    auto *b = containing(p);
    if (!b || (uintptr_t)p == b->first + b->second.bytes)
        return "host";
    if ((uintptr_t)p + bytes > b->first + b->second.bytes)
        return b->second.kind == MEM_DEVICE ? "partly outside a device allocation"
                                            : "partly outside a page-locked allocation";
    return kind_name(b->second.kind);
}

} // namespace ds_emu
