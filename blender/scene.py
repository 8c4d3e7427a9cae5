"""scene.py: the Blender side of an import: the photo's pixels, and the mesh
object, material, camera and camera move made from the library's arrays.

Axes: the library's are glTF's (+Y up, +Z towards the viewer, the photo's
camera looking down -Z); Blender's are +Z up. A point (x, y, z) becomes
(x, -z, y), as Blender's glTF importer does, so the photo stands upright
and its camera looks along +Y. Blender's cameras, like glTF's, look down
their local -Z with +Y up, so a camera's own axes need no change.

Everything is set with bulk setters (foreach_set on attributes): no Python
loop runs per vertex or per face.
"""
import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

# glTF world -> Blender world
AXES = Matrix(((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)))
SENSOR_MM = 36.0


def photo_rgb8(image):
    """The image's pixels as the library reads a photo: (H, W, 3) uint8, top
    row first. 8-bit images come back exactly as stored; float ones (16-bit
    PNG, EXR) are turned from Blender's linear values back into sRGB."""
    w, h = image.size
    if w < 1 or h < 1:
        raise ValueError("cannot be read as an image (no pixels)")
    c = image.channels
    px = np.empty(w * h * c, np.float32)
    image.pixels.foreach_get(px)
    px = px.reshape(h, w, c)[::-1]  # Blender's rows go bottom-up
    px = px[:, :, :3] if c >= 3 else np.repeat(px[:, :, :1], 3, axis=2)
    if image.is_float and image.colorspace_settings.name not in ("Non-Color", "Raw", "Linear"):
        px = np.where(px <= 0.0031308, 12.92 * px, 1.055 * np.power(np.maximum(px, 0.0031308), 1 / 2.4) - 0.055)
    v = px * 255.0  # 8-bit images: exact multiples of 1/255, rounded back to their bytes
    np.clip(v, 0.0, 255.0, out=v)
    v += 0.5
    return v.astype(np.uint8)


def mesh_data(name, mesh):
    """A Blender mesh of the library's arrays: its vertices, its triangles in
    their order, their edges, and a UV map "UVMap" (v up, Blender's)."""
    v = mesh.vertices  # (n_vertices, 8): x y z nx ny nz u v
    idx = mesh.indices.view(np.int32)  # (n_triangles, 3); < 2^31: the library caps vertices at 2^30
    nv, nt = len(v), len(idx)
    if 3 * nt >= 2 ** 31:
        raise ValueError(f"a mesh of {nt} triangles is more than Blender holds (2^31 corners): use a coarser grid")
    co = np.empty((nv, 3), np.float32)
    co[:, 0], co[:, 1], co[:, 2] = v[:, 0], -v[:, 2], v[:, 1]
    me = bpy.data.meshes.new(name)
    me.vertices.add(nv)
    me.attributes["position"].data.foreach_set("vector", co.ravel())
    me.loops.add(3 * nt)
    me.attributes[".corner_vert"].data.foreach_set("value", idx.ravel())
    me.polygons.add(nt)
    me.polygons.foreach_set("loop_start", np.arange(0, 3 * nt, 3, dtype=np.int32))
    uv = np.empty((nv, 2), np.float32)
    uv[:, 0], uv[:, 1] = v[:, 6], 1.0 - v[:, 7]
    corner_uv = uv.view(np.complex64).ravel()[idx.ravel()]  # one 8-byte (u, v) per corner
    me.attributes.new("UVMap", "FLOAT2", "CORNER").data.foreach_set("vector", corner_uv.view(np.float32))
    me.uv_layers.active = me.uv_layers["UVMap"]
    edges, corner_edges = mesh.edges()  # the library's edge table: Blender's own search is a hash of 72 M corners
    me.edges.add(len(edges))
    me.attributes[".edge_verts"].data.foreach_set("value", edges.ravel())
    me.attributes[".corner_edge"].data.foreach_set("value", corner_edges)
    me.update()
    return me


def photo_material(name, image, shading):
    """The photo on the mesh: 'EMISSION' shows it as it is (unlit, so a
    render from the photo's camera gives the photo back); 'PRINCIPLED' is a
    lit surface of that colour, for relighting."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Linear"
    tex.extension = "EXTEND"  # the border's texels, not the opposite side's
    tex.location = (-500, 0)
    out = nodes.new("ShaderNodeOutputMaterial")
    out.location = (300, 0)
    if shading == "PRINCIPLED":
        shader = nodes.new("ShaderNodeBsdfPrincipled")
        links.new(tex.outputs["Color"], shader.inputs["Base Color"])
        links.new(shader.outputs["BSDF"], out.inputs["Surface"])
    else:
        shader = nodes.new("ShaderNodeEmission")
        shader.inputs["Strength"].default_value = 1.0
        links.new(tex.outputs["Color"], shader.inputs["Color"])
        links.new(shader.outputs["Emission"], out.inputs["Surface"])
    return mat


def long_side_fov_deg(mesh):
    """The field of view along the photo's long side the mesh was built with."""
    return math.degrees(2 * math.atan(math.tan(mesh.yfov / 2) * max(mesh.aspect, 1.0)))


def base_lens(mesh):
    """(focal length in mm, sensor fit) of the view the mesh fills: 36 mm
    along the photo's long side, whose field of view is the projection's."""
    half_y = math.tan(mesh.yfov / 2)
    if mesh.aspect >= 1.0:
        return SENSOR_MM / 2 / (half_y * mesh.aspect), "HORIZONTAL"
    return SENSOR_MM / 2 / half_y, "VERTICAL"


def pose_matrix(position, rotation, camera_z=0.0):
    """A library camera pose (glTF axes, rotation world -> camera) as a
    Blender world matrix; camera_z moves it to where the photo's camera is
    (on +Z for the plane projection)."""
    r = AXES @ Matrix(rotation.tolist()).transposed()
    m = r.to_4x4()
    m.translation = AXES @ Vector((float(position[0]), float(position[1]), float(position[2]) + camera_z))
    return m


def photo_camera(name, mesh):
    """The camera that sees the mesh as the photo: at the projection's
    centre, looking at the mesh, with its field of view."""
    data = bpy.data.cameras.new(name)
    lens, fit = base_lens(mesh)
    data.sensor_fit = fit
    data.sensor_width = data.sensor_height = SENSOR_MM
    data.lens = lens
    cam = bpy.data.objects.new(name, data)
    cam.rotation_mode = "QUATERNION"
    cam.matrix_world = pose_matrix(np.zeros(3), np.eye(3), mesh.camera_z)
    return cam


def keyframe_move(cam, poses, frame_start, mesh):
    """A keyframe on every frame of the move, linear between them: each
    frame's camera is the library's pose (location, rotation, and the focal
    length scaled for the zoom)."""
    lens, _ = base_lens(mesh)
    edit = bpy.context.preferences.edit
    kept = edit.keyframe_new_interpolation_type
    edit.keyframe_new_interpolation_type = "LINEAR"
    try:
        prev = None
        for i, pose in enumerate(poses):
            frame = frame_start + i
            m = pose_matrix(pose.position, pose.rotation, mesh.camera_z)
            q = m.to_quaternion()
            if prev is not None:
                q.make_compatible(prev)  # no flip between neighbouring keys
            prev = q
            cam.location = m.translation
            cam.rotation_quaternion = q
            cam.data.lens = lens * pose.focal_scale
            cam.keyframe_insert("location", frame=frame)
            cam.keyframe_insert("rotation_quaternion", frame=frame)
            cam.data.keyframe_insert("lens", frame=frame)
    finally:
        edit.keyframe_new_interpolation_type = kept
