#!/usr/bin/env bash
# depthsolve animate against its target (a 5-second 30 fps 1080p clip in
# under 30 s on the 2-core CPU, depth included), and the renderer alone, for
# bench/RESULTS.md's animate section. After `make models build/render_bench`:
#   bench/animate_bench.sh [MODEL.gguf ...]
# Default: the small model and DPT-Hybrid with synthetic weights (the same
# arithmetic as real weights; their depth maps are noise, which tears more).
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(build/models/midas_v21_small_256.gguf build/models/dpt_hybrid_384.gguf)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%F %H:%M') UTC"
ffmpeg -v error -f lavfi -i testsrc2=size=1920x1080 -frames:v 1 -y "$T/photo.png"
echo "-- the renderer alone (build/render_bench: 1920x1080, a disc over a rising floor, 60 frames)"
for m in zoom dolly straight swing circle; do build/render_bench 1920 1080 60 $m cpu; done
echo "-- depthsolve animate, 1920x1080, 5 s at 30 fps, MP4 (x264 preset veryfast, crf 18)"
for model in "${MODELS[@]}"; do
    for m in zoom circle; do
        start=$(date +%s.%N)
        build/depthsolve animate --model "$model" "$T/photo.png" -o "$T/clip.mp4" --motion $m --overwrite 2>&1 |
            grep '^animate:'
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" -v n="$(basename "$model" .gguf) $m" 'BEGIN { printf "%s: %.1f s wall, end to end\n", n, b - a }'
    done
done
