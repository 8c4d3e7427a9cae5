#!/usr/bin/env bash
# depthsolve mesh end to end: the three formats re-read by an independent
# reader (tests/mesh_read.py, numpy only) with the same counts and bounds,
# the grid sizes, tearing, the camera that sees the photo, the folder form
# (bad photos reported, the batch going on, no partial files, reruns that
# skip), and usage errors.
. "$(dirname "$0")/shell_lib.sh"
M=${DS_MODELS:-build/models}/midas_v21_small_256.gguf
I=tests/data/images
run() { "$DS_BIN" mesh -q --height 64 --model "$M" "$@"; }
read_mesh() { "$PY" tests/mesh_read.py "$1"; }
field() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))' "$1" "$2"; }

if ! has_numpy; then
    echo "SKIP mesh tests: no numpy for $PY"
    exit 0
fi
if run $I/png_rgb8.png -o "$T/probe.glb" 2>&1 | grep -q "no CUDA emulator"; then
    echo "SKIP mesh tests: built without the CUDA headers (no emulator)"
    exit 0
fi

# png_rgb8.png is 13x11: 128 cells across, round(128 * 11 / 13) = 108 down
for fmt in glb obj ply; do
    run $I/png_rgb8.png -o "$T/one.$fmt" && pass "writes_$fmt" || fail "writes_$fmt" "exit $?"
done
g=$(read_mesh "$T/one.glb") && o=$(read_mesh "$T/one.obj") && p=$(read_mesh "$T/one.ply") &&
    pass reader_accepts_all_three || fail reader_accepts_all_three "$g $o $p"
[ "$(field "$g" 'vertices, triangles')" = "(14061, 27648)" ] && pass counts_of_grid_128 ||
    fail counts_of_grid_128 "$(field "$g" 'vertices, triangles')"
[ "$(field "$g" 'vertices, triangles, min, max')" = "$(field "$p" 'vertices, triangles, min, max')" ] &&
    pass glb_and_ply_agree || fail glb_and_ply_agree "$g / $p"
# OBJ is text (7 significant digits)
same_bounds() {
    "$PY" -c 'import json,sys; a, b = (json.loads(x) for x in sys.argv[1:3])
sys.exit(not (a["vertices"] == b["vertices"] and a["triangles"] == b["triangles"] and
              all(abs(x - y) <= 1e-6 * max(1, abs(x)) for x, y in zip(a["min"] + a["max"], b["min"] + b["max"]))))' "$1" "$2"
}
same_bounds "$g" "$o" && pass glb_and_obj_agree || fail glb_and_obj_agree "$g / $o"
[ "$(field "$g" 'texture, uv_min, uv_max')" = "([13, 11], [0.0, 0.0], [1.0, 1.0])" ] && [ -f "$T/one-texture.png" ] &&
    [ -f "$T/one.mtl" ] && pass texture_and_uvs || fail texture_and_uvs "$g"
# the plane, 1 m high with the photo's aspect, displaced by at most --depth-scale
b=$(field "$g" 'round(max[0] - min[0], 5), round(max[1] - min[1], 5), min[2] >= 0, max[2] <= 0.25')
[ "$b" = "(1.18182, 1.0, True, True)" ] && pass plane_size_and_displacement || fail plane_size_and_displacement "$b"

# a standard reader, where installed (Debian's assimp-utils, scripts/install-deps)
if command -v assimp >/dev/null; then
    for fmt in glb obj ply; do
        a=$(assimp info "$T/one.$fmt" 2>&1)
        n=$(sed -n 's/^Faces: *//p' <<<"$a")
        lo=$(sed -n 's/^Minimum point *//p' <<<"$a") hi=$(sed -n 's/^Maximum point *//p' <<<"$a")
        want=$(field "$g" '"(%.6f %.6f %.6f) (%.6f %.6f %.6f)" % tuple(min + max)')
        [ "$n" = 27648 ] && [ "$lo $hi" = "$want" ] && pass "assimp_reads_$fmt" ||
            fail "assimp_reads_$fmt" "faces $n, bounds $lo $hi, wanted $want"
    done
    a=$(assimp info "$T/one.glb" 2>&1)
    grep -q "^Cameras: *1$" <<<"$a" && grep -q "^Textures (embed.): *1$" <<<"$a" && grep -q "^Vertices: *14061$" <<<"$a" &&
        pass assimp_sees_glb_camera_and_texture || fail assimp_sees_glb_camera_and_texture "$a"
else
    echo "SKIP assimp checks: no assimp (apt-get install assimp-utils)"
fi

run $I/jpeg_baseline_420.jpg -o "$T/cam.glb" --projection camera --fov 40 --near 2 --far 5 &&
    c=$(read_mesh "$T/cam.glb") || c=
[ -n "$c" ] && [ "$(field "$c" 'view_error < 1e-5 and -max[2] >= 2 - 1e-5 and -min[2] <= 5 + 1e-4')" = True ] &&
    pass camera_sees_the_photo || fail camera_sees_the_photo "$c"

run $I/jpeg_baseline_420.jpg -o "$T/torn.ply" --projection camera --tear 0.02 && t=$(read_mesh "$T/torn.ply") &&
    [ "$(field "$t" 'triangles')" -lt "$(field "$c" 'triangles')" ] && pass tear_drops_triangles ||
    fail tear_drops_triangles "$t"
run $I/jpeg_baseline_420.jpg -o "$T/px.glb" --grid pixel && x=$(read_mesh "$T/px.glb") &&
    [ "$(field "$x" 'vertices, triangles')" = "(1395, 2640)" ] && pass grid_pixel || fail grid_pixel "$x"
run $I/jpeg_baseline_420.jpg -o "$T/odd.obj" --grid 7 && x=$(read_mesh "$T/odd.obj") &&
    [ "$(field "$x" 'vertices, triangles')" = "(48, 70)" ] && pass grid_odd || fail grid_odd "$x"

# --device cuda-emu: the mesh built on the (emulated) device from the depth map the network left
# there; the CPU's mesh but for the two networks' rounding (measured 4e-7 m, normals 3e-6)
mkdir -p "$T/emu" "$T/cpu"
run $I/jpeg_baseline_420.jpg -o "$T/emu/m.ply" --device cuda-emu --grid 32 && e=$(read_mesh "$T/emu/m.ply") &&
    run $I/jpeg_baseline_420.jpg -o "$T/cpu/m.ply" --device cpu --grid 32 && x=$(read_mesh "$T/cpu/m.ply") &&
    [ "$(field "$e" 'vertices, triangles, texture, uv_min, uv_max')" = "$(field "$x" 'vertices, triangles, texture, uv_min, uv_max')" ] &&
    pass cuda_emu_mesh_reads_back || fail cuda_emu_mesh_reads_back "$e / $x"
"$PY" - "$T/emu/m.ply" "$T/cpu/m.ply" <<'PYEOF' && pass cuda_emu_mesh_is_the_cpus || fail cuda_emu_mesh_is_the_cpus "see above"
import sys, numpy as np
def ply(path):  # header, vertices (V, 8), faces (the bytes after the vertices)
    data = open(path, "rb").read()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    nv = int(next(l for l in data[:end].decode().splitlines() if l.startswith("element vertex")).split()[2])
    return data[:end], np.frombuffer(data, "<f4", nv * 8, end).reshape(nv, 8), data[end + nv * 32:]
(he, ve, fe), (hc, vc, fc) = ply(sys.argv[1]), ply(sys.argv[2])
d = float(np.abs(ve.astype(np.float64) - vc).max()) if ve.shape == vc.shape else float("inf")
if he != hc or fe != fc or d > 1e-4:
    print(f"headers equal {he == hc}, faces equal {fe == fc}, largest difference {d:.3g}")
    sys.exit(1)
PYEOF

# extreme shapes: a 1-pixel photo, and 300x2 (a grid of 128 x 1 cells)
"$PY" - "$T" <<'PYEOF'
import struct, sys, zlib
def png(path, w, h):
    raw = b"".join(b"\0" + bytes((x * 7 + y * 50) % 256 for x in range(w * 3)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/dot.png", 1, 1)
png(sys.argv[1] + "/strip.png", 300, 2)
PYEOF
run "$T/dot.png" -o "$T/dot.glb" --grid 5 && x=$(read_mesh "$T/dot.glb") &&
    [ "$(field "$x" 'vertices, triangles')" = "(36, 50)" ] && pass one_pixel_photo || fail one_pixel_photo "$x"
run "$T/strip.png" -o "$T/strip.glb" --projection camera && x=$(read_mesh "$T/strip.glb") &&
    [ "$(field "$x" 'vertices, triangles, view_error < 1e-5')" = "(258, 256, True)" ] && pass wide_photo ||
    fail wide_photo "$x"
expect no_triangle_no_file 1 "$T/dot.png: $T/dot1.glb: the mesh has no triangle" -- \
    "$DS_BIN" mesh -q --height 64 --model "$M" "$T/dot.png" -o "$T/dot1.glb" --grid pixel
[ -z "$(find "$T" -name 'dot1*' -o -name '.dot1*')" ] && pass no_partial_file || fail no_partial_file "$(ls -a "$T")"

# the folder form
IN=$T/in OUT=$T/out
mkdir -p "$IN/sub"
cp $I/png_rgb8.png "$IN/"
cp $I/jpeg_exif6.jpg "$IN/sub/"
head -c 300 $I/png_rgb8.png >"$IN/truncated.png"
err=$(run -r "$IN" -o "$OUT" --format obj 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "$IN/truncated.png: " <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 1 ] &&
    pass folder_reports_bad_photo || fail folder_reports_bad_photo "exit $rc: $err"
[ -f "$OUT/png_rgb8-midas_v21_small_256.obj" ] && [ -f "$OUT/sub/jpeg_exif6-midas_v21_small_256.obj" ] &&
    [ -f "$OUT/sub/jpeg_exif6-midas_v21_small_256-texture.png" ] && [ -z "$(find "$OUT" -name '.*' -o -name '*trunc*')" ] &&
    pass folder_outputs_mirrored || fail folder_outputs_mirrored "$(find "$OUT")"
x=$(read_mesh "$OUT/sub/jpeg_exif6-midas_v21_small_256.obj") && [ "$(field "$x" 'texture')" = "[7, 13]" ] &&
    pass exif_orientation_in_texture || fail exif_orientation_in_texture "$x"
err=$("$DS_BIN" mesh --height 64 --model "$M" -r "$IN" -o "$OUT" --format obj 2>&1 >/dev/null)
grep -q "0 written, 2 skipped (outputs exist), 1 failed" <<<"$err" && pass rerun_skips || fail rerun_skips "$err"

expect bad_grid 2 "--grid takes" -- "$DS_BIN" mesh --model "$M" --grid 0 "$IN" -o "$T/x.glb"
expect bad_projection 2 "--projection takes" -- "$DS_BIN" mesh --model "$M" --projection fish "$IN" -o "$T/x.glb"
expect near_above_far 2 "--near must be below --far" -- "$DS_BIN" mesh --model "$M" --near 5 --far 2 "$IN" -o "$T/o"
expect one_file_one_image 2 "takes one IMAGE" -- "$DS_BIN" mesh --model "$M" "$IN" -o "$T/x.glb"
expect format_contradicts 2 "contradicts" -- "$DS_BIN" mesh --model "$M" --format ply $I/png_rgb8.png -o "$T/x.glb"
expect bad_format 2 "--format takes" -- "$DS_BIN" mesh --model "$M" --format stl "$IN" -o "$T/o"

# A write that fails part-way (a file-size limit: EFBIG) fails the photo with a
# one-line error and leaves none of its files (mesh, .mtl, texture)
make_png "$T/big.png" 96 64
for fmt in obj ply glb; do
    mkdir -p "$T/wf-$fmt"
    err=$(bash -c 'trap "" XFSZ; ulimit -f 4; exec "$@"' _ "$DS_BIN" mesh -q --height 64 --model "$M" \
        "$T/big.png" -o "$T/wf-$fmt/m.$fmt" --grid pixel 2>&1); rc=$?
    left=$(find "$T/wf-$fmt" -type f 2>/dev/null)
    [ $rc -eq 1 ] && grep -q "File too large" <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 1 ] && [ -z "$left" ] &&
        pass "failed_write_fails_the_mesh_$fmt" || fail "failed_write_fails_the_mesh_$fmt" "exit $rc, left '$left': $err"
done
expect mesh_into_missing_folder 1 "$T/no/such: no such directory" -- "$DS_BIN" mesh -q --model "$M" \
    "$T/big.png" -o "$T/no/such/m.glb"
