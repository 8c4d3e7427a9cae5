#!/usr/bin/env bash
# A folder of photos through `depthsolve depth`: images/s, and the share of the
# wall time spent in the network (resize + normalize + ds_engine_run on the
# main thread) while decoding and writing run on their own threads.
#   bench/folder_throughput.sh MODEL.gguf [N_PHOTOS] [WxH] [FORMATS]
# Photos: N copies-with-variations of a synthetic 1920x1080 JPEG (numpy + cv2
# on /usr/bin/python3) or PNG (numpy alone).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1
N=${2:-100}
SIZE=${3:-1920x1080}
FORMATS=${4:-png8,pfm}
PY=${PYTHON:-/usr/bin/python3}
BIN=${DS_BIN:-build/depthsolve}
W=${BENCH_WORK:-build/bench}/folder_${N}_${SIZE}
mkdir -p "$W/in"
if [ "$(ls "$W/in" | wc -l)" -ne "$N" ]; then
    "$PY" - "$W/in" "$N" "$SIZE" <<'PYEOF'
import os, sys
import numpy as np
sys.path.insert(0, "bench")
from importlib.machinery import SourceFileLoader
compare = SourceFileLoader("compare", "bench/compare").load_module()
out, n, size = sys.argv[1], int(sys.argv[2]), sys.argv[3]
w, h = (int(v) for v in size.split("x"))
base = compare.synthetic_photo(h, w)
try:
    import cv2
except ImportError:
    cv2 = None
for i in range(n):
    img = np.roll(base, 7 * i, axis=1)
    if cv2 is not None:
        cv2.imwrite(os.path.join(out, f"{i:04d}.jpg"), img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    else:
        compare.write_png(os.path.join(out, f"{i:04d}.png"), img)
PYEOF
fi
rm -rf "$W/out"
"$BIN" depth --overwrite --model "$MODEL" --format "$FORMATS" "$W/in" -o "$W/out" 2>&1 | tail -1
