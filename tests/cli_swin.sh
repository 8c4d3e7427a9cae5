#!/usr/bin/env bash
# The Swin models end to end. Real torch.save checkpoints of the full key sets
# (tests/swin_checkpoint.py: the buffers as timm computes them): Swin2-T's with
# the formula's weights converts to exactly what synth writes; one with a
# changed attn_mask is refused, leaving no file (a changed
# relative_position_index: tests/test_convert.c); with DS_TEST_SLOW=1 Swin-L's
# (v1, legacy format, 867 MB: 20 s to write here) converts too. The
# pipeline cases through `depthsolve depth` (run.py stretches every photo to
# the one size): depth.npy and the 16- and 8-bit PNGs. --height other than the
# network's size is refused. The 384 models' conversion and photo are the
# plain build's (seconds each; the sanitizer build runs Swin2-T's).
. "$(dirname "$0")/shell_lib.sh"
MD=${DS_MODELS:-build/models}
R=tests/data/reference
plain=1
case "${DS_BUILD:-}" in *asan*) plain=0 ;; esac
has_torch() { "$PY" -c 'import torch, numpy' 2>/dev/null; }

tensors() { "$DS_BIN" info --tensors "$1" | sed -n '/^  tensors (name/,$p'; }

if has_torch; then
    A=dpt_swin2_tiny_256
    mask=pretrained.model.layers.0.blocks.1.attn_mask
    "$PY" tests/swin_checkpoint.py $R/$A/keys.tsv "$T/t.pt" zip $mask "$T/bad.pt" &&
        "$DS_BIN" convert -q "$T/t.pt" -o "$T/t.gguf" && tensors "$T/t.gguf" >"$T/a" &&
        tensors "$MD/$A.gguf" >"$T/b" && [ "$(wc -l <"$T/a")" -gt 250 ] && cmp -s "$T/a" "$T/b" &&
        pass swin2_tiny_checkpoint_converts_to_synth || fail swin2_tiny_checkpoint_converts_to_synth "exit $? or tensors differ"
    "$DS_BIN" info "$T/t.pt" | grep -q "architecture: $A" && pass info_names_swin2_tiny ||
        fail info_names_swin2_tiny "$("$DS_BIN" info "$T/t.pt" 2>&1 | head -3)"
    expect changed_attn_mask_refused 1 "buffer '$mask' holds 1 at element 0 where $A computes 0" -- \
        "$DS_BIN" convert -q "$T/bad.pt" -o "$T/bad.gguf"
    [ ! -e "$T/bad.gguf" ] && pass refused_checkpoint_leaves_no_file || fail refused_checkpoint_leaves_no_file "file exists"
    rm -f "$T/t.pt" "$T/bad.pt" "$T/t.gguf"
    if [ -n "${DS_TEST_SLOW:-}" ]; then
        A=dpt_swin_large_384
        "$PY" tests/swin_checkpoint.py $R/$A/keys.tsv "$T/l.pt" legacy &&
            "$DS_BIN" convert -q "$T/l.pt" -o "$T/l.gguf" && tensors "$T/l.gguf" >"$T/a" &&
            tensors "$MD/$A.gguf" >"$T/b" && cmp -s "$T/a" "$T/b" &&
            pass swin_large_checkpoint_converts_to_synth || fail swin_large_checkpoint_converts_to_synth "exit $? or tensors differ"
        rm -f "$T/l.pt" "$T/l.gguf"
    fi
else
    echo "SKIP swin checkpoints: no torch and numpy for $PY (Debian: python3-torch)"
fi

# run.py's photo path; the 384 model's in the plain build
cases=dpt_swin2_tiny_256
[ $plain -eq 1 ] && cases="$cases dpt_swin2_large_384"
for A in $cases; do
    P=$R/$A/pipeline_211x157
    "$DS_BIN" depth -q --model "$MD/$A.gguf" --device cpu $P/image.png -o "$T/$A" --format npy,png16,png8 --colormap gray &&
        pass depth_runs_$A || fail depth_runs_$A "exit $?"
    if has_numpy; then
        "$PY" - "$T/$A/image-$A" $P <<'PY' | grep -E '^(PASS|FAIL) '
import struct, sys, zlib
import numpy as np
mine, ref = sys.argv[1], sys.argv[2]
name = mine.rsplit("image-", 1)[1]

def png(path):
    """Gray 8- or 16-bit PNG (non-interlaced, filters undone) as an int array."""
    data = open(path, "rb").read()
    pos, chunks, head = 8, b"", None
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        head = body if tag == b"IHDR" else head
        chunks += body if tag == b"IDAT" else b""
        pos += 12 + n
    w, h, bits, color = struct.unpack(">IIBB", head[:10])
    bpp = (bits // 8) * (3 if color == 2 else 1)
    raw, rows, prev = zlib.decompress(chunks), [], bytearray(w * bpp)
    for y in range(h):
        line = raw[y * (w * bpp + 1):(y + 1) * (w * bpp + 1)]
        f, cur = line[0], bytearray(line[1:])
        for i in range(len(cur)):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pred = [0, a, b, (a + b) // 2,
                    a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)][f]
            cur[i] = (cur[i] + pred) & 255
        rows.append(bytes(cur))
        prev = cur
    arr = np.frombuffer(b"".join(rows), dtype=">u2" if bits == 16 else np.uint8).astype(np.int64)
    return arr.reshape(h, w, -1)[..., 0]

d, r = np.load(mine + ".npy").astype(np.float64), np.load(ref + "/depth.npy").astype(np.float64)
e = float(np.linalg.norm(d - r) / np.linalg.norm(r))
print(("PASS" if e <= 1e-4 else "FAIL") + f" depth_matches_run_py_{name}" + ("" if e <= 1e-4 else f": rel L2 {e:.3g}"))
# PNG levels: one for truncation plus what the float difference spans (tests/test_pipeline.c)
span = np.abs(d - r).max() / (d.max() - d.min())
for suffix, ref_png, levels in (("-16bit.png", "depth16.png", 65535), (".png", "depth8.png", 255)):
    diff = int(np.abs(png(mine + suffix) - png(ref + "/" + ref_png)).max())
    bound = 1 + int(levels * span)
    print(("PASS" if diff <= bound else "FAIL") + f" png{16 if levels > 255 else 8}_matches_run_py_{name}" +
          ("" if diff <= bound else f": {diff} levels apart, bound {bound}"))
PY
    fi
done

expect fixed_size_refuses_height 1 "dpt_swin2_tiny_256 takes 256x256 inputs only, not a network height of 320" -- \
    "$DS_BIN" depth -q --model "$MD/dpt_swin2_tiny_256.gguf" --height 320 $R/dpt_swin2_tiny_256/pipeline_211x157/image.png -o "$T/h"
for A in dpt_swin2_large_384 dpt_swin2_base_384 dpt_swin2_tiny_256 dpt_swin_large_384; do
    expect ${A}_download_named 1 "https://github.com/isl-org/MiDaS/releases/download/v3_1/$A.pt" -- \
        env DEPTHSOLVE_MODELS="$T/empty-store" "$DS_BIN" depth --model $A $R/dpt_swin2_tiny_256/pipeline_211x157/image.png -o "$T/n"
done
"$DS_BIN" depth --help | grep -q "dpt_swin2_tiny_256" && "$DS_BIN" depth --help | grep -q "stretched" &&
    pass depth_help_names_swin_and_the_stretch || fail depth_help_names_swin_and_the_stretch "not in --help"
rm -rf "$T"
