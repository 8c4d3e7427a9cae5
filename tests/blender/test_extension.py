"""test_extension.py: the Blender extension in Blender, headless (bpy from
PyPI, run by tests/cli_blender.sh).

The built zip is installed and enabled as a user would; the import operator
runs on the pipeline photo with the synthetic small model on the CPU, and
the scene is checked against the C API's answers for the same photo
(binding_ref, tests/python/binding_ref.c): the mesh's vertices, triangles and
UVs, the material's image, the camera and the render size; a Cycles render
from that camera is compared with the photo (PSNR); a camera move's keyframes
are compared with ds_camera_on_path at each frame's time; errors come back as
one-line reports. Prints PASS/FAIL lines (tests/run.sh).

Environment: DS_EXTENSION_ZIP, BLENDER_USER_RESOURCES (a scratch folder:
nothing touches the user's), and ref_harness's (the C side, the models,
scratch).
"""
import math
import os
import sys

import bpy
import numpy as np
from mathutils import Matrix, Vector

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
import ref_harness  # noqa: E402 - after its folder is on the path
from ref_harness import MODEL, MODELS, PHOTO, TMP, c_focus, c_solve, check, ref  # noqa: E402

ZIP = os.environ["DS_EXTENSION_ZIP"]
EXT = "bl_ext.user_default.depthsolve"
AXES = Matrix(((1, 0, 0), (0, 0, -1), (0, 1, 0)))  # glTF world -> Blender world
# The render from the photo's camera against the photo: 49.8 dB measured (Cycles, 4 samples, pixel-centre
# filter, a grid cell per pixel); a camera one pixel off or a view transform that changes colours falls below 35.
PSNR_MIN_DB = 45.0


def c_side():
    """The C API on the photo: its pixels, depth map and focus, and the meshes of the imports below."""
    rgb, depth, meshes = c_solve("211,CAMERA,0.25,55,1,10,0", "128,PLANE,0.3,55,1,10,0")
    h, w = depth.shape
    return {"rgb": rgb, "w": w, "h": h, "focus": c_focus(depth), "meshes": meshes}


def clear_scene():
    for o in list(bpy.data.objects):
        bpy.data.objects.remove(o)


def new_objects(run):
    """The objects an import adds: (mesh object, camera object)."""
    before = set(bpy.data.objects)
    run()
    added = [o for o in bpy.data.objects if o not in before]
    meshes = [o for o in added if o.type == "MESH"]
    cams = [o for o in added if o.type == "CAMERA"]
    assert len(meshes) == 1 and len(cams) == 1, f"added {[o.name for o in added]}"
    return meshes[0], cams[0]


def test_install():
    result = bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default", enable_on_install=True)
    enabled = EXT in bpy.context.preferences.addons
    check("extension_installs_and_enables", result == {"FINISHED"} and enabled, f"{result}, enabled {enabled}")
    ext = sys.modules[EXT]
    check("operator_registered", hasattr(bpy.ops.depthsolve, "import_photo")
          and bpy.ops.depthsolve.import_photo.idname() == "DEPTHSOLVE_OT_import_photo")
    check("import_menu_entry", ext.operators.menu_import in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize())
    check("sidebar_panel", bpy.types.DEPTHSOLVE_PT_import.bl_space_type == "VIEW_3D"
          and bpy.types.DEPTHSOLVE_PT_import.bl_region_type == "UI" and hasattr(bpy.context.scene, "depthsolve"))
    return ext


def blender_mesh_arrays(me):
    nv, nc = len(me.vertices), len(me.loops)
    co = np.empty(nv * 3, np.float32)
    me.attributes["position"].data.foreach_get("vector", co)
    corners = np.empty(nc, np.int32)
    me.attributes[".corner_vert"].data.foreach_get("value", corners)
    uv = np.empty(nc * 2, np.float32)
    me.uv_layers.active.data.foreach_get("uv", uv)
    return co.reshape(-1, 3), corners.reshape(-1, 3), uv.reshape(-1, 2)


def check_edges(name, me, indices):
    """Blender's edges are those of the triangles, each once, and the mesh
    needs no repair."""
    ev = np.empty(len(me.edges) * 2, np.int32)
    me.attributes[".edge_verts"].data.foreach_get("value", ev)
    got = np.unique(np.sort(ev.reshape(-1, 2), axis=1), axis=0)
    tri = indices.astype(np.int64)
    pairs = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    want = np.unique(pairs, axis=0)
    check(name, len(got) == len(me.edges) and np.array_equal(got, want) and not me.validate(),
          f"{len(me.edges)} edges, {len(want)} wanted")


def read_ppm(path):
    with open(path, "rb") as f:
        magic, w, h, _ = f.readline(), *map(int, f.readline().split()), f.readline()
        return np.frombuffer(f.read(), np.uint8).reshape(h, w, 3)


def test_photo_16bit(ext):
    """A 16-bit PNG, which Blender holds as linear floats, comes back as the
    library reads it (its high bytes) within one step."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    img = bpy.data.images.load(os.path.join(root, "data/images/png_rgb16.png"))
    got = ext.scene.photo_rgb8(img).astype(int)
    want = read_ppm(os.path.join(root, "data/images/png_rgb16.ppm")).astype(int)
    check("photo_pixels_16bit", img.is_float and got.shape == want.shape and np.abs(got - want).max() <= 1,
          f"float {img.is_float}, shape {got.shape} vs {want.shape}, largest difference {np.abs(got - want).max()}")
    bpy.data.images.remove(img)


def test_import_camera(ext, c):
    """Grid 211 (a cell per pixel), camera projection, the photo unlit."""
    clear_scene()
    obj, cam = new_objects(lambda: bpy.ops.depthsolve.import_photo(
        filepath=PHOTO, model=MODEL, device="CPU", grid=211, projection="CAMERA"))
    me, sc, cm = obj.data, bpy.context.scene, c["meshes"][0]
    check("photo_pixels_as_the_library_reads_them",
          np.array_equal(ext.scene.photo_rgb8(bpy.data.images[os.path.basename(PHOTO)]), c["rgb"]))
    check("mesh_counts_for_the_grid", (cm["cols"], cm["rows"]) == (212, 158) and len(me.vertices) == 212 * 158
          and len(me.polygons) == 2 * 211 * 157 and all(p.loop_total == 3 for p in me.polygons[:100]),
          f"{len(me.vertices)} vertices, {len(me.polygons)} faces, C grid {cm['cols']}x{cm['rows']}")
    co, corners, uv = blender_mesh_arrays(me)
    v = cm["vertices"]
    want_co = np.stack([v[:, 0], -v[:, 2], v[:, 1]], 1)
    want_uv = np.stack([v[:, 6], 1.0 - v[:, 7]], 1)[cm["indices"].ravel()]
    check("mesh_vertices_equal_c", np.array_equal(co, want_co), f"largest difference {np.abs(co - want_co).max()}")
    check("mesh_triangles_equal_c", np.array_equal(corners, cm["indices"].astype(np.int32)))
    check("mesh_uv_map_equals_c", me.uv_layers.active.name == "UVMap" and np.array_equal(uv, want_uv))
    check_edges("mesh_edges", me, cm["indices"])
    mat = obj.active_material
    nodes = {n.type: n for n in mat.node_tree.nodes} if mat else {}
    tex, emit = nodes.get("TEX_IMAGE"), nodes.get("EMISSION")
    check("material_shows_the_photo", tex is not None and emit is not None
          and os.path.samefile(bpy.path.abspath(tex.image.filepath), PHOTO)
          and tex.image.colorspace_settings.name == "sRGB"
          and emit.inputs["Color"].links[0].from_node == tex
          and nodes["OUTPUT_MATERIAL"].inputs["Surface"].links[0].from_node == emit, f"{list(nodes)}")
    look = cam.matrix_world.to_3x3() @ Vector((0, 0, -1))  # a camera looks down its -Z: here along +Y
    check("camera_is_the_scene_camera", sc.camera == cam and cam.data.type == "PERSP"
          and cam.location.length == 0.0 and (look - Vector((0, 1, 0))).length < 1e-6,
          f"{sc.camera} {cam.location} {look}")
    fov = 2 * math.atan(cam.data.sensor_width / 2 / cam.data.lens)
    check("camera_field_of_view", cam.data.sensor_fit == "HORIZONTAL" and abs(fov - math.radians(55)) < 1e-5,
          f"{cam.data.sensor_fit} {math.degrees(fov)} degrees")
    check("render_size_is_the_photo", (sc.render.resolution_x, sc.render.resolution_y) == (c["w"], c["h"])
          and sc.render.resolution_percentage == 100 and sc.view_settings.view_transform == "Standard")
    timings = ext.operators.last_timings
    check("import_timings", set(timings) == {"photo", "depth_and_mesh", "blender", "total"}, f"{timings}")

    sc.render.engine = "CYCLES"
    sc.cycles.device = "CPU"
    sc.cycles.samples = 4
    sc.cycles.use_denoising = False
    sc.cycles.filter_width = 0.01  # samples at pixel centres: the texel of each pixel, unblurred
    sc.render.threads_mode = "FIXED"
    sc.render.threads = 2
    sc.render.image_settings.file_format = "PNG"
    sc.render.image_settings.color_mode = "RGB"
    sc.render.filepath = os.path.join(TMP, "render.png")
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(sc.render.filepath)
    got = ext.scene.photo_rgb8(img).astype(np.float64)
    mse = np.mean((got - c["rgb"]) ** 2)
    psnr = 10 * math.log10(255 ** 2 / mse) if mse > 0 else math.inf
    print(f"render from the photo's camera: PSNR {psnr:.2f} dB")
    check("render_gives_the_photo_back", got.shape == c["rgb"].shape and psnr >= PSNR_MIN_DB,
          f"PSNR {psnr:.2f} dB < {PSNR_MIN_DB}")


def test_estimated_camera():
    """Depth Anything 3 small estimates the photo's camera: the import's
    mesh and camera take its field of view (the C API's mesh with fov 0),
    unless the user turns that off."""
    _, _, (cm,) = c_solve("32,CAMERA,0.25,0,1,10,0", model="da3_small")
    yfov = float(cm["view"][0])
    for from_model in (True, False):
        clear_scene()
        obj, cam = new_objects(lambda: bpy.ops.depthsolve.import_photo(
            filepath=PHOTO, model="da3_small", device="CPU", grid=32, projection="CAMERA",
            fov_from_model=from_model))
        co, _, _ = blender_mesh_arrays(obj.data)
        v = cm["vertices"]
        fov = 2 * math.atan(cam.data.sensor_width / 2 / cam.data.lens)  # along the long side (landscape)
        want = 2 * math.atan(math.tan(yfov / 2) * cm["view"][1]) if from_model else math.radians(55)
        name = "estimated" if from_model else "given"
        check(f"da3_{name}_field_of_view", abs(fov - want) < 1e-5 and abs(want - math.radians(55)) > 1e-3
              if from_model else abs(fov - want) < 1e-5, f"{math.degrees(fov)} vs {math.degrees(want)} degrees")
        if from_model:
            check("da3_mesh_equals_c_with_its_estimate", np.array_equal(co, np.stack([v[:, 0], -v[:, 2], v[:, 1]], 1)))


def frame_poses(cam, frames):
    """(position, world -> camera rotation, lens) of the camera at each frame, in glTF axes."""
    sc, out = bpy.context.scene, []
    for f in frames:
        sc.frame_set(f)
        m = cam.matrix_world
        rot = (AXES.transposed() @ m.to_3x3()).transposed()
        out.append((np.array(AXES.transposed() @ m.translation, np.float32), np.array(rot, np.float64),
                    cam.data.lens))
    return out


def check_move(name, cam, motion, strength, focus, near, far, camera_z):
    sc = bpy.context.scene
    n = round(2 * sc.render.fps / sc.render.fps_base)
    frames = list(range(sc.frame_start, sc.frame_start + n))
    steps = n if motion in ("swing", "circle") else n - 1
    times = [repr(float(np.float32(i) / np.float32(steps))) for i in range(n)]
    want = np.array([l.split() for l in ref("path", motion, strength, focus, near, far, 55, *times).splitlines()],
                    np.float32)
    got = frame_poses(cam, frames)
    lens0 = got[0][2] / want[0, 12]
    pos = np.array([g[0] for g in got]) - np.array([0, 0, camera_z], np.float32)
    rot = np.array([g[1].ravel() for g in got])
    scale = np.array([g[2] / lens0 for g in got])
    check(f"{name}_frames", sc.frame_end == sc.frame_start + n - 1, f"{sc.frame_start}..{sc.frame_end}, {n} frames")
    check(f"{name}_positions_equal_c", np.abs(pos - want[:, 0:3]).max() <= 1e-6 * max(1.0, abs(camera_z)),
          f"largest difference {np.abs(pos - want[:, 0:3]).max()}")
    check(f"{name}_rotations_equal_c", np.abs(rot - want[:, 3:12]).max() < 1e-5,
          f"largest difference {np.abs(rot - want[:, 3:12]).max()}")
    check(f"{name}_focal_lengths_equal_c", np.abs(scale - want[:, 12]).max() < 1e-5,
          f"largest difference {np.abs(scale - want[:, 12]).max()}")
    moved = np.abs(want[:, 0:3]).max() > 0.01
    check(f"{name}_moves", moved, "the path did not move the camera")


def test_camera_moves(c):
    clear_scene()
    obj, cam = new_objects(lambda: bpy.ops.depthsolve.import_photo(
        filepath=PHOTO, model=MODEL, device="CPU", grid=64, projection="CAMERA", tear=0.05, camera_move="ZOOM",
        move_seconds=2.0))
    _, corners, _ = blender_mesh_arrays(obj.data)
    full = 2 * 64 * 48
    check("torn_mesh_drops_triangles", 0 < len(corners) < full, f"{len(corners)} of {full} triangles")
    check_edges("torn_mesh_edges", obj.data, corners)
    focus = obj["depthsolve"]["focus"]
    check("move_auto_focus_equals_c", np.float32(focus) == np.float32(c["focus"]), f"{focus} vs {c['focus']}")
    check_move("zoom", cam, "zoom", -1, c["focus"], 1.0, 10.0, 0.0)

    clear_scene()
    obj, cam = new_objects(lambda: bpy.ops.depthsolve.import_photo(
        filepath=PHOTO, model=MODEL, device="CPU", grid=128, projection="PLANE", depth_scale=0.3,
        shading="PRINCIPLED", camera_move="SWING", move_strength=0.1, move_seconds=2.0, move_focus_auto=False,
        move_focus=0.6))
    cm = c["meshes"][1]
    co, corners, _ = blender_mesh_arrays(obj.data)
    v = cm["vertices"]
    check("plane_mesh_equals_c", np.array_equal(co, np.stack([v[:, 0], -v[:, 2], v[:, 1]], 1))
          and np.array_equal(corners, cm["indices"].astype(np.int32)) and (cm["cols"], cm["rows"]) == (129, 96))
    nodes = {n.type: n for n in obj.active_material.node_tree.nodes}
    check("lit_material", "BSDF_PRINCIPLED" in nodes
          and nodes["BSDF_PRINCIPLED"].inputs["Base Color"].links[0].from_node == nodes["TEX_IMAGE"])
    cz = float(cm["view"][2])
    check_move("swing_plane", cam, "swing", 0.1, 0.6, cz - 0.3, cz, cz)


def import_error(**props):
    """The one-line report of a failing import, and whether it added objects."""
    before = len(bpy.data.objects)
    try:
        bpy.ops.depthsolve.import_photo(**props)
    except RuntimeError as e:
        return str(e).strip(), len(bpy.data.objects) != before
    return None, len(bpy.data.objects) != before


def check_error(name, needles, **props):
    msg, added = import_error(**props)
    ok = msg is not None and not added and "\n" not in msg and "Traceback" not in msg and all(n in msg for n in needles)
    check(name, ok, f"report {msg!r}, objects added: {added}")


def test_errors_and_store(ext):
    prefs = bpy.context.preferences.addons[EXT].preferences
    check_error("error_missing_photo", [f"{TMP}/none.png: no such file"], filepath=f"{TMP}/none.png", model=MODEL)
    with open(f"{TMP}/text.png", "w") as f:
        f.write("not a picture\n")
    check_error("error_not_an_image", [f"{TMP}/text.png: cannot be read as an image"], filepath=f"{TMP}/text.png",
                model=MODEL)
    check("error_leaves_no_image", "text.png" not in bpy.data.images, f"{list(bpy.data.images)}")
    with open(f"{TMP}/junk.gguf", "wb") as f:
        f.write(b"GGUF" + bytes(60))
    check_error("error_corrupt_model", [f"{TMP}/junk.gguf"], filepath=PHOTO, model=f"{TMP}/junk.gguf", device="CPU")
    empty = os.path.join(TMP, "empty-store")
    os.makedirs(empty, exist_ok=True)
    prefs.models_dir = empty
    check_error("error_model_not_in_store", [f"model {MODEL} is not in {empty}", f"depthsolve fetch {MODEL}"],
                filepath=PHOTO, model=MODEL, device="CPU")
    check_error("error_no_model_at_all", [f"no model in {empty}", "depthsolve fetch"], filepath=PHOTO, device="CPU")
    check("panel_lists_no_model", ext.panel.store_models(bpy.context) == [])
    prefs.models_dir = MODELS  # a preference pointing at another store: models by name come from there
    names = [name for name, _ in ext.panel.store_models(bpy.context)]
    check("panel_lists_the_store", MODEL in names, f"{names}")
    clear_scene()
    obj, _ = new_objects(lambda: bpy.ops.depthsolve.import_photo(filepath=PHOTO, device="CPU", grid=16))
    check("default_model_from_the_preferred_store", obj["depthsolve"]["model"] == MODEL, obj["depthsolve"]["model"])


def main():
    ext = test_install()
    c = c_side()
    # models by name come from the extension's preference only (its folder is the CLI's store by default)
    os.environ["DEPTHSOLVE_MODELS"] = os.path.join(TMP, "no-store")
    bpy.context.preferences.addons[EXT].preferences.models_dir = MODELS
    for test in (lambda: test_photo_16bit(ext), lambda: test_import_camera(ext, c), lambda: test_camera_moves(c), test_estimated_camera,
                 lambda: test_errors_and_store(ext)):
        try:
            test()
        except Exception as e:  # noqa: BLE001 - reported as one failure, the rest still runs
            check("no_exception", False, f"{type(e).__name__}: {e}")
    return 1 if ref_harness.failures else 0


if __name__ == "__main__":
    sys.exit(main())
