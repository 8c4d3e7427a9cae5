#!/usr/bin/env bash
# Converting a checkpoint vs torch.load of the same file, and opening the GGUF.
#   bench/convert_speed.sh [ARCH] [RUNS]       (default midas_v21_384, 5 runs)
# Needs PyTorch for /usr/bin/python3 (Debian: python3-torch) to write the
# checkpoint (synthetic weights, real torch.save) and to time torch.load.
# Prints medians in milliseconds, warm page cache for both, each run after a sync.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:-midas_v21_384}
RUNS=${2:-5}
PY=${PYTHON:-/usr/bin/python3}
BIN=${DS_BIN:-build/depthsolve}
W=${BENCH_WORK:-build/bench}
mkdir -p "$W"
[ -f "$W/$ARCH.pt" ] || "$PY" bench/make_checkpoint.py --arch "$ARCH" -o "$W/$ARCH.pt" >/dev/null
[ -f "$W/${ARCH}_legacy.pt" ] || "$PY" bench/make_checkpoint.py --arch "$ARCH" --legacy -o "$W/${ARCH}_legacy.pt" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }

for f in "$ARCH.pt" "${ARCH}_legacy.pt"; do
    cat "$W/$f" >/dev/null # warm the page cache
    # each run writes a new file (replacing one frees its blocks: ~0.4 s more) after
    # a sync, so that no earlier output is being flushed while it runs
    : >"$W/convert_times"
    conv=$(for i in $(seq "$RUNS"); do
        rm -f "$W/out.gguf"; sync
        t0=$(date +%s%N)
        "$BIN" convert "$W/$f" -o "$W/out.gguf" 2>>"$W/convert_times"
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
    done | median)
    # in-process: what `convert` reports ("wrote OUT in S s"), as torch.load is timed
    conv_in=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$W/convert_times" | awk '{print int($1 * 1000)}' | median)
    load=$(for i in $(seq "$RUNS"); do sync; "$PY" -c "
import time, torch
t = time.perf_counter(); torch.load('$W/$f', map_location='cpu'); print(int((time.perf_counter() - t) * 1000))"; done | median)
    load_all=$(for i in $(seq "$RUNS"); do sync; ms "$PY" -c "import torch; torch.load('$W/$f', map_location='cpu')"; done | median)
    echo "$f: $(du -m "$W/$f" | cut -f1) MB"
    echo "  in-process:    depthsolve convert ${conv_in} ms; torch.load ${load} ms"
    echo "  whole process: depthsolve convert ${conv} ms; python3 -c 'import torch; torch.load(...)' ${load_all} ms"
done
json=$("$BIN" bench --model "$W/out.gguf" --runs 1 --warmup 0 --size 64x64 --json)
field() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/" <<<"$json"; }
echo "GGUF $(du -m "$W/out.gguf" | cut -f1) MB: engine open (mmap + checks) $(field load_ms) ms, RSS after open $(field load_rss_mib) MiB"
