"""blender_import.py: click to object in the scene for the Blender extension,
split into its steps (run by bench/blender_import.sh, in bpy's Python).

A W x H photo (12 MP by default) is written as a PNG, then imported with the
operator at each grid; for each run: the photo (Blender's decode, its pixels
to RGB8), depth and mesh (the library, one call), Blender's part (mesh,
UV map, material, camera), and the whole operator. Depth and mesh are then
timed apart with the binding the extension carries (engine.depth, then
mesh_build of that depth map), and Blender's mesh alone (scene.mesh_data).

    blender_import.py ZIP MODEL DEVICE W H GRID...   (GRID: cells, or 'pixel')
"""
import os
import sys
import tempfile
import time

import bpy
import numpy as np

EXT = "bl_ext.user_default.depthsolve"


def write_photo(path, w, h):
    """A photo-like test image: smooth shading, discs at several depths, grain."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([0.5 + 0.4 * np.sin(x / w * 6.0), 0.5 + 0.4 * np.cos(y / h * 5.0), 0.3 + 0.5 * x / w], -1)
    for cx, cy, r, col in ((0.3, 0.5, 0.2, (0.9, 0.2, 0.1)), (0.7, 0.6, 0.25, (0.1, 0.8, 0.3)),
                           (0.55, 0.25, 0.08, (0.05, 0.05, 0.05))):
        inside = (x - cx * w) ** 2 + (y - cy * h) ** 2 < (r * min(w, h)) ** 2
        rgb[inside] = col
    rgb += np.random.default_rng(0).normal(0, 0.03, rgb.shape).astype(np.float32)
    img = bpy.data.images.new("bench_photo", w, h, alpha=False)
    rgba = np.ones((h, w, 4), np.float32)
    rgba[:, :, :3] = np.clip(rgb, 0, 1)
    img.pixels.foreach_set(rgba[::-1].ravel())
    img.filepath_raw = path
    img.file_format = "PNG"
    img.save()
    bpy.data.images.remove(img)


def clear():
    for o in list(bpy.data.objects):
        bpy.data.objects.remove(o)
    for block in (bpy.data.meshes, bpy.data.materials, bpy.data.cameras, bpy.data.images):
        for b in list(block):
            block.remove(b)


def main():
    zip_path, model, device, w, h, *grids = sys.argv[1:]
    w, h = int(w), int(h)
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    ext = sys.modules[EXT]
    ds = ext.depthsolve
    photo = os.path.join(tempfile.mkdtemp(), f"photo_{w}x{h}.png")
    write_photo(photo, w, h)
    print(f"photo {w}x{h} ({w * h / 1e6:.1f} MP), model {model}, device {device}")
    t0 = time.perf_counter()  # the first import opens the engine and plans the network for the size
    bpy.ops.depthsolve.import_photo(filepath=photo, model=model, device=device, grid=16)
    print(f"first import (engine opened, network planned for the size), grid 16: {time.perf_counter() - t0:.2f} s")
    print("| grid | vertices | triangles | photo s | depth+mesh s | Blender s | click to object s |"
          " depth s | mesh s | Blender mesh alone s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for grid in grids:
        pixel = grid == "pixel"
        clear()
        t0 = time.perf_counter()
        bpy.ops.depthsolve.import_photo(filepath=photo, model=model, device=device, grid=1 if pixel else int(grid),
                                        pixel_grid=pixel)
        total = time.perf_counter() - t0
        t = dict(ext.operators.last_timings)
        me = next(o.data for o in bpy.data.objects if o.type == "MESH")
        nv, nt = len(me.vertices), len(me.polygons)
        # the same steps apart, on the same engine
        engine = ext.operators._engine["engine"]
        rgb = ext.scene.photo_rgb8(bpy.data.images[os.path.basename(photo)])
        t1 = time.perf_counter()
        depth = engine.depth(rgb)
        t2 = time.perf_counter()
        mesh = ds.mesh_build(depth, grid="pixel" if pixel else int(grid), projection="camera")
        t3 = time.perf_counter()
        ext.scene.mesh_data("bench", mesh)
        t4 = time.perf_counter()
        print(f"| {grid} | {nv} | {nt} | {t['photo']:.2f} | {t['depth_and_mesh']:.2f} | {t['blender']:.2f} | "
              f"{total:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} | {t4 - t3:.2f} |")
        del mesh
    bpy.ops.preferences.addon_disable(module=EXT)


if __name__ == "__main__":
    main()
