#!/usr/bin/env bash
# Depth Anything V2 through the depthsolve program:
#  - checkpoints of both published layouts (the official .pth state_dict as
#    torch.save writes it, when PyTorch is there; the Transformers -hf
#    model.safetensors) convert to exactly the tensors `synth` writes;
#    relative vs metric picked by the file's path, or --arch;
#  - `depthsolve depth` on the reference photo: run.py's depth (npy) and
#    --grayscale PNG, the metric model's metres in the PFM and near bright
#    in its PNG, --normalize fixed in metres, --input-size;
#  - `mesh --projection camera` takes the photo's EXIF 35 mm focal length;
#  - fetch says the licence; names in errors.
# The relative model runs at 518x700 in the plain build (the sanitizer build:
# --input-size 70); the metric model's files are checked at --input-size 70
# (its 518x700 path against infer_image: tests/test_pipeline.c).
. "$(dirname "$0")/shell_lib.sh"
MODELS=${DS_MODELS:-build/models}
S=$MODELS/depth_anything_v2_vits.gguf
HS=$MODELS/depth_anything_v2_metric_hypersim_vits.gguf
R=tests/data/reference
SIZE=()
case "${DS_BUILD:-}" in *asan*) SIZE=(--input-size 70) ;; esac

# ---- checkpoints of both layouts -------------------------------------------
"$DS_BIN" info --tensors "$S" | sed -n '/^  tensors (name/,$p' >"$T/synth.txt"
if has_numpy; then
    out=$("$PY" tests/dav2_checkpoints.py $R/depth_anything_v2_vits/keys.tsv "$T/ck" 2>&1)
    for f in hf.safetensors official.pth; do
        if [ ! -f "$T/ck/$f" ]; then
            echo "SKIP convert_${f%%.*}_equals_synth: $out"
            continue
        fi
        "$DS_BIN" convert -q "$T/ck/$f" -o "$T/$f.gguf" &&
            "$DS_BIN" info --tensors "$T/$f.gguf" | sed -n '/^  tensors (name/,$p' >"$T/$f.txt" &&
            [ "$(wc -l <"$T/$f.txt")" -gt 200 ] && cmp -s "$T/synth.txt" "$T/$f.txt" &&
            pass "convert_${f%%.*}_equals_synth" || fail "convert_${f%%.*}_equals_synth" "tensors differ"
    done
    "$DS_BIN" info "$T/ck/hf.safetensors" | grep -q "layout: *transformers" &&
        pass info_names_the_transformers_layout || fail info_names_the_transformers_layout "no layout line"
    # the same tensors: the path picks the metric head (official file names, -hf page names)
    mkdir -p "$T/Depth-Anything-V2-Metric-Indoor-Small-hf" "$T/m"
    ln -s "$T/ck/hf.safetensors" "$T/Depth-Anything-V2-Metric-Indoor-Small-hf/model.safetensors"
    ln -s "$T/ck/hf.safetensors" "$T/m/depth_anything_v2_metric_vkitti_vits.safetensors"
    "$DS_BIN" info "$T/Depth-Anything-V2-Metric-Indoor-Small-hf/model.safetensors" |
        grep -q "architecture: depth_anything_v2_metric_hypersim_vits" &&
        pass path_picks_metric_hypersim || fail path_picks_metric_hypersim "not detected"
    err=$("$DS_BIN" convert "$T/m/depth_anything_v2_metric_vkitti_vits.safetensors" -o "$T/vk.gguf" 2>&1)
    "$DS_BIN" info "$T/vk.gguf" | grep -q 'depthsolve.max_depth *80' &&
        grep -q "taken as depth_anything_v2_metric_vkitti_vits" <<<"$err" &&
        pass path_picks_metric_vkitti || fail path_picks_metric_vkitti "$err"
    "$DS_BIN" convert -q --arch depth_anything_v2_metric_hypersim_vits "$T/ck/hf.safetensors" -o "$T/hs.gguf" &&
        "$DS_BIN" info "$T/hs.gguf" | grep -q 'depthsolve.depth_quantity *"metric_depth_m"' &&
        pass arch_names_the_metric_head || fail arch_names_the_metric_head "no metric metadata"
    expect convert_vitb_as_vits 1 "has shape" -- \
        "$DS_BIN" convert -q --arch depth_anything_v2_vitb "$T/ck/hf.safetensors" -o "$T/x.gguf"
    [ ! -e "$T/x.gguf" ] && pass refused_convert_leaves_no_file || fail refused_convert_leaves_no_file "x.gguf"
    rm -rf "$T/ck"
else
    echo "SKIP convert_hf_equals_synth: no numpy for $PY"
fi

# ---- depth maps of the reference photo ---------------------------------------
P=$R/depth_anything_v2_vits/pipeline_211x157/image.png
"$DS_BIN" depth -q --device cpu "${SIZE[@]}" --model "$S" "$P" -o "$T/rel" --grayscale --format png8,npy &&
    "$DS_BIN" depth -q --device cpu --input-size 70 --model "$HS" "$P" -o "$T/met" --format png8,pfm,npy \
        --colormap gray &&
    "$DS_BIN" depth -q --device cpu --input-size 70 --model "$HS" "$P" -o "$T/fix" --format png8 --colormap gray \
        --normalize fixed:10,20 &&
    pass depth_runs || fail depth_runs "exit $?"
if has_numpy; then
    out=$("$PY" - "$T" "$R" "${#SIZE[@]}" <<'PYEOF'
import struct, sys, zlib
import numpy as np
t, r, small = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
def png(path):  # 8-bit gray or RGB PNG (ours and cv2's), first channel
    d = open(path, "rb").read()
    at, idat, ihdr = 8, b"", None
    while at < len(d):
        n, kind = struct.unpack(">I4s", d[at:at + 8])
        if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", d[at + 8:at + 21])
        if kind == b"IDAT": idat += d[at + 8:at + 8 + n]
        at += 12 + n
    w, h, bits, color = ihdr[:4]
    ch, stride = {0: 1, 2: 3}[color], w * {0: 1, 2: 3}[color]
    raw, rows, prev, k = zlib.decompress(idat), [], [0] * (w * {0: 1, 2: 3}[color]), 0
    for y in range(h):
        f, line, out = raw[k], raw[k + 1:k + 1 + stride], [0] * stride
        k += 1 + stride
        for i in range(stride):
            a = out[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = b
            elif f == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[i] = (line[i] + p) & 255
        rows.append(out[::ch])
        prev = out
    return np.array(rows, np.int32)
def pfm(path):
    d = open(path, "rb").read()
    head = d.split(b"\n", 3)
    w, h = map(int, head[1].split()); scale = float(head[2])
    a = np.frombuffer(head[3], "<f4" if scale < 0 else ">f4").reshape(h, w)
    return a[::-1]
rel, met = np.load(t + "/rel/image-depth_anything_v2_vits.npy"), np.load(t + "/met/image-depth_anything_v2_metric_hypersim_vits.npy")
ok = []
if not small:
    ref = np.load(r + "/depth_anything_v2_vits/pipeline_211x157/depth.npy")
    e = np.linalg.norm(rel - ref) / np.linalg.norm(ref)
    ok.append(("depth_npy_matches_infer_image", e <= 1e-4, "rel L2 %.2e" % e))
    d8 = png(r + "/depth_anything_v2_vits/pipeline_211x157/depth8.png")
    ours = png(t + "/rel/image-depth_anything_v2_vits.png")
    ok.append(("grayscale_png_matches_run_py", np.abs(ours - d8).max() <= 1, "max diff %d" % np.abs(ours - d8).max()))
ok.append(("metric_pfm_holds_metres", np.array_equal(pfm(t + "/met/image-depth_anything_v2_metric_hypersim_vits.pfm"), met)
           and 0 < met.min() and met.max() < 20, "range %.3g..%.3g" % (met.min(), met.max())))
g = png(t + "/met/image-depth_anything_v2_metric_hypersim_vits.png")
near, far = np.unravel_index(met.argmin(), met.shape), np.unravel_index(met.argmax(), met.shape)
ok.append(("metric_png_near_is_bright", g[near] == 255 and g[far] == 0, "near %d far %d" % (g[near], g[far])))
f = png(t + "/fix/image-depth_anything_v2_metric_hypersim_vits.png")
want = np.clip(255 * (20 - met) / 10, 0, 255).astype(np.int32)
ok.append(("normalize_fixed_takes_metres", np.abs(f - want).max() <= 1, "max diff %d" % np.abs(f - want).max()))
for name, good, why in ok:
    print(("PASS %s" if good else "FAIL %s: " + why) % name)
PYEOF
)
    echo "$out"
else
    echo "SKIP depth_npy_matches_infer_image: no numpy for $PY"
fi
expect input_size_too_small 2 "--input-size takes 14 to 8192" -- \
    "$DS_BIN" depth --model "$S" --input-size 13 "$P" -o "$T/x"
expect input_size_off_the_model 1 "must be 32 to 8192" -- \
    "$DS_BIN" depth -q --device cpu --model "$MODELS/midas_v21_small_256.gguf" --input-size 20 "$P" -o "$T/x"
expect input_size_rounds_past_the_limit 1 "must be 14 to 8190" -- \
    "$DS_BIN" depth -q --device cpu --model "$S" --input-size 8192 "$P" -o "$T/x"
# a 4000 x 1 photo: the short side at 518 would make a 518 x 2072000 input (13 GB of
# activations); refused at once, before the photo is resized
make_png "$T/thin.png" 4000 1
expect photo_too_thin_for_the_model 1 "518x2072000 (HxW) network input for depth_anything_v2_vits, over 8192" -- \
    timeout 60 "$DS_BIN" depth -q --device cpu --model "$S" "$T/thin.png" -o "$T/x"

# ---- mesh: the photo's own field of view ------------------------------------
# a JPEG with an EXIF block whose Exif IFD says FocalLengthIn35mmFilm = 28 mm
J=tests/data/images/jpeg_baseline_420.jpg
{
    head -c 2 "$J"
    printf '\xff\xe1\x00\x34Exif\x00\x00II\x2a\x00\x08\x00\x00\x00'
    printf '\x01\x00\x69\x87\x04\x00\x01\x00\x00\x00\x1a\x00\x00\x00\x00\x00\x00\x00'
    printf '\x01\x00\x05\xa4\x03\x00\x01\x00\x00\x00\x1c\x00\x00\x00\x00\x00\x00\x00'
    tail -c +3 "$J"
} >"$T/focal28.jpg"
fov=$("$PY" -c "
import math, struct, sys
d = open('$T/focal28.jpg', 'rb').read(); at = 2
while d[at + 1] not in (0xc0, 0xc1, 0xc2): at += 2 + struct.unpack('>H', d[at + 2:at + 4])[0]
h, w = struct.unpack('>HH', d[at + 5:at + 9])
print('%.17g' % (2 * math.atan(43.266615305567875 * max(w, h) / math.hypot(w, h) / 56) * 180 / math.pi))")
M=(mesh -q --device cpu --input-size 70 --model "$S" --projection camera --grid 16 "$T/focal28.jpg")
mkdir -p "$T/exif" "$T/fov" "$T/55" # one file name: the .obj names its .mtl
"$DS_BIN" "${M[@]}" -o "$T/exif/m.obj" && "$DS_BIN" "${M[@]}" --fov "$fov" -o "$T/fov/m.obj" &&
    "$DS_BIN" "${M[@]}" -o "$T/55/m.obj" --fov 55 && cmp -s "$T/exif/m.obj" "$T/fov/m.obj" &&
    ! cmp -s "$T/exif/m.obj" "$T/55/m.obj" && pass mesh_fov_from_exif || fail mesh_fov_from_exif "fov $fov"

# ---- names: fetch and errors --------------------------------------------------
err=$(DEPTHSOLVE_MODEL_BASE_URL=http://127.0.0.1:9 "$DS_BIN" fetch -q --dir "$T/store" depth_anything_v2_vitb 2>&1)
grep -q "depth_anything_v2_vitb: the weights are licensed CC-BY-NC-4.0 (non-commercial use only)" <<<"$err" &&
    grep -q "127.0.0.1:9/depth_anything_v2_vitb.pth" <<<"$err" && pass fetch_says_the_licence ||
    fail fetch_says_the_licence "$err"
expect unknown_model_lists_dav2 1 "depth_anything_v2_metric_vkitti_vitl" -- \
    "$DS_BIN" depth --model depth_anything_v3 "$P" -o "$T/x"
rm -rf "$T"
