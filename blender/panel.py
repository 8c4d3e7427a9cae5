"""panel.py: the 3D view's sidebar tab "depthsolve": the photo, the model
(a menu of those in the store, by name, or a .gguf file), the options, and
the import button.

The model is a text field with a menu beside it rather than an enum whose
items a function lists: Blender keeps such items only while Python holds
them, and the bpy module crashes at exit over them."""
import bpy
from bpy.props import StringProperty

from . import depthsolve as ds
from . import settings
from .operators import DEPTHSOLVE_OT_import_photo


def store_models(context):
    """(name, path) of each model in the store the extension uses."""
    return ds.list_models(settings.models_dir(context))


class DEPTHSOLVE_Settings(bpy.types.PropertyGroup, settings.ImportOptions):
    photo: StringProperty(name="Photo", subtype="FILE_PATH", description="The photo to import")


class DEPTHSOLVE_MT_models(bpy.types.Menu):
    """The models in the store; choosing one names it in the panel."""
    bl_label = "Models in the Store"

    def draw(self, context):
        for name, path in store_models(context):
            op = self.layout.operator("wm.context_set_string", text=name)
            op.data_path, op.value = "scene.depthsolve.model", name
        self.layout.label(text=f"Folder: {ds.store_dir(settings.models_dir(context))}")


class DEPTHSOLVE_PT_import(bpy.types.Panel):
    bl_label = "Photo as 3D"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "depthsolve"

    def draw(self, context):
        s = context.scene.depthsolve
        col = self.layout.column()
        col.prop(s, "photo")
        row = col.row(align=True)
        row.prop(s, "model")
        row.menu(DEPTHSOLVE_MT_models.__name__, text="", icon="DOWNARROW_HLT")
        if not store_models(context):
            box = col.box()
            box.label(text=f"No model in {ds.store_dir(settings.models_dir(context))}", icon="INFO")
            box.label(text="In a terminal: depthsolve fetch midas_v21_small_256")
            box.label(text="(or dpt_hybrid_384, dpt_large_384; or set a folder in Preferences)")
        col.prop(s, "device")
        col.prop(s, "pixel_grid")
        row = col.row()
        row.enabled = not s.pixel_grid
        row.prop(s, "grid")
        col.prop(s, "projection")
        if s.projection == "PLANE":
            col.prop(s, "depth_scale")
        else:
            col.prop(s, "fov_from_model")
            col.prop(s, "fov")
        col.prop(s, "tear")
        col.prop(s, "shading")
        col.prop(s, "camera_move")
        if s.camera_move != "NONE":
            sub = col.column(align=True)
            sub.prop(s, "move_strength")
            sub.prop(s, "move_seconds")
            sub.prop(s, "move_focus_auto")
            if not s.move_focus_auto:
                sub.prop(s, "move_focus")
        op = col.operator(DEPTHSOLVE_OT_import_photo.bl_idname, text="Import Photo as 3D", icon="IMPORT")
        op.filepath = s.photo
        for key in settings.ImportOptions.__annotations__:
            setattr(op, key, getattr(s, key))
