"""_native.py: libdepthsolve.so through ctypes: where the library is found,
the C structs of depthsolve.h mirrored field for field, the prototypes of the
DS_API functions the binding calls, and the C status turned into an exception.

ctypes releases the GIL during every call, so other Python threads (Blender's
UI, a progress timer) run while the network does.
"""
import ctypes
import os

# ---- finding the library ------------------------------------------------------

LIBRARY_ENV = "DEPTHSOLVE_LIBRARY"
_HERE = os.path.dirname(os.path.abspath(__file__))
# Shared libraries libdepthsolve.so needs that a package may carry beside it
# (the Blender extension does): used only when the system has none of its own.
_BUNDLED_DEPS = os.path.join(_HERE, "libs")


class LibraryNotFound(OSError):
    """libdepthsolve.so could not be found or loaded."""


def _preload_bundled():
    """Loads the bundled dependencies (global symbols), each after the ones it
    needs: a pass loads every library whose own needs are already met."""
    if not os.path.isdir(_BUNDLED_DEPS):
        return False
    left = sorted(os.path.join(_BUNDLED_DEPS, f) for f in os.listdir(_BUNDLED_DEPS))
    while left:
        still = []
        for path in left:
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                still.append(path)
        if len(still) == len(left):
            break
        left = still
    return True


def _candidates():
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [env]  # an explicit choice is the only one tried
    return [os.path.join(_HERE, "libdepthsolve.so"), "libdepthsolve.so"]


def load_library():
    """libdepthsolve.so: $DEPTHSOLVE_LIBRARY, else beside this package, else
    the system loader's search (LD_LIBRARY_PATH, ldconfig)."""
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as first:
            if _preload_bundled():
                try:
                    return ctypes.CDLL(path)
                except OSError:
                    pass
            errors.append(str(first))
    raise LibraryNotFound(
        "libdepthsolve.so could not be loaded (" + "; ".join(errors) + "): build it with 'make' and set "
        f"{LIBRARY_ENV} to build/libdepthsolve.so, or copy it beside the depthsolve package")


# ---- the structs of depthsolve.h ----------------------------------------------

_int, _float, _char_p, _void_p = ctypes.c_int, ctypes.c_float, ctypes.c_char_p, ctypes.c_void_p
LOG_FN = ctypes.CFUNCTYPE(None, _int, _char_p, _void_p)


class EngineParams(ctypes.Structure):
    _fields_ = [("model_path", _char_p), ("device", _int), ("device_index", _int), ("n_threads", _int),
                ("reference", _int), ("profile", _int), ("log", LOG_FN), ("log_user", _void_p),
                ("autotune", _int), ("precision", _int)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("arch", _int), ("arch_name", _char_p), ("net_size", _int), ("input_multiple", _int),
                ("resize_upper_bound", _int), ("mean", _float * 3), ("std", _float * 3),
                ("n_params", ctypes.c_int64), ("n_threads", _int), ("device", _char_p),
                ("fixed_size", _int), ("resize_lower_bound", _int), ("depth_resize", _int), ("quantity", _int),
                ("max_depth", _float), ("resize_da3", _int), ("outputs", _int), ("metric_focal_ref", _float)]


class SolveParams(ctypes.Structure):
    _fields_ = [("square", _int), ("height", _int), ("focal_x", _float), ("focal_y", _float), ("net_output", _int)]


class MeshParams(ctypes.Structure):
    _fields_ = [("grid", _int), ("projection", _int), ("depth_scale", _float), ("fov_deg", _float),
                ("near_m", _float), ("far_m", _float), ("tear", _float), ("metric", _int)]


class Mesh(ctypes.Structure):
    _fields_ = [("vertices", ctypes.POINTER(_float)), ("indices", ctypes.POINTER(ctypes.c_uint32)),
                ("n_vertices", ctypes.c_int64), ("n_triangles", ctypes.c_int64), ("cols", _int), ("rows", _int),
                ("yfov", _float), ("aspect", _float), ("camera_z", _float), ("bounds_min", _float * 3),
                ("bounds_max", _float * 3)]


class ConvertParams(ctypes.Structure):
    _fields_ = [("arch", _int), ("dtype", _int), ("log", LOG_FN), ("log_user", _void_p)]


class SceneParams(ctypes.Structure):
    _fields_ = [("fov_deg", _float), ("near_m", _float), ("far_m", _float), ("margin", _int), ("tear", _float),
                ("edge_radius", _int), ("device", _int), ("device_index", _int), ("n_threads", _int)]


class Camera(ctypes.Structure):
    _fields_ = [("position", _float * 3), ("rotation", _float * 9), ("focal_scale", _float)]


class PathParams(ctypes.Structure):
    _fields_ = [("motion", _int), ("strength", _float), ("focus", _float)]


# enums of depthsolve.h
DS_OK = 0
DS_ERR_INVALID_ARGUMENT = 1
DS_ERR_IO = 2
DS_ARCH_UNKNOWN = -1
DEVICE = {"auto": 0, "cpu": 1, "cuda": 2, "cuda-emu": 3}
PROJECTION = {"plane": 0, "camera": 1}
OUTPUT_CAMERA = 2  # ds_model_info.outputs: DS_OUTPUT_CAMERA

_P = ctypes.POINTER
_PROTOTYPES = {
    "ds_status_string": (_char_p, [_int]),
    "ds_last_error": (_char_p, []),
    "ds_arch_name": (_char_p, [_int]),
    "ds_arch_from_name": (_int, [_char_p]),
    "ds_convert_default_params": (ConvertParams, []),
    "ds_convert_file": (_int, [_char_p, _char_p, _P(ConvertParams)]),
    "ds_engine_default_params": (EngineParams, []),
    "ds_engine_create": (_int, [_P(EngineParams), _P(_void_p)]),
    "ds_engine_free": (None, [_void_p]),
    "ds_engine_model_info": (_int, [_void_p, _P(ModelInfo)]),
    "ds_solve_default_params": (SolveParams, []),
    "ds_engine_solve_rgb8": (_int, [_void_p, _void_p, _int, _int, ctypes.c_size_t, _P(SolveParams), _void_p]),
    "ds_engine_input_size": (_int, [_void_p, _int, _int, _P(SolveParams), _P(_int), _P(_int)]),
    "ds_engine_prepare_size": (_int, [_void_p, _int, _int]),
    "ds_mesh_default_params": (MeshParams, []),
    "ds_mesh_build": (_int, [_void_p, _int, _int, _P(MeshParams), _P(Mesh)]),
    "ds_mesh_free": (None, [_P(Mesh)]),
    "ds_mesh_edges": (_int, [_P(Mesh), _void_p, _void_p, _P(ctypes.c_int64)]),
    "ds_engine_mesh_rgb8": (_int, [_void_p, _void_p, _int, _int, ctypes.c_size_t, _P(SolveParams),
                                   _P(MeshParams), _void_p, _P(Mesh)]),
    "ds_scene_default_params": (SceneParams, []),
    "ds_path_default_params": (PathParams, []),
    "ds_motion_name": (_char_p, [_int]),
    "ds_motion_from_name": (_int, [_char_p]),
    "ds_motion_default_strength": (_float, [_int]),
    "ds_depth_focus": (_float, [_void_p, _int, _int]),
    "ds_camera_on_path": (_int, [_P(PathParams), _P(SceneParams), _float, _P(Camera)]),
}

_lib = None


def lib():
    """The loaded library, its prototypes declared (loaded on first use)."""
    global _lib
    if _lib is None:
        handle = load_library()
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(handle, name)
            fn.restype, fn.argtypes = restype, argtypes
        _lib = handle
    return _lib


def names(fn):
    """The names a table function of the library gives for 0, 1, ... until
    its NULL (ds_arch_name, ds_motion_name)."""
    out = []
    while True:
        name = fn(len(out))
        if not name:
            return out
        out.append(name.decode())


# ---- errors -------------------------------------------------------------------

class DepthsolveError(RuntimeError):
    """A failed library call: .status is the ds_status code, .status_name its
    text ("io error"), and the message is the library's one-line detail."""

    def __init__(self, status, message, status_name=""):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


def check(status):
    """Raises DepthsolveError for a non-zero ds_status, with ds_last_error()."""
    if status != DS_OK:
        raise error(status)


def error(status, message=None):
    """The exception of a status: the library's last error on this thread,
    or `message` for a failure found on the Python side."""
    L = lib()
    name = (L.ds_status_string(status) or b"").decode()
    detail = message if message is not None else (L.ds_last_error() or b"").decode(errors="replace")
    return DepthsolveError(status, detail or name, name)
