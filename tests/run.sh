#!/usr/bin/env bash
# Runs every test of the given build directories (plain and sanitizer builds)
# and prints one "N passed, N failed" line at the end; exits 1 on any failure.
#   tests/run.sh build build/asan
# Test binaries print "PASS name"/"FAIL name" lines; shell tests (tests/cli_*.sh)
# do the same. A binary that crashes or exits non-zero without a FAIL line
# counts as one failure, and so does one that ran no test (no PASS, FAIL or
# SKIP line): a test that cannot run must say why. Each line ends with the
# seconds it took.
set -u
cd "$(dirname "$0")/.."
export DS_TEST_TMP=${DS_TEST_TMP:-$(mktemp -d)}
trap 'rm -rf "$DS_TEST_TMP"' EXIT
pass=0
fail=0
failed_names=()

run_one() { # label command...
    local label=$1; shift
    local out rc t0=$SECONDS
    out=$("$@" 2>&1); rc=$?
    local p f s
    p=$(grep -c '^PASS ' <<<"$out")
    f=$(grep -c '^FAIL ' <<<"$out")
    s=$(grep -c '^SKIP ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        out+=$'\n'"FAIL $label: exit status $rc"
    elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        f=1
        out+=$'\n'"FAIL $label: ran no test"
    fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$label")
        printf '%s\n' "--- $label" "$out" | grep -v '^PASS '
    fi
    printf '%-52s %4d passed, %d failed %5ds\n' "$label" "$p" "$f" $((SECONDS - t0))
}

for build in "$@"; do
    [ -d "$build/tests" ] || { echo "no test binaries in $build (run make test)"; exit 2; }
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$t" "$t"
    done
    for t in "$build"/fuzz-replay/fuzz_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        run_one "$t (corpus)" "$t" "fuzz/corpus/${name#fuzz_}" "fuzz/regressions/${name#fuzz_}"
    done
    [ -n "${DS_RUNNER_ONLY_BINARIES:-}" ] && continue # the runner's own test (cli_layout.sh)
    for t in tests/cli_*.sh; do
        [ -f "$t" ] || continue
        run_one "$t ($build)" env DS_BIN="$build/depthsolve" DS_BUILD="$build" bash "$t"
    done
done

if [ "$fail" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
