#!/usr/bin/env bash
# The Blender extension in headless Blender (bpy from PyPI, installed by
# scripts/install-bpy into a cached venv): tests/blender/test_extension.py
# installs build/depthsolve-blender.zip and checks imports, renders and
# camera moves against the C API. Once, in the plain build: Blender's own
# Python cannot load the sanitizer build's library.
. "$(dirname "$0")/shell_lib.sh"

if ldd "$DS_BUILD/libdepthsolve.so" | grep -q libasan; then
    echo "SKIP blender_extension: runs in the plain build (bpy cannot load the ASan library)"
    exit 0
fi
BPY_PY=$(scripts/install-bpy --python)
if [ ! -x "$BPY_PY" ]; then
    echo "SKIP blender_extension: no bpy at $BPY_PY (scripts/install-bpy installs it, ~1 min, 1 GB)"
    exit 0
fi
ZIP=$DS_BUILD/depthsolve-blender.zip
if [ ! -f "$ZIP" ]; then
    fail blender_extension "$ZIP is missing (make blender-extension)"
    exit 0
fi
mkdir -p "$T/blender-user"
DS_EXTENSION_ZIP=$(realpath "$ZIP") BINDING_REF=$(realpath "$DS_BUILD/tests/python/binding_ref") \
    DS_MODELS=$(realpath "${DS_MODELS:-build/models}") DEPTHSOLVE_MODELS=$(realpath "${DS_MODELS:-build/models}") \
    DS_TEST_DIR=$T BLENDER_USER_RESOURCES=$T/blender-user \
    "$BPY_PY" tests/blender/test_extension.py || fail blender_extension "test_extension.py exited with status $?"
