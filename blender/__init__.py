"""depthsolve for Blender: File > Import > Photo as 3D (depthsolve), and the
3D view's sidebar tab "depthsolve". A photo becomes a textured mesh from its
depth map (MiDaS, run by libdepthsolve, which this extension carries), seen
from a camera that gives the photo back, with an optional camera move."""
import bpy

from . import operators, panel, settings

_classes = (settings.DEPTHSOLVE_Preferences, operators.DEPTHSOLVE_OT_import_photo, panel.DEPTHSOLVE_Settings,
            panel.DEPTHSOLVE_MT_models, panel.DEPTHSOLVE_PT_import)


def register():
    for cls in _classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.depthsolve = bpy.props.PointerProperty(type=panel.DEPTHSOLVE_Settings)
    bpy.types.TOPBAR_MT_file_import.append(operators.menu_import)


def unregister():
    bpy.types.TOPBAR_MT_file_import.remove(operators.menu_import)
    del bpy.types.Scene.depthsolve
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
    operators.release_engine()
