"""depthsolve: monocular depth (MiDaS) and photo-to-3D meshes from Python,
through libdepthsolve.so (ctypes; no compiled module).

    import depthsolve
    engine = depthsolve.Engine("midas_v21_small_256", device="auto")
    depth = engine.depth(rgb)                # (H, W, 3) uint8 -> (H, W) float32
    mesh = engine.mesh(rgb, grid=128, projection="camera")
    mesh.vertices, mesh.indices              # (n, 8) float32, (n, 3) uint32

The library is found through $DEPTHSOLVE_LIBRARY, beside this package, or by
the system loader. Failures of the library raise DepthsolveError with its
one-line message; bad arguments raise TypeError or ValueError.
"""
from ._native import DepthsolveError, LibraryNotFound
from .camera import Pose, camera_on_path, default_strength, depth_focus, frame_times, is_loop, motions
from .engine import Engine, Mesh, ModelInfo, mesh_build, parse_device
from .store import arch_names, list_models, resolve, store_dir

__version__ = "0.1.0"

__all__ = ["DepthsolveError", "LibraryNotFound", "Engine", "Mesh", "ModelInfo", "Pose", "arch_names",
           "camera_on_path", "default_strength", "depth_focus", "frame_times", "is_loop", "list_models",
           "mesh_build", "motions", "parse_device", "resolve", "store_dir"]
