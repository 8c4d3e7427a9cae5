#!/usr/bin/env bash
# The library's boundary and the code's layers: libdepthsolve.so exports the
# DS_API functions of depthsolve.h and nothing else; the layer check passes
# on the tree and fails on a planted include that crosses a layer; the test
# runner fails a test binary that ran no test.
. "$(dirname "$0")/shell_lib.sh"

SO="$DS_BUILD/libdepthsolve.so"
if ! command -v nm >/dev/null; then
    echo "SKIP exported_symbols: no nm (apt-get install binutils)"
else
    nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u >"$T/exported"
    sed -n 's/^DS_API [^(]*[ *]\(ds_[a-z0-9_]*\)(.*/\1/p' runtime/depthsolve.h | sort -u >"$T/api"
    if [ "$(wc -l <"$T/api")" -lt 30 ]; then
        fail exported_symbols "read only $(wc -l <"$T/api") DS_API functions from depthsolve.h"
    elif cmp -s "$T/exported" "$T/api"; then
        pass exported_symbols
    else
        fail exported_symbols "exported vs declared: $(comm -3 "$T/exported" "$T/api" | tr -s '\t\n' '  ')"
    fi
fi

# the layer table: the tree passes, a copy with one bad include fails naming it
if scripts/check-layers >"$T/layers" 2>&1; then
    pass layers_of_the_tree
else
    fail layers_of_the_tree "$(tail -3 "$T/layers")"
fi
mkdir -p "$T/tree"
git ls-files -z --cached --others --exclude-standard runtime kernels scripts weights_tools src | xargs -0 cp --parents -t "$T/tree"
(cd "$T/tree" && git init -q . && git add -A)
echo '#include "cpu/ops.h" /* planted */' >>"$T/tree/kernels/nn/add.cu"
(cd "$T/tree" && git add -A)
out=$(scripts/check-layers --root "$T/tree" 2>&1)
if [ $? -ne 0 ] && grep -q 'kernels/nn/add.cu:.*kernels may not include runtime/cpu' <<<"$out"; then
    pass layers_planted_include_fails
else
    fail layers_planted_include_fails "$out"
fi

# the runner: a binary that prints no PASS, FAIL or SKIP line is a failure
if [ -z "${DS_RUNNER_SELF_TEST:-}" ]; then
    mkdir -p "$T/fake/tests"
    printf '#!/bin/sh\necho "all good"\n' >"$T/fake/tests/test_silent"
    chmod +x "$T/fake/tests/test_silent"
    out=$(DS_TEST_TMP="$T/runner-tmp" DS_RUNNER_SELF_TEST=1 DS_RUNNER_ONLY_BINARIES=1 tests/run.sh "$T/fake" 2>&1)
    if [ $? -ne 0 ] && grep -q 'FAIL .*test_silent: ran no test' <<<"$out"; then
        pass runner_fails_a_binary_without_tests
    else
        fail runner_fails_a_binary_without_tests "$out"
    fi
fi
