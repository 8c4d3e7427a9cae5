# shell_lib.sh: helpers for the shell tests (sourced). DS_BIN is the depthsolve
# binary under test, DS_TEST_TMP a scratch directory.
T=$(mktemp -d "${DS_TEST_TMP:-/tmp}/cli.XXXXXX")
PY=${PYTHON:-/usr/bin/python3}
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
has_numpy() { "$PY" -c 'import numpy' 2>/dev/null; }

# expect NAME STATUS NEEDLE -- command...: exit status and a stderr substring
expect() {
    local name=$1 want=$2 needle=$3
    shift 4
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit $rc, wanted $want: $err"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$err"; then
        fail "$name" "stderr lacks '$needle': $err"
    elif [ "$want" -ne 0 ] && [ "$(grep -c . <<<"$err")" -gt 2 ]; then
        fail "$name" "more than a one-line error (plus hint): $err"
    else
        pass "$name"
    fi
}
