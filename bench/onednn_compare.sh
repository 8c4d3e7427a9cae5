#!/usr/bin/env bash
# Our CPU convolution kernels against oneDNN, per op class, on shapes of the
# four networks: builds bench/conv_bench.c and bench/onednn_bench.c (needs
# libdnnl-dev), runs each shape through both, interleaved, and prints a
# Markdown table (best wall time of REPS runs, and CPU time per thread, which
# a shared machine disturbs less). THREADS (default 2), REPS (default 20).
# A linear layer is the 1x1 conv over a 1xT map (T tokens).
#   bench/onednn_compare.sh [build-dir]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
THREADS=${THREADS:-2}
REPS=${REPS:-20}
OB=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -f "$B/libdepthsolve.a" ] || { echo "onednn_compare: no $B/libdepthsolve.a (make first)" >&2; exit 1; }
[ -f /usr/include/oneapi/dnnl/dnnl.h ] || { echo "onednn_compare: no oneDNN headers (apt-get install libdnnl-dev)" >&2; exit 1; }
cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime -I. -I/usr/include/x86_64-linux-gnu/openblas-openmp bench/conv_bench.c \
    "$B/libdepthsolve.a" -L$OB -Wl,-rpath,$OB -lopenblas -lm -lpthread -o "$B/conv_bench"
cc -O2 -std=c11 -fopenmp bench/onednn_bench.c -ldnnl -lm -o "$B/onednn_bench"

# class | H W C O K STRIDE PAD GROUPS
SHAPES="3x3, small map, many channels (v2.1 384 encoder)|12 12 1024 256 3 1 1 1
3x3, small map, many channels (v2.1 384 refinenet)|12 12 256 256 3 1 1 1
3x3, small map, many channels (DPT fusion)|24 24 256 256 3 1 1 1
3x3, small map (small model)|8 8 64 64 3 1 1 1
3x3, large map (v2.1 384 decoder)|96 96 256 256 3 1 1 1
3x3, large map (DPT head)|192 192 128 128 3 1 1 1
1x1 (ResNeXt conv1, layer3)|24 24 1024 512 1 1 0 1
1x1 (ResNeXt conv3, layer2)|48 48 256 512 1 1 0 1
1x1 (EfficientNet expand)|32 32 48 288 1 1 0 1
grouped 3x3 g32 (ResNeXt layer3)|24 24 512 512 3 1 1 32
grouped 3x3 g32 (ResNeXt layer2)|48 48 256 256 3 1 1 32
depthwise 3x3 (EfficientNet)|64 64 144 144 3 1 -1 144
depthwise 5x5 (EfficientNet)|16 16 480 480 5 1 -1 480
stem 3x3 s2 (EfficientNet)|256 256 3 32 3 2 -1 1
linear 768->3072 (ViT-B MLP, 577 tokens)|1 577 768 3072 1 1 0 1
linear 1024->1024 (ViT-L proj, 577 tokens)|1 577 1024 1024 1 1 0 1"

echo "| op class | shape HxW CxO k s g | ours ms (cpu/thread) | oneDNN ms (cpu/thread) | oneDNN impl | ours / oneDNN (cpu) |"
echo "|---|---|---|---|---|---|"
while IFS='|' read -r cls shape; do
    # shellcheck disable=SC2086
    set -- $shape
    ours=$("$B/conv_bench" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" -1 1 "$THREADS" "$REPS")
    dnnl=$("$B/onednn_bench" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$THREADS" "$REPS")
    ow=$(sed -E 's/.*: ([0-9.]+) ms .*/\1/' <<<"$ours"); oc=$(sed -E 's/.*cpu\/thread ([0-9.]+) ms.*/\1/' <<<"$ours")
    dw=$(sed -E 's/.*: ([0-9.]+) ms .*/\1/' <<<"$dnnl"); dc=$(sed -E 's/.*cpu\/thread ([0-9.]+) ms.*/\1/' <<<"$dnnl")
    impl=$(sed -E 's/.* oneDNN ([^ ]+) threads.*/\1/' <<<"$dnnl")
    printf '| %s | %sx%s %sx%s k%s s%s g%s | %s (%s) | %s (%s) | %s | %.2f |\n' "$cls" "$1" "$2" "$3" "$4" "$5" "$6" \
        "$8" "$ow" "$oc" "$dw" "$dc" "$impl" "$(echo "$oc / $dc" | bc -l)"
done <<<"$SHAPES"
