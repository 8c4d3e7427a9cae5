#!/usr/bin/env bash
# --device on depthsolve net and depth: cuda-emu (the CUDA backend on the CPU
# emulator) gives the CPU's numbers; cuda without a GPU fails in one line;
# auto falls back to the CPU with one line saying why; --precision.
. "$(dirname "$0")/shell_lib.sh"
M=${DS_MODELS:-build/models}/midas_v21_small_256.gguf
R=tests/data/reference/midas_v21_small_256
net() { "$DS_BIN" net --model "$M" --input $R/net_64x96/input.npy "$@"; }

err=$(net -o "$T/emu.npy" --device cuda-emu --dump "$T/dump" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "cuda-emu device 0" <<<"$err" && pass net_cuda_emu_runs || fail net_cuda_emu_runs "exit $rc: $err"
# the 13 stages and the output under the reference's name (depth.npy)
[ "$(ls "$T/dump" 2>/dev/null | wc -l)" -eq 14 ] && [ -f "$T/dump/depth.npy" ] && pass net_cuda_emu_dumps_every_stage ||
    fail net_cuda_emu_dumps_every_stage "$(ls "$T/dump" 2>&1)"
net -q -o "$T/cpu.npy" --device cpu 2>/dev/null

gpu=0
err=$(net -q -o "$T/gpu.npy" --device cuda 2>&1) && gpu=1
if [ $gpu -eq 0 ]; then
    expect net_cuda_without_gpu_one_line 1 "no CUDA device" -- net -q -o "$T/gpu.npy" --device cuda
    expect net_cuda_index_without_gpu 1 "no CUDA device" -- net -q -o "$T/gpu.npy" --device cuda:1
    err=$(net -o "$T/auto.npy" --device auto 2>&1); rc=$?
    [ $rc -eq 0 ] && [ "$(grep -c "device auto: using the CPU (" <<<"$err")" -eq 1 ] &&
        pass net_auto_falls_back_in_one_line || fail net_auto_falls_back_in_one_line "exit $rc: $err"
else
    pass net_cuda_runs_on_this_gpu
fi
expect net_unknown_device 2 "unknown device 'tpu'" -- net -o "$T/x.npy" --device tpu
# --precision changes the CUDA libraries' math only: on the CPU the output is the same
for p in tf32 fp16; do
    net -q -o "$T/$p.npy" --device cpu --precision $p && cmp -s "$T/$p.npy" "$T/cpu.npy" &&
        pass net_precision_${p}_on_cpu || fail net_precision_${p}_on_cpu "differs from fp32 on the CPU"
done
# fp16 under the emulator rounds as the GPU does: the output differs from fp32's, a little (checked below)
net -q -o "$T/emu16.npy" --device cuda-emu --precision fp16 && ! cmp -s "$T/emu16.npy" "$T/emu.npy" &&
    pass net_precision_fp16_on_cuda_emu || fail net_precision_fp16_on_cuda_emu "exit $? or equal to fp32"
expect net_unknown_precision 2 "--precision takes fp32, tf32, fp16 or bf16" -- net -o "$T/x.npy" --precision fp8

# bench: latency quantiles everywhere; on cuda-emu the device memory and graph operations; a
# reduced precision's error against fp32 (the small network in fp16: 1 step of an 8-bit map)
out=$("$DS_BIN" bench --model "$M" --device cpu --size 64x96 --runs 2 --warmup 0 2>&1) &&
    grep -q "p99 .* images/s" <<<"$out" && pass bench_cpu_quantiles || fail bench_cpu_quantiles "$out"
out=$("$DS_BIN" bench --model "$M" --device cuda-emu --size 64x96 --runs 1 --warmup 0 --precision fp16 --json 2>&1) &&
    grep -Eq '"graph_operations": [1-9][0-9]*, "precision": "fp16", "fp32_rel_l2": 0\.00[0-9]+, "fp32_max_range_pct": [0-9.]+, "fp32_u8_steps": [0-9]+' <<<"$out" &&
    grep -Eq '"device_mib": [1-9]' <<<"$out" && pass bench_fp16_error_and_device_stats ||
    fail bench_fp16_error_and_device_stats "$out"
expect bench_unknown_precision 2 "--precision takes fp32, tf32, fp16 or bf16" -- \
    "$DS_BIN" bench --model "$M" --precision fp8

I=$R/pipeline_211x157/image.png
# a folder of two photos of two network sizes (one EXIF-rotated): queued runs across a change of size
mkdir -p "$T/photos" && cp "$I" tests/data/images/jpeg_exif8.jpg "$T/photos/"
"$DS_BIN" depth -q --model "$M" "$T/photos" -o "$T/d_emu" --format npy --device cuda-emu && pass depth_cuda_emu_runs ||
    fail depth_cuda_emu_runs "exit $?"
"$DS_BIN" depth -q --model "$M" "$T/photos" -o "$T/d_cpu" --format npy --device cpu 2>/dev/null
[ $gpu -eq 1 ] || expect depth_cuda_without_gpu_one_line 1 "no CUDA device" -- \
    "$DS_BIN" depth -q --model "$M" "$I" -o "$T/d_gpu" --device cuda

# the numbers: cuda-emu against the CPU and the PyTorch dumps (relative L2 <= 1e-4, as test_net_parity)
if has_numpy; then
    "$PY" - "$T" $R <<'PY' | grep -E '^(PASS|FAIL) '
import sys, numpy as np
t, r = sys.argv[1], sys.argv[2]
def rel(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(b))
def check(name, a, b):
    e = rel(np.load(a), np.load(b))
    print(("PASS " if e <= 1e-4 else "FAIL ") + name + ("" if e <= 1e-4 else f": relative L2 {e:.3g}"))
check("net_cuda_emu_equals_cpu", f"{t}/emu.npy", f"{t}/cpu.npy")
check("net_cuda_emu_matches_pytorch", f"{t}/emu.npy", f"{r}/net_64x96/output.npy")
# fp16: within 2^13 x float32's error (tests/test_backend_cuda.c says why)
e16 = rel(np.load(f"{t}/emu16.npy"), np.load(f"{r}/net_64x96/output.npy"))
e32 = rel(np.load(f"{t}/emu.npy"), np.load(f"{r}/net_64x96/output.npy"))
print(("PASS " if e32 < e16 <= 8192 * e32 else "FAIL ") + f"net_cuda_emu_fp16_error: rel L2 {e16:.3g} (fp32 {e32:.3g})")
check("net_cuda_emu_stage_matches_pytorch", f"{t}/dump/scratch_refinenet1.npy", f"{r}/net_64x96/scratch_refinenet1.npy")
for name in ("image", "jpeg_exif8"):
    check(f"depth_cuda_emu_equals_cpu_{name}", f"{t}/d_emu/{name}-midas_v21_small_256.npy",
          f"{t}/d_cpu/{name}-midas_v21_small_256.npy")
check("depth_cuda_emu_matches_run_py", f"{t}/d_emu/image-midas_v21_small_256.npy", f"{r}/pipeline_211x157/depth.npy")
PY
fi
rm -rf "$T"
