"""operators.py: File > Import > Photo as 3D (depthsolve): a photo to a
textured mesh, its camera and an optional camera move, in one click."""
import os
import time
import traceback

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ImportHelper

from . import depthsolve as ds
from . import scene, settings

# The last engine: importing several photos with one model opens it once.
_engine = {"key": None, "engine": None}
# Seconds of the last import's steps, for benchmarks (bench/blender_import.py).
last_timings = {}


def release_engine():
    if _engine["engine"] is not None:
        _engine["engine"].close()
    _engine.update(key=None, engine=None)


def default_model(models_dir):
    """The first model of the store, in the library's order of architectures."""
    found = dict(ds.list_models(models_dir))
    for name in ds.arch_names() + sorted(found):
        if name in found:
            return name
    raise ValueError(f"no model in {ds.store_dir(models_dir)}: run 'depthsolve fetch midas_v21_small_256' "
                     "(or another model), or give a .gguf file")


def engine_for(model, device, threads, models_dir):
    path = ds.resolve(model, models_dir)
    key = (os.path.realpath(path), device, threads)
    if _engine["key"] != key:
        release_engine()
        _engine.update(key=key, engine=ds.Engine(path, device=device.lower(), threads=threads))
    return _engine["engine"]


def one_line(text):
    return " ".join(str(text).split())


def path_depths(o, mesh):
    """(near, far) of the camera path: the mesh's own for the camera
    projection; for the plane, the distances from its camera to the nearest
    point and to the plane."""
    if o.projection == "CAMERA":
        return o.near, o.far
    far = mesh.camera_z
    return max(far - o.depth_scale, 0.05 * far), far


class DEPTHSOLVE_OT_import_photo(bpy.types.Operator, ImportHelper, settings.ImportOptions):
    """Import a photo as a textured 3D mesh seen from its own camera, from its depth map"""
    bl_idname = "depthsolve.import_photo"
    bl_label = "Photo as 3D (depthsolve)"
    bl_options = {"REGISTER", "UNDO", "PRESET"}

    filter_glob: StringProperty(default="*.png;*.jpg;*.jpeg;*.tif;*.tiff;*.bmp;*.webp;*.exr;*.hdr",
                                options={"HIDDEN"})

    def execute(self, context):
        wm = context.window_manager
        wm.progress_begin(0, 100)
        name = self.filepath or "(no photo)"
        try:
            self.run(context, wm)
        except (ds.DepthsolveError, ds.LibraryNotFound, OSError, ValueError, TypeError, RuntimeError) as e:
            self.report({"ERROR"}, one_line(f"{name}: {e}"))
            return {"CANCELLED"}
        except Exception as e:  # a bug: the report stays one line, the console keeps the details
            traceback.print_exc()
            self.report({"ERROR"}, one_line(f"{name}: {type(e).__name__}: {e}"))
            return {"CANCELLED"}
        finally:
            wm.progress_end()
        return {"FINISHED"}

    def run(self, context, wm):
        t_start = time.perf_counter()
        path = bpy.path.abspath(self.filepath)
        if not os.path.isfile(path):
            raise ValueError("no such file")
        try:
            image = bpy.data.images.load(path, check_existing=True)
        except RuntimeError:
            raise ValueError("cannot be read as an image") from None
        try:
            rgb = scene.photo_rgb8(image)
        except ValueError:
            if not image.users:  # Blender keeps a file it could not decode as an empty image
                bpy.data.images.remove(image)
            raise
        wm.progress_update(10)

        store = settings.models_dir(context)
        model = bpy.path.abspath(self.model) if self.model.startswith("//") else self.model
        model = model or default_model(store)
        engine = engine_for(model, self.device, self.threads, store)
        wm.progress_update(20)
        t_photo = time.perf_counter()
        move = self.camera_move.lower()
        estimated = self.fov_from_model and self.projection == "CAMERA" and engine.info.camera
        mesh = engine.mesh(rgb, with_depth=move != "none" and self.move_focus_auto,
                           grid="pixel" if self.pixel_grid else self.grid, projection=self.projection.lower(),
                           depth_scale=self.depth_scale, fov=0.0 if estimated else self.fov, near=self.near,
                           far=self.far, tear=self.tear)
        fov = scene.long_side_fov_deg(mesh) if estimated else self.fov
        t_mesh = time.perf_counter()
        wm.progress_update(70)

        stem = os.path.splitext(os.path.basename(path))[0]
        obj, cam = self.build(context, stem, image, mesh, rgb.shape)
        wm.progress_update(90)
        focus = None
        if move != "none":
            focus = ds.depth_focus(mesh.depth) if self.move_focus_auto else self.move_focus
            self.camera_move_keys(context, cam, mesh, move, focus, fov)
        obj["depthsolve"] = {"model": model, "device": engine.info.device, "projection": self.projection,
                             "grid": 0 if self.pixel_grid else self.grid, "camera_move": self.camera_move,
                             "focus": -1.0 if focus is None else focus, "fov": fov, "fov_estimated": estimated}
        t_end = time.perf_counter()
        last_timings.clear()
        last_timings.update(photo=t_photo - t_start, depth_and_mesh=t_mesh - t_photo, blender=t_end - t_mesh,
                            total=t_end - t_start)
        self.report({"INFO"}, f"{stem}: {len(mesh.vertices)} vertices, {len(mesh.indices)} triangles; "
                              f"depth and mesh {t_mesh - t_photo:.2f} s ({engine.info.device}), "
                              f"Blender {t_end - t_mesh:.2f} s")

    def build(self, context, stem, image, mesh, shape):
        """The mesh object, its material and its camera, made the scene's."""
        me = scene.mesh_data(stem, mesh)
        me.materials.append(scene.photo_material(stem, image, self.shading))
        obj = bpy.data.objects.new(stem, me)
        cam = scene.photo_camera(stem + " camera", mesh)
        collection = context.collection or context.scene.collection
        collection.objects.link(obj)
        collection.objects.link(cam)
        sc = context.scene
        sc.camera = cam
        sc.render.resolution_x, sc.render.resolution_y = shape[1], shape[0]
        sc.render.resolution_percentage = 100
        sc.render.pixel_aspect_x = sc.render.pixel_aspect_y = 1.0
        if self.standard_view:
            sc.view_settings.view_transform = "Standard"
            sc.view_settings.look = "None"
        for o in context.view_layer.objects.selected:
            o.select_set(False)
        obj.select_set(True)
        context.view_layer.objects.active = obj
        return obj, cam

    def camera_move_keys(self, context, cam, mesh, move, focus, fov):
        """A keyframe per frame of the move, as `depthsolve animate` places them."""
        sc = context.scene
        n = max(1, round(self.move_seconds * sc.render.fps / sc.render.fps_base))
        near, far = path_depths(self, mesh)
        strength = self.move_strength or None
        poses = [ds.camera_on_path(t, move, strength, focus, near, far, fov) for t in ds.frame_times(n, move)]
        scene.keyframe_move(cam, poses, sc.frame_start, mesh)
        sc.frame_end = sc.frame_start + n - 1


def menu_import(self, context):
    self.layout.operator(DEPTHSOLVE_OT_import_photo.bl_idname, text="Photo as 3D (depthsolve)")
