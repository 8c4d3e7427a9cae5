#!/usr/bin/env bash
# The Blender extension's click-to-object time, split into its steps
# (bench/blender_import.py; bench/RESULTS.md). Needs bpy (scripts/install-bpy).
#   bench/blender_import.sh [MODEL [DEVICE [W H]]]   default: midas_v21_small_256 CPU 4000 3000
set -euo pipefail
cd "$(dirname "$0")/.."
make -s blender-extension models
BPY=$(scripts/install-bpy --python)
[ -x "$BPY" ] || { echo "bench/blender_import.sh: no bpy at $BPY: run scripts/install-bpy" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lscpu | sed -n 's/^Model name: *//p'
BLENDER_USER_RESOURCES=$tmp DEPTHSOLVE_MODELS=${DEPTHSOLVE_MODELS:-$PWD/build/models} \
    "$BPY" bench/blender_import.py "$PWD/build/depthsolve-blender.zip" "${1:-midas_v21_small_256}" "${2:-CPU}" \
    "${3:-4000}" "${4:-3000}" 128 pixel 2>&1 | grep -v '^Info:\|^Fra:'
