#!/usr/bin/env python3
"""test_binding.py: the Python binding (python/depthsolve) against the C API.

The C side is binding_ref (tests/python/binding_ref.c): the same photo,
model and parameters through the C calls; depth maps, meshes, focus and
camera poses must be equal element for element. Then the errors: bad
images, missing and broken models, wrong devices, a missing library.
Prints PASS/FAIL lines (tests/run.sh).

Environment: DEPTHSOLVE_LIBRARY (the libdepthsolve.so under test),
PYTHONPATH with python/, and ref_harness's (the C side, the models, scratch).
"""
import ctypes
import gc
import os
import subprocess
import sys

import numpy as np

import depthsolve as ds
from depthsolve import _native

from ref_harness import MODEL, MODELS, ROOT, TMP, c_focus, c_solve, check, ref
import ref_harness

os.environ["DEPTHSOLVE_MODELS"] = MODELS  # models by name resolve in the synthetic models' store


def raises(name, fn, exc, *needles):
    """fn() raises exc whose one-line message holds every needle."""
    try:
        fn()
    except exc as e:
        msg = str(e)
        missing = [n for n in needles if n not in msg]
        check(name, not missing and "\n" not in msg, f"message {msg!r} lacks {missing}")
        return
    except Exception as e:  # noqa: BLE001 - the wrong kind is the failure reported
        check(name, False, f"raised {type(e).__name__}: {e}")
        return
    check(name, False, f"no {exc.__name__} raised")


def test_layout():
    """Every struct the binding mirrors has C's size and field offsets."""
    structs = {"ds_engine_params": _native.EngineParams, "ds_model_info": _native.ModelInfo,
               "ds_solve_params": _native.SolveParams, "ds_mesh_params": _native.MeshParams,
               "ds_mesh": _native.Mesh, "ds_convert_params": _native.ConvertParams,
               "ds_scene_params": _native.SceneParams, "ds_camera": _native.Camera,
               "ds_path_params": _native.PathParams}
    seen = set()
    for line in ref("layout").splitlines():
        name, size, *fields = line.split()
        seen.add(name)
        cls = structs[name]
        c_fields = dict(f.split(":") for f in fields)
        py_fields = {f: str(getattr(cls, f).offset) for f, _ in cls._fields_}
        check(f"layout_{name}", int(size) == ctypes.sizeof(cls) and c_fields == py_fields,
              f"C size {size} fields {c_fields}, ctypes size {ctypes.sizeof(cls)} fields {py_fields}")
    check("layout_every_struct", seen == set(structs), f"C printed {sorted(seen)}")


MESHES = [("camera_grid37_tear", dict(grid=37, projection="camera", depth_scale=0.25, fov=40.0, near=0.5, far=7.0,
                                      tear=0.05)),
          ("plane_pixel", dict(grid="pixel", projection="plane", depth_scale=0.4, fov=55.0, near=1.0, far=10.0,
                               tear=0.0))]


def c_side():
    """The C API's answers for the photo: its pixels, its depth map, and the
    mesh of each case of MESHES."""
    specs = []
    for _, p in MESHES:
        grid = 0 if p["grid"] == "pixel" else p["grid"]
        specs.append(f"{grid},{p['projection'].upper()},{p['depth_scale']},{p['fov']},{p['near']},{p['far']},"
                     f"{p['tear']}")
    return c_solve(*specs)


def test_depth(engine, rgb, want):
    h, w = rgb.shape[:2]
    got = engine.depth(rgb)
    check("depth_equals_c", got.dtype == np.float32 and got.shape == (h, w) and np.array_equal(got, want),
          f"shape {got.shape} {got.dtype}, largest difference {np.abs(got - want).max()}")
    padded = np.zeros((h, w + 5, 3), np.uint8)
    padded[:, :w] = rgb
    view = padded[:, :w]  # rows 3 (w + 5) bytes apart: passed with its stride, not copied
    check("depth_of_padded_rows", np.array_equal(engine.depth(view), want))
    check("depth_of_fortran_order", np.array_equal(engine.depth(np.asfortranarray(rgb)), want))
    focus = c_focus(want)
    check("focus_equals_c", ds.depth_focus(got) == np.float32(focus), f"{ds.depth_focus(got)} vs {focus}")


def test_prepare(rgb, want):
    """prepare() then depth(): the same map; the engine's log would show no second plan (C test)."""
    with ds.Engine(os.path.join(MODELS, MODEL + ".gguf"), device="cpu", threads=2) as e:
        e.prepare(rgb.shape)
        check("prepare_then_depth_equals_c", np.array_equal(e.depth(rgb), want))
        raises("prepare_bad_size", lambda: e.prepare((0, 5)), ds.DepthsolveError, "")


def check_edges(name, m):
    """Mesh.edges: every triangle side once, lower vertex first, and each
    corner's edge joining it to the next corner."""
    edges, corner_edge = m.edges()
    tri = m.indices.astype(np.int64)
    nxt = np.roll(tri, -1, axis=1)
    sides = np.unique(np.stack([np.minimum(tri, nxt).ravel(), np.maximum(tri, nxt).ravel()], 1), axis=0)
    ok = (edges.dtype == np.int32 and corner_edge.shape == (tri.size,) and np.array_equal(edges, sides)
          and np.array_equal(np.sort(edges[corner_edge], 1), np.sort(np.stack([tri.ravel(), nxt.ravel()], 1), 1)))
    check(f"mesh_{name}_edges", ok, f"{len(edges)} edges, {len(sides)} triangle sides")


def test_mesh(engine, rgb, depth, c_meshes):
    for (name, p), c in zip(MESHES, c_meshes):
        m = engine.mesh(rgb, with_depth=True, **p)
        check(f"mesh_{name}_arrays", m.vertices.dtype == np.float32 and m.indices.dtype == np.uint32
              and np.array_equal(m.vertices, c["vertices"]) and np.array_equal(m.indices, c["indices"]),
              f"{m.vertices.shape} vs {c['vertices'].shape}, {m.indices.shape} vs {c['indices'].shape}")
        fields = (m.cols == c["cols"] and m.rows == c["rows"] and len(m.vertices) == c["n_vertices"]
                  and len(m.indices) == c["n_triangles"]
                  and np.array_equal(np.array([m.yfov, m.aspect, m.camera_z], np.float32), c["view"])
                  and np.array_equal(np.concatenate([m.bounds_min, m.bounds_max]), c["bounds"]))
        check(f"mesh_{name}_fields", fields, f"{m.cols}x{m.rows} {m.yfov} {m.aspect} {m.camera_z} vs {c}")
        check(f"mesh_{name}_depth", np.array_equal(m.depth, depth) and np.array_equal(c["depth"], depth))
        full = 2 * (m.cols - 1) * (m.rows - 1)
        check(f"mesh_{name}_triangles", len(m.indices) < full if p["tear"] > 0 else len(m.indices) == full,
              f"{len(m.indices)} of {full} triangles kept with tear {p['tear']}")
        built = ds.mesh_build(depth, **p)
        check(f"mesh_build_{name}", np.array_equal(built.vertices, c["vertices"])
              and np.array_equal(built.indices, c["indices"]))
        check_edges(name, built)
    # the arrays are the library's memory: they outlive the Mesh and the engine's next calls
    m = engine.mesh(rgb, grid=8)
    v, i = m.vertices, m.indices
    want_v, want_i = v.copy(), i.copy()
    del m
    gc.collect()
    engine.mesh(rgb, grid=9)
    check("mesh_arrays_outlive_mesh", np.array_equal(v, want_v) and np.array_equal(i, want_i))


def test_camera_paths():
    for motion in ds.motions():
        for strength, focus, near, far, fov in ((None, 0.37, 1.0, 10.0, 55.0), (0.2, 0.9, 0.5, 4.0, 70.0)):
            times = ds.frame_times(9, motion)
            lines = ref("path", motion, -1 if strength is None else strength, focus, near, far, fov,
                        *[repr(t) for t in times]).splitlines()
            want = np.array([l.split() for l in lines], np.float32)
            got = []
            for t in times:
                pose = ds.camera_on_path(t, motion, strength, focus, near, far, fov)
                got.append(np.concatenate([pose.position, pose.rotation.ravel(), [pose.focal_scale]]))
            got = np.array(got, np.float32)
            check(f"camera_path_{motion}_{strength}", np.array_equal(got, want),
                  f"largest difference {np.abs(got - want).max()}")
    loop, one_way = ds.frame_times(4, "circle"), ds.frame_times(4, "zoom")
    check("frame_times_as_animate", loop == [0.0, 0.25, 0.5, 0.75] and one_way[-1] == 1.0, f"{loop} {one_way}")
    raises("camera_path_bad_motion", lambda: ds.camera_on_path(0.5, "spin"), ValueError, "spin", "zoom")
    raises("camera_path_bad_t", lambda: ds.camera_on_path(1.5), ds.DepthsolveError, "t 1.5")


def test_store(rgb):
    names = [n for n, _ in ds.list_models()]
    check("store_lists_models", MODEL in names, f"{names}")
    e = ds.Engine(MODEL, device="cpu")
    info = e.info
    check("store_resolves_name", os.path.samefile(info.path, os.path.join(MODELS, MODEL + ".gguf")), info.path)
    check("model_info", info.arch == MODEL and info.net_size == 256 and info.input_multiple == 32
          and info.device == "cpu" and info.n_params > 0 and len(info.mean) == 3, f"{info}")
    empty = os.path.join(TMP, "empty-store")
    os.makedirs(empty, exist_ok=True)
    raises("missing_model_says_fetch", lambda: ds.Engine(MODEL, models_dir=empty), ds.DepthsolveError,
           f"model {MODEL} is not in {empty}", f"depthsolve fetch {MODEL}")
    check("override_store_lists_nothing", ds.list_models(empty) == [])
    e.close()
    raises("closed_engine", lambda: e.depth(rgb), ValueError, "closed")


def test_errors(engine, rgb):
    raises("image_not_array", lambda: engine.depth(rgb.tolist()), TypeError, "NumPy array", "list")
    raises("image_float", lambda: engine.depth(rgb.astype(np.float32) / 255), TypeError, "float32", "uint8")
    raises("image_gray_2d", lambda: engine.depth(rgb[:, :, 0]), ValueError, "(157, 211)", "(H, W, 3)")
    raises("image_rgba", lambda: engine.depth(np.dstack([rgb, rgb[:, :, :1]])), ValueError, "(157, 211, 4)")
    raises("image_empty", lambda: engine.depth(rgb[:0]), ValueError, "empty")
    raises("mesh_bad_grid", lambda: engine.mesh(rgb, grid="fine"), ValueError, "grid 'fine'")
    raises("mesh_bad_projection", lambda: engine.mesh(rgb, projection="sphere"), ValueError, "sphere")
    raises("mesh_bad_params_from_library", lambda: engine.mesh(rgb, near=5.0, far=1.0), ds.DepthsolveError,
           "near 5 and far 1")
    raises("depth_map_3d", lambda: ds.mesh_build(np.zeros((4, 4, 1), np.float32)), ValueError, "(H, W)")
    model = os.path.join(MODELS, MODEL + ".gguf")
    raises("device_unknown", lambda: ds.Engine(model, device="tpu"), ValueError, "device 'tpu'", "cuda-emu")
    raises("device_not_string", lambda: ds.Engine(model, device=1), TypeError, "device")
    raises("device_missing_gpu", lambda: ds.Engine(model, device="cuda:99"), ds.DepthsolveError, "CUDA")
    raises("threads_negative", lambda: ds.Engine(model, threads=-2), ValueError, "threads -2")
    raises("precision_unknown", lambda: ds.Engine(model, precision="fp8"), ValueError, "precision 'fp8'", "bf16")
    levit = os.path.join(MODELS, "dpt_levit_224.gguf")  # refused by the library whatever the CPU: reached it
    raises("precision_bf16_reaches_library", lambda: ds.Engine(levit, device="cpu", precision="bf16"),
           ds.DepthsolveError, "precision bf16: its third stage")
    raises("model_unknown_name", lambda: ds.Engine("midas_v9"), ds.DepthsolveError, "unknown model 'midas_v9'",
           MODEL)
    raises("model_missing_file", lambda: ds.Engine(f"{TMP}/none/x.gguf"), ds.DepthsolveError,
           f"{TMP}/none/x.gguf: no such model file")
    junk = os.path.join(TMP, "junk.gguf")
    with open(junk, "wb") as f:
        f.write(b"GGUF" + bytes(60))
    raises("model_corrupt", lambda: ds.Engine(junk), ds.DepthsolveError, junk)
    pt = os.path.join(ROOT, "tests/data/checkpoints/basic_zip.pt")  # a real checkpoint, not a MiDaS one
    before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    raises("model_checkpoint_converted_and_refused", lambda: ds.Engine(pt), ds.DepthsolveError, "basic_zip.pt")
    left = set(os.listdir(os.environ.get("TMPDIR", "/tmp"))) - before
    check("model_checkpoint_leaves_no_file", not [f for f in left if f.startswith("depthsolve-")], f"{left}")
    out = subprocess.run([sys.executable, "-c", "import depthsolve; depthsolve.Engine('x.gguf')"],
                         capture_output=True, text=True, env={**os.environ, "DEPTHSOLVE_LIBRARY": f"{TMP}/no.so"})
    check("library_missing", out.returncode != 0 and "LibraryNotFound" in out.stderr
          and f"{TMP}/no.so: no such file" in out.stderr, out.stderr[-300:])


def test_bundled_fallback():
    """A library whose dependency the system lacks loads through the copy
    carried in libs/ beside the package (what the Blender extension ships):
    a stand-in libdepthsolve.so needing libdsdep.so, built here."""
    cc = os.environ.get("CC", "cc")
    pkg = os.path.join(TMP, "bundled", "depthsolve")
    os.makedirs(os.path.join(pkg, "libs"), exist_ok=True)
    for f in os.listdir(os.path.dirname(ds.__file__)):
        if f.endswith(".py"):
            with open(os.path.join(os.path.dirname(ds.__file__), f), "rb") as src, \
                    open(os.path.join(pkg, f), "wb") as dst:
                dst.write(src.read())
    with open(os.path.join(TMP, "dep.c"), "w") as f:
        f.write("int ds_dep_value(void) { return 42; }\n")
    with open(os.path.join(TMP, "lib.c"), "w") as f:
        f.write("int ds_dep_value(void);\nint ds_probe(void) { return ds_dep_value() + 1; }\n")
    try:
        # named by its soname, as the extension's libs/ are (the loader matches loaded libraries by it)
        subprocess.run([cc, "-shared", "-fPIC", "-Wl,-soname,libdsdep.so", "-o",
                        os.path.join(pkg, "libs", "libdsdep.so"), os.path.join(TMP, "dep.c")],
                       check=True, capture_output=True)
        subprocess.run([cc, "-shared", "-fPIC", "-o", os.path.join(pkg, "libdepthsolve.so"), os.path.join(TMP, "lib.c"),
                        "-L" + os.path.join(pkg, "libs"), "-ldsdep"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"SKIP bundled_dependencies: cannot build the stand-in libraries with {cc}: {e}")
        return
    code = "from depthsolve import _native; print(_native.load_library().ds_probe())"
    env = {k: v for k, v in os.environ.items() if k not in ("DEPTHSOLVE_LIBRARY", "LD_PRELOAD")}
    env["PYTHONPATH"] = os.path.dirname(pkg)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    check("bundled_dependencies_load", out.stdout.strip() == "43", out.stdout + out.stderr[-300:])
    os.remove(os.path.join(pkg, "libs", "libdsdep.so"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    check("bundled_dependencies_missing", out.returncode != 0 and "libdsdep.so" in out.stderr
          and "libdepthsolve.so could not be loaded" in out.stderr, out.stderr[-300:])


def test_estimated_camera(rgb):
    """fov=0: Depth Anything 3 small's own estimate of the photo's camera,
    as the C API's ds_engine_mesh_rgb8 gives it; MiDaS says it has none."""
    _, _, (cm,) = c_solve("32,CAMERA,0.25,0,1,10,0", model="da3_small")
    with ds.Engine(os.path.join(MODELS, "da3_small.gguf"), device="cpu", threads=2) as e:
        m = e.mesh(rgb, grid=32, projection="camera", fov=0)
        given = e.mesh(rgb, grid=32, projection="camera", fov=55).yfov
        check("estimated_camera_info", e.info.camera and not ds.Engine(os.path.join(MODELS, MODEL + ".gguf")).info.camera)
    check("estimated_camera_mesh_equals_c", np.array_equal(m.vertices, cm["vertices"])
          and np.float32(m.yfov) == cm["view"][0] and abs(m.yfov - given) > 1e-3,
          f"yfov {m.yfov} vs {cm['view'][0]} (55 degrees: {given})")


def main():
    test_layout()
    rgb, depth, c_meshes = c_side()
    engine = ds.Engine(os.path.join(MODELS, MODEL + ".gguf"), device="cpu", threads=2)
    test_depth(engine, rgb, depth)
    test_prepare(rgb, depth)
    test_mesh(engine, rgb, depth, c_meshes)
    test_camera_paths()
    test_errors(engine, rgb)
    test_store(rgb)
    test_bundled_fallback()
    test_estimated_camera(rgb)
    engine.close()
    return 1 if ref_harness.failures else 0


if __name__ == "__main__":
    sys.exit(main())
