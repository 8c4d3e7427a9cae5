#!/usr/bin/env bash
# ds_mesh_build on the CPU (mesh/mesh_cpu.c), for bench/RESULTS.md's mesh
# section: a 12 MP depth map alone at grid 128 and one vertex per pixel
# (the targets: 5 ms and 0.5 s on 2 cores), then after the depth solve of a
# photo. After `make`:
#   bench/mesh_bench.sh [MODEL.gguf] [WxH] [REPS]
# Default: the small model with synthetic weights (make models), 4000x3000.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-build/models/midas_v21_small_256.gguf}
SIZE=${2:-4000x3000}
REPS=${3:-7}
W=${SIZE%x*} H=${SIZE#*x}
make -s build/mesh_bench
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
build/mesh_bench - "$W" "$H" 128 "$REPS"
build/mesh_bench - "$W" "$H" 128 "$REPS" camera 0.05
build/mesh_bench - "$W" "$H" 0 "$REPS"
build/mesh_bench - "$W" "$H" 0 "$REPS" camera 0.05
build/mesh_bench "$MODEL" "$W" "$H" 128 3
