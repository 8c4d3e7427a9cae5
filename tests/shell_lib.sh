# shell_lib.sh: helpers for the shell tests (sourced). DS_BIN is the depthsolve
# binary under test, DS_TEST_TMP a scratch directory.
T=$(mktemp -d "${DS_TEST_TMP:-/tmp}/cli.XXXXXX")
PY=${PYTHON:-/usr/bin/python3}
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
has_numpy() { "$PY" -c 'import numpy' 2>/dev/null; }
# make_png PATH W H: an RGB gradient photo (Python's standard library only)
make_png() {
    "$PY" - "$@" <<'PYEOF'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = b"".join(b"\0" + bytes((x * 2 + y + c * 40) % 256 for x in range(w) for c in range(3)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                       chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PYEOF
}

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
