"""ref_harness.py: what the binding's and the Blender extension's tests share:
PASS/FAIL lines (tests/run.sh), and the C API's answers through binding_ref
(tests/python/binding_ref.c) for the pipeline photo and the synthetic model.

Environment: BINDING_REF (the C side), DS_MODELS (the synthetic models),
DS_TEST_DIR (scratch)."""
import os
import subprocess

import numpy as np

REF = os.environ["BINDING_REF"]
MODELS = os.environ["DS_MODELS"]
TMP = os.environ["DS_TEST_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTO = os.path.join(ROOT, "tests/data/reference/midas_v21_small_256/pipeline_211x157/image.png")
MODEL = "midas_v21_small_256"
failures = 0


def check(name, ok, detail=""):
    global failures
    if ok:
        print(f"PASS {name}")
    else:
        failures += 1
        print(f"FAIL {name}: {detail}")


def ref(*args):
    out = subprocess.run([REF, *map(str, args)], capture_output=True, text=True,
                         env={**os.environ, "DEPTHSOLVE_MODELS": MODELS})
    if out.returncode != 0:
        raise RuntimeError(f"binding_ref {' '.join(map(str, args))}: {out.stderr.strip()}")
    return out.stdout


def c_solve(*meshes, model=MODEL):
    """The C API on PHOTO with a model (MODEL) on the CPU (one binding_ref process): the
    decoded photo (H, W, 3), its depth map, and for each mesh spec
    "GRID,PLANE|CAMERA,DEPTH_SCALE,FOV,NEAR,FAR,TEAR" the mesh's arrays and fields."""
    lines = ref("solve", model, "cpu", PHOTO, f"{TMP}/c", *meshes).splitlines()
    w, h = map(int, lines[0].split())
    rgb = np.fromfile(f"{TMP}/c.rgb", np.uint8).reshape(h, w, 3)
    depth = np.fromfile(f"{TMP}/c.depth", np.float32).reshape(h, w)
    out = []
    for k, line in enumerate(lines[1:]):
        f = line.split()
        out.append({"vertices": np.fromfile(f"{TMP}/c.mesh{k}.vertices", np.float32).reshape(-1, 8),
                    "indices": np.fromfile(f"{TMP}/c.mesh{k}.indices", np.uint32).reshape(-1, 3),
                    "depth": np.fromfile(f"{TMP}/c.mesh{k}.depth", np.float32).reshape(h, w),
                    "n_vertices": int(f[0]), "n_triangles": int(f[1]), "cols": int(f[2]), "rows": int(f[3]),
                    "view": np.array(f[4:7], np.float32), "bounds": np.array(f[7:13], np.float32)})
    return rgb, depth, out


def c_focus(depth):
    """ds_depth_focus of a depth map, in C."""
    path = f"{TMP}/focus.f32"
    np.ascontiguousarray(depth, np.float32).tofile(path)
    return float(ref("focus", path, depth.shape[1], depth.shape[0]))
