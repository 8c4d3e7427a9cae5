#!/usr/bin/env bash
# The Python binding (python/depthsolve) on this build's libdepthsolve.so:
# tests/python/test_binding.py compares it with the C API (binding_ref) and
# checks its errors; in the sanitizer build the library runs under ASan
# inside /usr/bin/python3 (the runtime preloaded). The plain build also
# checks that `pip install ./python` installs a package that finds the
# library beside itself.
. "$(dirname "$0")/shell_lib.sh"

if ! has_numpy; then
    echo "SKIP python_binding: $PY has no NumPy (apt-get install python3-numpy)"
    exit 0
fi
LIB=$(realpath "$DS_BUILD/libdepthsolve.so")
export DEPTHSOLVE_LIBRARY=$LIB BINDING_REF=$DS_BUILD/tests/python/binding_ref DS_TEST_DIR=$T
export DS_MODELS=${DS_MODELS:-build/models} PYTHONPATH=$PWD/python TMPDIR=$T
if ldd "$LIB" | grep -q libasan; then
    # Python is not instrumented: the runtime comes first; Python's own allocations leak by design
    export LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)"
    export ASAN_OPTIONS=detect_leaks=0
fi
"$PY" tests/python/test_binding.py || fail python_binding "test_binding.py exited with status $?"
unset LD_PRELOAD
[ -n "${ASAN_OPTIONS:-}" ] && exit 0

# pip install ./python, the library copied beside the package: found there without DEPTHSOLVE_LIBRARY
if ! "$PY" -m pip --version >/dev/null 2>&1; then
    echo "SKIP pip_install: $PY has no pip (apt-get install python3-pip)"
    exit 0
fi
cp -r python "$T/src"
cp "$LIB" "$T/src/depthsolve/"
if ! out=$("$PY" -m pip install -q --no-deps --no-build-isolation --no-index --target "$T/site" "$T/src" 2>&1); then
    fail pip_install "$out"
    exit 0
fi
pass pip_install
model=$(realpath "$DS_MODELS")/midas_v21_small_256.gguf
out=$(cd "$T" && env -u DEPTHSOLVE_LIBRARY PYTHONPATH="$T/site" "$PY" -c '
import depthsolve, os, sys
from depthsolve import _native
e = depthsolve.Engine(sys.argv[1], device="cpu")
print(os.path.realpath(_native.lib()._name), e.info.arch)' "$model" 2>&1)
if [ "$out" = "$(realpath "$T/site/depthsolve/libdepthsolve.so") midas_v21_small_256" ]; then
    pass pip_installed_finds_its_library
else
    fail pip_installed_finds_its_library "$out"
fi
