#!/usr/bin/env bash
# dpt_levit_224 through the command line: the forced 224x224 said in --help,
# --height refused in one line; and in the plain build, run.py's picture through
# `depthsolve depth` against run.py's depth map (npy) and PNGs, and (with
# PyTorch) a real torch.save checkpoint of the full key set, index buffers
# included, converting to exactly the tensors `synth` writes.
. "$(dirname "$0")/shell_lib.sh"
A=dpt_levit_224
M=${DS_MODELS:-build/models}/$A.gguf
R=tests/data/reference/$A

"$DS_BIN" depth --help | tr '\n' ' ' | grep -q "dpt_levit_224 takes 224x224 only: every photo is *stretched" &&
    pass help_says_levit_is_square || fail help_says_levit_is_square "no line in --help"
expect levit_refuses_height 1 "dpt_levit_224 takes 224x224 inputs only, not a network height of 384" -- \
    "$DS_BIN" depth -q --height 384 --model "$M" $R/pipeline_211x157/image.png -o "$T/h"
[ -z "$(ls "$T/h" 2>/dev/null)" ] && pass refused_height_writes_nothing || fail refused_height_writes_nothing "$(ls "$T/h")"

# The plain build runs the photos (tests/test_pipeline.c runs this one in both builds)
if [[ "${DS_BUILD:-build}" == *asan* ]]; then
    echo "SKIP depth_matches_run_py: the plain build runs it"
elif "$PY" -c 'import numpy, PIL' 2>/dev/null; then
    "$DS_BIN" depth -q --model "$M" $R/pipeline_211x157/image.png -o "$T/d" --format npy,png16,png8 --colormap gray
    # run.py's depth within 3x float32 PyTorch's own error on this network (its output's torch32_err,
    # the bound of tests/ref_case.h); each PNG level within 1 plus the levels the float difference spans
    out=$("$PY" - "$T/d/image-$A" $R <<'PYEOF' 2>&1
import json, sys
import numpy as np
from PIL import Image
mine, ref = sys.argv[1], sys.argv[2]
d = np.load(mine + ".npy").astype(np.float64)
r = np.load(ref + "/pipeline_211x157/depth.npy").astype(np.float64)
bound = max(1e-4, 3 * json.load(open(ref + "/net_224x224/f64/torch32_err.json"))["output"])
err = np.linalg.norm(d - r) / np.linalg.norm(r)
ok = d.shape == (157, 211) and err <= bound
msg = "rel L2 %.2e (bound %.1e)" % (err, bound)
for png, want, levels in (("-16bit.png", "depth16.png", 65535), (".png", "depth8.png", 255)):
    a = np.asarray(Image.open(mine + png), dtype=np.int64)
    b = np.asarray(Image.open(ref + "/pipeline_211x157/" + want), dtype=np.int64)
    b = b[..., 0] if b.ndim == 3 else b
    lim = 1 + int(levels * np.abs(d - r).max() / float(r.max() - r.min()))
    diff = int(np.abs(a - b).max()) if a.shape == b.shape else -1
    ok = ok and 0 <= diff <= lim
    msg += ", %s max diff %d (bound %d)" % (want, diff, lim)
print(msg)
sys.exit(0 if ok else 1)
PYEOF
    ); rc=$?
    echo "    $out"
    [ $rc -eq 0 ] && pass depth_matches_run_py || fail depth_matches_run_py "$out"
else
    echo "SKIP depth_matches_run_py: no numpy and PIL for $PY"
fi

# The checkpoint is 200 MB and PyTorch takes seconds to start: the plain build checks the reader's path
if [[ "${DS_BUILD:-build}" == *asan* ]]; then
    echo "SKIP torch_checkpoint_converts: the plain build runs it"
elif "$PY" -c 'import torch, numpy' 2>/dev/null; then
    "$PY" bench/make_checkpoint.py --arch $A -o "$T/$A.pt" >/dev/null &&
        "$DS_BIN" convert -q "$T/$A.pt" -o "$T/conv.gguf" &&
        "$DS_BIN" info --tensors "$M" | sed -n '/^  tensors (name/,$p' >"$T/a" &&
        "$DS_BIN" info --tensors "$T/conv.gguf" | sed -n '/^  tensors (name/,$p' >"$T/b" &&
        [ "$(wc -l <"$T/a")" -gt 100 ] && cmp -s "$T/a" "$T/b" &&
        pass torch_checkpoint_converts || fail torch_checkpoint_converts "exit $? or tensors differ"
    rm -f "$T/$A.pt" "$T/conv.gguf"
else
    echo "SKIP torch_checkpoint_converts: no PyTorch for $PY"
fi
rm -rf "$T"
