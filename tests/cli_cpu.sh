#!/usr/bin/env bash
# How the CPU backend runs, as `info` (no file) and `bench` print it: the
# default thread count and why (affinity: taskset), the kernels' instruction
# set and why (DS_CPU_ISA), one-line errors for a path this build or CPU lacks;
# `bench --prepare` times ds_engine_prepare_size apart (text and JSON), not with --image.
. "$(dirname "$0")/shell_lib.sh"
M=${DS_MODELS:-build/models}/midas_v21_small_256.gguf
cpus=$(nproc)

out=$("$DS_BIN" info 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^CPU: $cpus threads\? (affinity $cpus CPU" <<<"$out" &&
    pass info_says_threads_and_why || fail info_says_threads_and_why "exit $rc, nproc $cpus: $out"
grep -q "kernels (the best this CPU runs; DS_CPU_ISA overrides)" <<<"$out" &&
    pass info_says_kernels_and_why || fail info_says_kernels_and_why "$out"
out=$(taskset -c 0 "$DS_BIN" info 2>&1)
grep -q "^CPU: 1 thread (affinity 1 CPU," <<<"$out" && pass info_follows_taskset ||
    fail info_follows_taskset "$out"
out=$(DS_CPU_ISA=portable "$DS_BIN" info 2>&1)
grep -q "portable kernels (DS_CPU_ISA=portable)" <<<"$out" && pass info_follows_ds_cpu_isa ||
    fail info_follows_ds_cpu_isa "$out"
expect info_unknown_isa 1 "DS_CPU_ISA=avx9: unknown" -- env DS_CPU_ISA=avx9 "$DS_BIN" info
expect bench_unknown_isa 1 "DS_CPU_ISA=avx9: unknown" -- env DS_CPU_ISA=avx9 "$DS_BIN" bench \
    --model "$M" --size 32x32 --runs 1 --warmup 0 --device cpu
expect bench_size_past_the_limit 2 "--size takes HxW, sides up to 8192" -- "$DS_BIN" bench \
    --model "$M" --size 99999x99999 --runs 1 --warmup 0 --device cpu

out=$(taskset -c 0 "$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^CPU: 1 thread (affinity 1 CPU, .*), [a-z0-9]* kernels" <<<"$out" &&
    pass bench_says_threads_and_why || fail bench_says_threads_and_why "exit $rc: $out"
out=$(DS_CPU_ISA=portable "$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu \
    --threads 3 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^CPU: 3 threads (--threads; default .*), portable kernels" <<<"$out" &&
    pass bench_says_threads_asked_and_kernels || fail bench_says_threads_asked_and_kernels "exit $rc: $out"
out=$("$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu --json 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '"threads_why": "affinity .*", "cpu_isa": "[a-z0-9]*"}' <<<"$out" &&
    pass bench_json_says_threads_and_kernels || fail bench_json_says_threads_and_kernels "exit $rc: $out"
out=$("$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu --prepare 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "network 32x64 on cpu: load [0-9.]* ms (RSS [0-9.]* MiB), prepare [0-9.]* ms, first run" \
    <<<"$out" && pass bench_prepare_timed_apart || fail bench_prepare_timed_apart "exit $rc: $out"
out=$("$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu --json 2>&1)
out2=$("$DS_BIN" bench --model "$M" --size 32x64 --runs 1 --warmup 0 --device cpu --json --prepare 2>&1)
grep -q '"prepare_ms": -1.000, "first_ms"' <<<"$out" &&
    grep -Eq '"prepare_ms": [0-9]+\.[0-9]+, "first_ms"' <<<"$out2" && pass bench_json_prepare_ms ||
    fail bench_json_prepare_ms "$out / $out2"
expect bench_prepare_not_with_image 2 "--prepare times the network alone: not with --image" -- "$DS_BIN" bench \
    --model "$M" --image tests/data/photos/missing.png --prepare
rm -rf "$T"
