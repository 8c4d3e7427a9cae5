#!/usr/bin/env bash
# ds_mesh_build on the CPU (the mesh kernels under the CUDA emulator) against
# the depth solve, for bench/RESULTS.md's mesh section. After `make`:
#   bench/mesh_bench.sh [MODEL.gguf] [WxH] [REPS]
# Default: the small model with synthetic weights (make models), 1920x1080,
# grids 128 (plane, camera with tearing) and one vertex per pixel.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-build/models/midas_v21_small_256.gguf}
SIZE=${2:-1920x1080}
REPS=${3:-5}
W=${SIZE%x*} H=${SIZE#*x}
OB=/usr/lib/x86_64-linux-gnu/openblas-openmp
EMU=$(ls build/emu/runtime/gpu/emu/*.o $(find build/emu/kernels -name "*.o"))
g++ -O2 -fopenmp -x c -std=c11 -D_GNU_SOURCE -Iruntime bench/mesh_bench.c -x none $EMU build/libdepthsolve.a \
    -lzip -lcjson -lpng -ljpeg -lcurl -lcrypto -L$OB -Wl,-rpath,$OB -lopenblas -lm -lpthread -o build/mesh_bench
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
build/mesh_bench "$MODEL" "$W" "$H" 128 "$REPS"
build/mesh_bench "$MODEL" "$W" "$H" 128 "$REPS" camera 0.05
build/mesh_bench "$MODEL" "$W" "$H" 0 1
