#!/usr/bin/env bash
# bench/: the accuracy metrics on known answers, and a smoke run of
# bench/compare on synthetic weights at a tiny size with PyTorch absent (it
# must say so and still time depthsolve alone).
. "$(dirname "$0")/shell_lib.sh"
if ! has_numpy; then
    echo "SKIP bench tests: no numpy for $PY"
    exit 0
fi
"$PY" bench/test_metrics.py | grep -E '^(PASS|FAIL) '
"$PY" bench/test_torch_timing.py | grep -E '^(PASS|FAIL) '
# one run: PyTorch absent, --devices cpu,cuda (without a GPU: the CPU rows and a line saying the GPU rows are left out)
err=$("$PY" bench/compare --models midas_v21_small_256 --sizes 64x64 --runs 2 --warmup 0 --folder 2 \
    --devices cpu,cuda --pytorch-python /bin/false --midas "$T" --depthsolve "$DS_BIN" --results "$T/RESULTS.md" \
    --chart "$T/chart.png" 2>&1 >"$T/stdout"); rc=$?
[ $rc -eq 0 ] && pass compare_runs_without_pytorch || fail compare_runs_without_pytorch "exit $rc: $err"
grep -q "PyTorch MiDaS not available" <<<"$err" && pass compare_says_pytorch_is_missing ||
    fail compare_says_pytorch_is_missing "$err"
grep -q "| midas_v21_small_256 | 64x64 | cpu | fp32 | depthsolve |" "$T/RESULTS.md" &&
    pass compare_appends_a_depthsolve_row || fail compare_appends_a_depthsolve_row "$(cat "$T/RESULTS.md")"
if grep -q "| cuda |" "$T/RESULTS.md"; then
    pass compare_gpu_rows_on_this_gpu
else
    grep -q "GPU rows left out" <<<"$err" && pass compare_without_gpu_leaves_gpu_rows_out ||
        fail compare_without_gpu_leaves_gpu_rows_out "$err"
fi
# --rounds 3 against a stand-in PyTorch whose network takes 500 ms: three alternating rounds, each
# with its ratio, and the median ratio
mkdir -p "$T/fake/midas"
printf '#!/bin/sh\nexec %s %s "$@"\n' "$PY" "$PWD/tests/fake_pytorch.py" >"$T/fake/python"
chmod +x "$T/fake/python"
err=$(FAKE_PYTORCH_MS=500 "$PY" bench/compare --models midas_v21_small_256 --sizes 64x64 --runs 2 --warmup 0 \
    --folder 1 --rounds 3 --pytorch-python "$T/fake/python" --midas "$T/fake" --depthsolve "$DS_BIN" \
    --results "$T/R6.md" --chart "$T/chart6.png" 2>&1 >/dev/null); rc=$?
rounds=$(grep -c "^Network medians in 3 alternating rounds" "$T/R6.md")
[ $rc -eq 0 ] && [ "$rounds" = 1 ] &&
    grep -Eq '^- midas_v21_small_256 64x64 cpu fp32: ([0-9]+ / 500 \([0-9.]+x\)(, |;)){3} median speed-up \*\*[0-9.]+x\*\*$' \
        "$T/R6.md" && pass compare_rounds_alternate || fail compare_rounds_alternate "exit $rc: $err $(cat "$T/R6.md")"
# --ort-python, --openvino-python: each runtime's row (the stand-in exports the network, ONNX Runtime
# runs it in 250 ms, OpenVINO in 125 ms) and its median in each round
err=$(FAKE_PYTORCH_MS=500 FAKE_ORT_MS=250 FAKE_OV_MS=125 "$PY" bench/compare --models midas_v21_small_256 \
    --sizes 64x64 --runs 2 --warmup 0 --folder 1 --rounds 2 --pytorch-python "$T/fake/python" --midas "$T/fake" \
    --ort-python "$T/fake/python" --openvino-python "$T/fake/python" --depthsolve "$DS_BIN" --results "$T/R8.md" \
    --chart "$T/chart8.png" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && grep -q "| midas_v21_small_256 | 64x64 | cpu | fp32 | ONNX Runtime 0.0+fake | 1.0 | 250.00 / 250.00" "$T/R8.md" &&
    grep -q "| midas_v21_small_256 | 64x64 | cpu | fp32 | OpenVINO 0.0+fake | 1.0 | 125.00 / 125.00" "$T/R8.md" &&
    grep -q "^Network medians in 2 alternating rounds (depthsolve / PyTorch / ONNX Runtime / OpenVINO ms" "$T/R8.md" &&
    grep -Eq '^- midas_v21_small_256 64x64 cpu fp32: ([0-9]+ / 500 / 250 / 125 \([0-9.]+x, [0-9.]+x, [0-9.]+x\)(, |;)){2} median speed-up \*\*[0-9.]+x\*\*, over ONNX Runtime \*\*[0-9.]+x\*\*, over OpenVINO \*\*[0-9.]+x\*\*$' \
        "$T/R8.md" && pass compare_peer_runtime_rows_and_rounds ||
    fail compare_peer_runtime_rows_and_rounds "exit $rc: $err $(cat "$T/R8.md")"
# an --ort-python without onnxruntime: said, and the rest measured
err=$("$PY" bench/compare --models midas_v21_small_256 --sizes 64x64 --runs 1 --warmup 0 --folder 1 \
    --pytorch-python /bin/false --ort-python /bin/false --depthsolve "$DS_BIN" --results "$T/R9.md" \
    --chart "$T/chart9.png" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && grep -q "ONNX Runtime not timed for midas_v21_small_256: onnxruntime cannot be imported by /bin/false" <<<"$err" &&
    ! grep -q "ONNX Runtime" "$T/R9.md" && pass compare_without_onnxruntime || fail compare_without_onnxruntime "exit $rc: $err"
# a PyTorch side that fails: one line naming the model and the runner's own message, exit 1
err=$(FAKE_PYTORCH_FAIL=1 "$PY" bench/compare --models midas_v21_small_256 --sizes 64x64 --runs 1 --warmup 0 \
    --folder 1 --pytorch-python "$T/fake/python" --midas "$T/fake" --depthsolve "$DS_BIN" --results "$T/R10.md" \
    --chart "$T/chart10.png" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [ "$(tail -1 <<<"$err")" = "compare: midas_v21_small_256 64x64: python pytorch_midas.py failed (exit 2): pytorch_midas.py: cannot import the model (fake)" ] &&
    ! grep -q Traceback <<<"$err" && pass compare_pytorch_failure_one_line || fail compare_pytorch_failure_one_line "exit $rc: $err"
expect compare_rounds_positive 1 "--rounds takes 1 or more" -- "$PY" bench/compare --rounds 0 \
    --depthsolve "$DS_BIN" --results "$T/R7.md"
# Depth Anything 3 without its checkout: said, and depthsolve timed alone
err=$("$PY" bench/compare --models da3_small --sizes 28x42 --runs 1 --warmup 0 --folder 1 \
    --depthsolve "$DS_BIN" --results "$T/R3.md" --chart "$T/chart3.png" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && grep -q "PyTorch Depth Anything 3 not available for da3_small: no Depth-Anything-3 checkout" <<<"$err" &&
    grep -q "| da3_small | 28x42 | cpu | fp32 | depthsolve |" "$T/R3.md" &&
    pass compare_da3_without_checkout || fail compare_da3_without_checkout "exit $rc: $err"
expect compare_da3_real_weights 1 "Depth Anything 3 runs on synthetic weights only" -- "$PY" bench/compare \
    --models da3_small --weights "$T" --depthsolve "$DS_BIN" --results "$T/R5.md"
expect compare_unknown_device 1 "--devices takes cpu and cuda" -- "$PY" bench/compare --devices tpu \
    --depthsolve "$DS_BIN" --results "$T/R4.md"
expect compare_unknown_model 1 "unknown model 'midas_v4'" -- "$PY" bench/compare --models midas_v4 \
    --depthsolve "$DS_BIN" --results "$T/R2.md"
# bench/load_bench without a MiDaS checkout: depthsolve alone, idle and beside a busy loop
# that it starts and stops
busy_loops() { pgrep -f "^$PY -c while True: pass$" | wc -l; }
before=$(busy_loops)
err=$("$PY" bench/load_bench --depthsolve "$DS_BIN" --models midas_v21_small_256 --size 64x64 --passes 1 \
    --runs 1 --busy 1 --work "$T/load" --results "$T/LOAD.md" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] && grep -q "timing depthsolve alone" <<<"$err" &&
    grep -q "^| midas_v21_small_256 | depthsolve | [0-9.]* | [0-9.]* | [0-9.]*x |" "$T/LOAD.md" &&
    pass load_bench_times_idle_and_loaded || fail load_bench_times_idle_and_loaded "exit $rc: $err"
[ "$(busy_loops)" -eq "$before" ] && pass load_bench_stops_its_busy_loops ||
    fail load_bench_stops_its_busy_loops "$(busy_loops) busy loops, $before before"
rm -rf "$T"
