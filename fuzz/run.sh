#!/usr/bin/env bash
# Runs every libFuzzer target in the given directory for FUZZ_SECONDS each,
# starting from fuzz/corpus/<target>. Crashes land in fuzz/findings/<target>/;
# each one found must be fixed and copied to fuzz/regressions/<target>/.
set -u
dir=${1:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
status=0
for bin in "$dir"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin"); target=${name#fuzz_}
    mkdir -p "fuzz/corpus/$target" "fuzz/findings/$target" "build/fuzz-work/$target"
    echo "== $name: ${secs}s"
    # new corpus entries go to a scratch dir so the committed corpus stays small
    "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="fuzz/findings/$target/" -print_final_stats=1 \
        "build/fuzz-work/$target" "fuzz/corpus/$target" 2>&1 |
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' || true
    if ls "fuzz/findings/$target"/* >/dev/null 2>&1; then
        echo "!! $name: findings in fuzz/findings/$target"
        status=1
    fi
done
exit $status
