"""camera.py: the camera moves of `depthsolve animate` (ds_camera_on_path)
and their automatic focus (ds_depth_focus).

A pose is in the mesh's axes (metres, +Y up, +Z towards the viewer, the
photo's camera at the origin looking down -Z): position (3,), rotation
(3, 3) world -> camera (rows: the camera's x, y, z axes in the world), and
focal_scale, the focal length over the photo's (1: the same view)."""
import ctypes
from collections import namedtuple

import numpy as np

from . import _native
from .engine import as_depth

Pose = namedtuple("Pose", "position rotation focal_scale")


def motions():
    """The motion names, in the library's order ("zoom", "dolly", ...)."""
    return _native.names(_native.lib().ds_motion_name)


def _motion(name):
    m = _native.lib().ds_motion_from_name(str(name).encode())
    if m >= len(motions()):
        raise ValueError(f"motion '{name}': use one of {', '.join(motions())}")
    return m


def is_loop(motion):
    """Swing and circle end where they began (t = 1 is t = 0)."""
    return motion in ("swing", "circle")


def default_strength(motion):
    return float(_native.lib().ds_motion_default_strength(_motion(motion)))


def depth_focus(depth):
    """The subject's normalized inverse depth in [0, 1] (ds_depth_focus)."""
    depth = as_depth(depth)
    return float(_native.lib().ds_depth_focus(depth.ctypes.data, depth.shape[1], depth.shape[0]))


def camera_on_path(t, motion="zoom", strength=None, focus=0.5, near=1.0, far=10.0, fov=55.0):
    """The camera at t in [0, 1] of a move (ds_camera_on_path). strength:
    None for the motion's default; focus: the normalized inverse depth aimed
    at; near, far, fov: the photo's camera (as the mesh's camera projection)."""
    L = _native.lib()
    path = L.ds_path_default_params()
    path.motion = _motion(motion)
    path.strength = -1.0 if strength is None else strength
    path.focus = focus
    scene = L.ds_scene_default_params()
    scene.fov_deg, scene.near_m, scene.far_m = fov, near, far
    cam = _native.Camera()
    _native.check(L.ds_camera_on_path(ctypes.byref(path), ctypes.byref(scene), t, ctypes.byref(cam)))
    return Pose(np.array(cam.position, np.float32), np.array(cam.rotation, np.float32).reshape(3, 3),
                float(cam.focal_scale))


def frame_times(n_frames, motion):
    """t of each of n frames, as `depthsolve animate` spaces them: one-way
    moves arrive at t = 1 on the last frame; loops stop one step short, so
    the clip repeats without a doubled frame."""
    steps = n_frames if is_loop(motion) else n_frames - 1
    # float32 division, as the C code computes it
    return [float(np.float32(i) / np.float32(steps)) if steps else 0.0 for i in range(n_frames)]
