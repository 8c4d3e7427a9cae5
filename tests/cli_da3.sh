#!/usr/bin/env bash
# Depth Anything 3 through the depthsolve program:
#  - `depth --net-size --format npy,conf` on the reference picture as the
#    official processor resized it (tests/data/da3/net_input_504x378.png:
#    sides already 504 and a multiple of 14, so it reaches the network
#    unchanged): depth, confidence and the camera JSON's network intrinsics
#    and pose against pipeline_211x157 (relative L2 <= 1e-4);
#  - the photo's size (bilinear, align_corners) by default, the camera JSON
#    scaled to the photo, PNG near bright;
#  - the metric model: the focal length from --fov, EXIF or --camera-model,
#    said on stderr and in the camera JSON, and metres that follow it;
#  - usage errors.
# The 504x378 networks run in the plain build; the sanitizer build runs the
# same commands at --height 70.
. "$(dirname "$0")/shell_lib.sh"
MODELS=${DS_MODELS:-build/models}
S=$MODELS/da3_small.gguf
M=$MODELS/da3metric_large.gguf
R=tests/data/reference
P=tests/data/da3/net_input_504x378.png
SIZE=()
case "${DS_BUILD:-}" in *asan*) SIZE=(--height 70) ;; esac

"$DS_BIN" depth -q --device cpu "${SIZE[@]}" --model "$S" --net-size --format npy,conf "$P" -o "$T/net" &&
    "$DS_BIN" depth -q --device cpu --height 70 --model "$S" --format png8,pfm,npy,conf \
        $R/da3_small/pipeline_211x157/image.png -o "$T/photo" &&
    pass da3_depth_runs || fail da3_depth_runs "exit $?"
if has_numpy; then
    out=$("$PY" - "$T" "$R" "${#SIZE[@]}" <<'PYEOF'
import json, sys
import numpy as np
t, r, small = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
ok = []
def rel(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(b))
cam = json.load(open(t + "/net/net_input_504x378-da3_small.camera.json"))
if not small:
    ref = r + "/da3_small/pipeline_211x157/"
    d, c = np.load(t + "/net/net_input_504x378-da3_small.npy"), np.load(t + "/net/net_input_504x378-da3_small.conf.npy")
    e = rel(d, np.load(ref + "depth.npy")[0]); ok.append(("da3_net_size_depth_matches_api", e <= 1e-4, "rel L2 %.2e" % e))
    e = rel(c, np.load(ref + "conf.npy")[0]); ok.append(("da3_confidence_matches_api", e <= 1e-4, "rel L2 %.2e" % e))
    k, x = np.load(ref + "intrinsics.npy")[0], np.load(ref + "extrinsics.npy")[0]
    n = cam["network"]
    ours = np.array([[n["fx"], 0, n["cx"]], [0, n["fy"], n["cy"]], [0, 0, 1]], np.float32)
    e = rel(ours, k); ok.append(("da3_camera_json_intrinsics", e <= 1e-4 and n["width"] == 504, "rel L2 %.2e" % e))
    e = rel(np.array(cam["extrinsics"], np.float32), x); ok.append(("da3_camera_json_extrinsics", e <= 1e-4, "rel L2 %.2e" % e))
# at the photo's size: 211x157, the focal lengths scaled with the sides, the fields of view kept
p = json.load(open(t + "/photo/image-da3_small.camera.json"))
ph, nt = p["photo"], p["network"]
good = (ph["width"], ph["height"], nt["width"], nt["height"]) == (211, 157, 70, 56) and \
    abs(ph["fx"] - nt["fx"] * 211 / 70) < 1e-3 * ph["fx"] and abs(ph["fov_x_deg"] - nt["fov_x_deg"]) < 1e-3 and \
    p["source"] == "estimated" and len(p["extrinsics"]) == 3
ok.append(("da3_camera_json_at_photo_size", good, json.dumps(p)))
d, c = np.load(t + "/photo/image-da3_small.npy"), np.load(t + "/photo/image-da3_small.conf.npy")
ok.append(("da3_outputs_at_photo_size", d.shape == (157, 211) and c.shape == (157, 211) and d.min() > 0 and c.min() >= 1,
           "%s %s" % (d.shape, c.shape)))
for name, good, why in ok:
    print(("PASS %s" if good else "FAIL %s: " + why) % name)
PYEOF
)
    echo "$out"
else
    echo "SKIP da3_net_size_depth_matches_api: no numpy for $PY"
fi

# ---- net --dump: every output under the reference's names ------------------------
N=$R/da3_small/net_70x98
"$DS_BIN" net -q --device cpu --model "$S" --input $N/input.npy -o "$T/net.npy" --dump "$T/dump" &&
    pass da3_net_dump_runs || fail da3_net_dump_runs "exit $?"
if has_numpy; then
    "$PY" - "$T/dump" "$N" <<'PYEOF'
import sys
import numpy as np
d, r = sys.argv[1], sys.argv[2]
bad = []
for name in ("depth", "depth_conf", "pose_enc", "extrinsics", "intrinsics", "cam_token"):
    a, b = np.load("%s/%s.npy" % (d, name)), np.load("%s/%s.npy" % (r, name))
    e = np.linalg.norm(a.ravel() - b.ravel()) / np.linalg.norm(b)
    if a.size != b.size or not e <= 1e-4:
        bad.append("%s %s %.2e" % (name, a.shape, e))
print("PASS da3_net_dump_matches_reference" if not bad else "FAIL da3_net_dump_matches_reference: " + ", ".join(bad))
PYEOF
fi

# ---- the metric model's focal length (plain build: the 1.3 GB model) -----------
# run 1, --camera-model: a photo with EXIF (28 mm equivalent) takes that, one without the estimate;
# run 2, --fov 90 wins over both; the metres follow the focal length
I=$R/da3_small/pipeline_211x157/image.png
case "${DS_BUILD:-}" in *asan*) M= ;; esac
if [ -n "$M" ]; then
J=tests/data/images/jpeg_baseline_420.jpg
mkdir -p "$T/in"
cp "$I" "$T/in/plain.png"
{
    head -c 2 "$J"
    printf '\xff\xe1\x00\x34Exif\x00\x00II\x2a\x00\x08\x00\x00\x00'
    printf '\x01\x00\x69\x87\x04\x00\x01\x00\x00\x00\x1a\x00\x00\x00\x00\x00\x00\x00'
    printf '\x01\x00\x05\xa4\x03\x00\x01\x00\x00\x00\x1c\x00\x00\x00\x00\x00\x00\x00'
    tail -c +3 "$J"
} >"$T/in/focal28.jpg"
focal() { # DIR NAME: the camera JSON's source and metric_focal_px
    sed -n 's/.*"\(source\)": "\([a-z-]*\)".*/\2/p; s/.*"metric_focal_px": \([0-9.e+-]*\).*/\1/p' \
        "$1/$2-da3metric_large.camera.json" | tr '\n' ' '
}
err1=$("$DS_BIN" depth --device cpu --height 70 --model "$M" --camera-model "$S" --format pfm "$T/in" -o "$T/m1" 2>&1)
err2=$("$DS_BIN" depth --device cpu --height 70 --model "$M" --camera-model "$S" --fov 90 --format pfm "$I" -o "$T/m2" 2>&1)
[ "$(focal "$T/m1" focal28 | cut -d' ' -f1)" = exif ] && grep -q "focal28.jpg: focal length .* px (exif)" <<<"$err1" &&
    pass da3_metric_focal_from_exif || fail da3_metric_focal_from_exif "$(focal "$T/m1" focal28) / $err1"
[ "$(focal "$T/m1" plain | cut -d' ' -f1)" = camera-model ] &&
    pass da3_metric_focal_from_camera_model || fail da3_metric_focal_from_camera_model "$(focal "$T/m1" plain)"
# 90 degrees over 211 px: f = 105.5 px; at the 70x56 network input 35 px and 105.5 * 56/157
set -- $(focal "$T/m2" image)
[ "$1" = fov ] && awk -v f="$2" 'BEGIN { w = (35 + 105.5 * 56 / 157) / 2; exit !(f > w - 1e-3 && f < w + 1e-3) }' &&
    grep -q "focal length 105.5 px (fov)" <<<"$err2" &&
    pass da3_metric_focal_from_fov || fail da3_metric_focal_from_fov "$* / $err2"
if has_numpy; then
    "$PY" - "$T" "$(focal "$T/m1" plain | cut -d' ' -f2)" "$2" <<'PYEOF'
import sys
import numpy as np
t, f1, f2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def pfm(path):
    d = open(path, "rb").read()
    head = d.split(b"\n", 3)
    w, h = map(int, head[1].split())
    return np.frombuffer(head[3], "<f4" if float(head[2]) < 0 else ">f4").reshape(h, w)[::-1]
a, b = pfm(t + "/m1/plain-da3metric_large.pfm"), pfm(t + "/m2/image-da3metric_large.pfm")
r = float(np.median(b / a))
print(("PASS %s" if abs(r - f2 / f1) < 1e-4 * r else "FAIL %s: ratio %.6f, want %.6f" % ("%s", r, f2 / f1))
      % "da3_metric_metres_follow_focal")
PYEOF
fi
fi

# ---- names: fetch, info --------------------------------------------------------
# the Hugging Face file is model.safetensors for every model: fetched under the model's name
err=$(DEPTHSOLVE_MODEL_BASE_URL=http://127.0.0.1:9 "$DS_BIN" fetch --dir "$T/store" da3metric_large 2>&1)
grep -q "licensed Apache-2.0" <<<"$err" && grep -q "127.0.0.1:9/model.safetensors" <<<"$err" &&
    pass da3_fetch_says_the_licence || fail da3_fetch_says_the_licence "$err"
"$DS_BIN" info "$S" | grep -q "licence: *Apache-2.0" && pass da3_info_says_the_licence ||
    fail da3_info_says_the_licence "$("$DS_BIN" info "$S" | head -5)"

# ---- usage --------------------------------------------------------------------
expect da3_conf_needs_a_confidence 1 "gives no confidence map" -- \
    "$DS_BIN" depth -q --device cpu --model "$MODELS/midas_v21_small_256.gguf" --format conf "$I" -o "$T/x"
expect da3_camera_model_must_estimate 1 "does not estimate the camera" -- \
    "$DS_BIN" depth -q --device cpu --model "$S" --camera-model "$MODELS/midas_v21_small_256.gguf" "$I" -o "$T/x"
expect da3_net_size_not_side_by_side 2 "not with --net-size" -- \
    "$DS_BIN" depth --model "$S" --net-size --side-by-side "$I" -o "$T/x"
expect da3_fov_range 2 "--fov takes degrees" -- "$DS_BIN" depth --model "$S" --fov 180 "$I" -o "$T/x"
rm -rf "$T"
