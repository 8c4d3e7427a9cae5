"""settings.py: the import's options, shared by the operator and the
sidebar panel's scene settings, and the extension's preferences."""
import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

MOVES = [("NONE", "None", "No camera move"),
         ("ZOOM", "Zoom", "Towards the subject while the view widens: the subject keeps its size"),
         ("DOLLY", "Dolly", "Towards the subject"),
         ("STRAIGHT", "Straight", "To the right"),
         ("SWING", "Swing", "Left and right, aimed at the subject (a loop)"),
         ("CIRCLE", "Circle", "A small circle, aimed at the subject (a loop)")]


class ImportOptions:
    """The options of an import (annotations shared by the operator and the
    panel's settings)."""
    model: StringProperty(
        name="Model", subtype="FILE_PATH",
        description="A model in the store by name ('depthsolve fetch NAME' puts it there) or a .gguf file; "
                    "empty: the first model in the store")
    device: EnumProperty(
        name="Device",
        items=[("AUTO", "Auto", "The GPU when one works, else the CPU"), ("CPU", "CPU", "The CPU"),
               ("CUDA", "CUDA", "The first NVIDIA GPU")],
        default="AUTO")
    threads: IntProperty(name="Threads", description="CPU threads (0: all cores)", default=0, min=0, max=1024)
    pixel_grid: BoolProperty(name="Vertex per Pixel", description="A vertex at every pixel centre", default=False)
    grid: IntProperty(name="Grid", description="Grid cells along the photo's long side", default=128, min=1,
                      max=16384)
    projection: EnumProperty(
        name="Projection",
        items=[("CAMERA", "Camera", "Each pixel on its ray from the photo's camera: a render from that camera "
                                    "gives the photo back"),
               ("PLANE", "Plane", "A plane 1 m high, pushed towards the viewer by the depth")],
        default="CAMERA")
    depth_scale: FloatProperty(name="Depth Scale", description="Plane: how far the nearest point comes out",
                               default=0.25, min=0.0, soft_max=2.0, unit="LENGTH")
    fov_from_model: BoolProperty(name="Estimated Field of View",
                                 description="Camera: the photo's field of view as the model estimates it "
                                             "(Depth Anything 3 small); other models use Field of View",
                                 default=True)
    fov: FloatProperty(name="Field of View", description="Camera: the photo's view along its long side, degrees",
                       default=55.0, min=1.0, max=179.0)
    near: FloatProperty(name="Near", description="Camera: depth of the nearest point", default=1.0, min=0.001,
                        unit="LENGTH")
    far: FloatProperty(name="Far", description="Camera: depth of the farthest point", default=10.0, min=0.002,
                       unit="LENGTH")
    tear: FloatProperty(name="Tear", description="Drop triangles whose depth range exceeds this times their "
                                                 "nearest depth, so the foreground comes apart (0: keep all)",
                        default=0.0, min=0.0, soft_max=1.0)
    shading: EnumProperty(
        name="Shading",
        items=[("EMISSION", "Photo (Unlit)", "The photo as it is, whatever the lights"),
               ("PRINCIPLED", "Lit (PBR)", "A Principled surface of the photo's colours, for relighting")],
        default="EMISSION")
    standard_view: BoolProperty(name="Standard View Transform",
                                description="Colour management 'Standard', so renders give the photo's colours "
                                            "back (AgX and Filmic change them)",
                                default=True)
    camera_move: EnumProperty(name="Camera Move", items=MOVES, default="NONE",
                              description="Keyframe the moves of 'depthsolve animate' on the camera")
    move_strength: FloatProperty(name="Strength", description="How far the camera travels, as a fraction of the "
                                                              "subject's depth (0: the move's default)",
                                 default=0.0, min=0.0, max=0.9)
    move_seconds: FloatProperty(name="Duration", description="Length of the move, seconds", default=5.0,
                                min=0.05, max=600.0)
    move_focus_auto: BoolProperty(name="Auto Focus", description="Aim at the subject found in the depth map",
                                  default=True)
    move_focus: FloatProperty(name="Focus", description="The depth aimed at: 0 farthest, 1 nearest", default=0.5,
                              min=0.0, max=1.0)


class DEPTHSOLVE_Preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    models_dir: StringProperty(
        name="Models Folder", subtype="DIR_PATH",
        description="Where models are looked up by name; empty: $DEPTHSOLVE_MODELS or ~/.cache/depthsolve, "
                    "where 'depthsolve fetch' puts them")

    def draw(self, context):
        self.layout.prop(self, "models_dir")


def models_dir(context):
    """The preference's folder, or None for the CLI's store."""
    addon = context.preferences.addons.get(__package__)
    path = addon.preferences.models_dir if addon else ""
    return bpy.path.abspath(path) if path else None
