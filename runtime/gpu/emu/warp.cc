/*
 * warp.cc: warp shuffles and votes. A lane that reaches one waits until
 * every lane of its mask has arrived or exited (sm_70 and later: "all
 * non-exited threads named in membermask"); then all complete at once.
 *
 * Shuffle sources follow PTX's shfl.sync: the lane index or offset is taken
 * modulo 32, `width` splits the warp into segments, idx reads inside the
 * segment, up and down return the lane's own value past the segment's edge,
 * and xor may read an earlier segment but not a later one. Reading a lane
 * that does not take part (outside the mask, exited, or beyond a partial
 * warp) is undefined on the GPU: here it returns a NaN pattern, so that the
 * result is visibly wrong rather than plausibly wrong.
 */
#include "gpu/emu/emu_internal.h" /* thread_state, launch_fail */
#include "gpu/emu/fiber.h"        /* fiber_yield */

namespace ds_emu {

static const uint64_t POISON = 0xfff8ffc0ffc0ffffull; /* NaN as double, float and half */

const char *warp_kind_name(warp_kind k) {
    switch (k) {
    case W_SHFL_IDX: return "__shfl_sync";
    case W_SHFL_UP: return "__shfl_up_sync";
    case W_SHFL_DOWN: return "__shfl_down_sync";
    case W_SHFL_XOR: return "__shfl_xor_sync";
    case W_BALLOT: return "__ballot_sync";
    case W_ANY: return "__any_sync";
    case W_ALL: return "__all_sync";
    case W_SYNCWARP: return "__syncwarp";
    }
    return "?";
}

static bool is_shuffle(warp_kind k) { return k <= W_SHFL_XOR; }

uint64_t warp_op(const warp_req &r) {
    thread_state *t = g_thread;
    if (!(r.mask >> t->lane & 1u))
        device_fail("%s at %s:%d: lane %u of warp %u calls it but is not in its mask 0x%08x",
                    warp_kind_name(r.kind), r.file, r.line, t->lane, t->warp, r.mask);
    if (is_shuffle(r.kind) && (r.width < 1 || r.width > 32 || (r.width & (r.width - 1))))
        device_fail("%s at %s:%d: width %d is not a power of two in [1, 32]", warp_kind_name(r.kind),
                    r.file, r.line, r.width);
    t->req = r;
    t->run = T_WARP;
    fiber_yield();
    return t->req.result;
}

/* The lane a shuffle reads (PTX shfl.sync), or `lane` itself past the segment. */
static unsigned source_lane(warp_kind k, unsigned lane, int b, int width) {
    const unsigned bval = (unsigned)b & 31u, w = (unsigned)width;
    const unsigned first = lane & ~(w - 1), last = first | (w - 1);
    switch (k) {
    case W_SHFL_IDX: return first | (bval & (w - 1));
    case W_SHFL_UP: return lane >= first + bval ? lane - bval : lane;
    case W_SHFL_DOWN: return lane + bval <= last ? lane + bval : lane;
    case W_SHFL_XOR: return (lane ^ bval) <= last ? lane ^ bval : lane;
    default: return lane;
    }
}

static void complete(thread_state *lanes, unsigned part) {
    uint32_t votes = 0;
    for (unsigned j = 0; j < 32; j++)
        if ((part >> j & 1) && lanes[j].req.value)
            votes |= 1u << j;
    for (unsigned j = 0; j < 32; j++) {
        if (!(part >> j & 1))
            continue;
        warp_req &r = lanes[j].req;
        switch (r.kind) {
        case W_BALLOT: r.result = votes; break;
        case W_ANY: r.result = votes != 0; break;
        case W_ALL: r.result = votes == part; break;
        case W_SYNCWARP: r.result = 0; break;
        default: {
            unsigned src = source_lane(r.kind, j, r.b, r.width);
            r.result = (part >> src & 1) ? lanes[src].req.value : POISON;
        }
        }
    }
}

void resolve_warps(thread_state *th, unsigned n, std::vector<unsigned> &ready) {
    for (unsigned w0 = 0; w0 < n; w0 += 32) {
        thread_state *lanes = th + w0;
        const unsigned count = n - w0 < 32 ? n - w0 : 32;
        unsigned done = 0; /* lanes completed in this pass */
        for (unsigned l = 0; l < count; l++) {
            const warp_req &r = lanes[l].req;
            if (lanes[l].run != T_WARP || (done >> l & 1))
                continue;
            unsigned part = 0;
            bool missing = false;
            for (unsigned j = 0; j < count; j++) {
                const thread_state &u = lanes[j];
                if (!(r.mask >> j & 1) || u.run == T_DONE)
                    continue; /* lanes beyond a partial warp and exited lanes do not take part */
                if (u.run != T_WARP) {
                    missing = true;
                    continue;
                }
                if (u.req.kind != r.kind || u.req.mask != r.mask ||
                    (is_shuffle(r.kind) && u.req.width != r.width)) {
                    launch_fail("warp %u: lane %u is in %s at %s:%d (mask 0x%08x, width %d) while lane %u is "
                                "in %s at %s:%d (mask 0x%08x, width %d)", lanes[l].warp, l,
                                warp_kind_name(r.kind), r.file, r.line, r.mask, r.width, j,
                                warp_kind_name(u.req.kind), u.req.file, u.req.line, u.req.mask,
                                u.req.width);
                    return;
                }
                part |= 1u << j;
            }
            if (missing)
                continue;
            complete(lanes, part);
            for (unsigned j = 0; j < count; j++)
                if (part >> j & 1) {
                    lanes[j].run = T_RUNNABLE;
                    ready.push_back(w0 + j);
                }
            done |= part;
        }
    }
}

} // namespace ds_emu
