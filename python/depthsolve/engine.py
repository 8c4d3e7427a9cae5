"""engine.py: Engine (a model opened on a device) and its calls on NumPy
photos: depth maps and meshes, as ds_engine_solve_rgb8 and
ds_engine_mesh_rgb8 compute them."""
import ctypes
import os
import tempfile
import threading
from collections import namedtuple

import numpy as np

from . import _native, store

ModelInfo = namedtuple("ModelInfo", "arch net_size input_multiple resize_upper_bound mean std n_params n_threads "
                                    "device fixed_size quantity max_depth path camera")

# ds_depth_quantity's names
QUANTITY = {0: "relative", 1: "metric", 2: "relative_depth"}


PRECISIONS = ("fp32", "tf32", "fp16", "bf16")  # DS_PRECISION_FP32 ..


def parse_device(device):
    """'auto', 'cpu', 'cuda', 'cuda:N' or 'cuda-emu' to (ds_device, ordinal)."""
    if not isinstance(device, str):
        raise TypeError(f"device: a string ('auto', 'cpu', 'cuda', 'cuda:N', 'cuda-emu') is needed, not {device!r}")
    name, _, index = device.partition(":")
    if name in _native.DEVICE and (not index or (name == "cuda" and index.isdigit())):
        return _native.DEVICE[name], int(index or 0)
    raise ValueError(f"device '{device}': use auto, cpu, cuda, cuda:N or cuda-emu")


def as_rgb8(rgb, what="rgb"):
    """The photo as the library reads it: (H, W, 3) uint8 whose pixels are 3
    bytes apart and whose rows may be padded; returns (array, row stride)."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"{what}: a NumPy array of shape (H, W, 3) and dtype uint8 is needed, "
                        f"not {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"{what}: dtype {rgb.dtype}: RGB8 pixels (uint8) are needed "
                        "(from floats in [0, 1]: (x * 255).round().astype(np.uint8))")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{what}: shape {rgb.shape}: an RGB image of shape (H, W, 3) is needed "
                         "(RGBA: rgb[..., :3]; gray: np.repeat(g[..., None], 3, axis=2))")
    h, w = rgb.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"{what}: shape {rgb.shape}: the image is empty")
    if not (rgb.strides[2] == 1 and rgb.strides[1] == 3 and rgb.strides[0] >= 3 * w):
        rgb = np.ascontiguousarray(rgb)
    return rgb, rgb.strides[0]


def as_depth(depth, what="depth"):
    """A depth map as the library reads it: (H, W) float32, C-contiguous."""
    if not isinstance(depth, np.ndarray):
        raise TypeError(f"{what}: a NumPy array of shape (H, W) is needed, not {type(depth).__name__}")
    if depth.ndim != 2 or depth.shape[0] < 1 or depth.shape[1] < 1:
        raise ValueError(f"{what}: shape {depth.shape}: a depth map of shape (H, W) is needed")
    if depth.dtype.kind != "f":
        raise TypeError(f"{what}: dtype {depth.dtype}: a float depth map is needed")
    return np.ascontiguousarray(depth, dtype=np.float32)


def solve_params(square=False, height=0):
    p = _native.lib().ds_solve_default_params()
    p.square = 1 if square else 0
    p.height = int(height)
    return p


def mesh_params(grid=128, projection="plane", depth_scale=0.25, fov=55.0, near=1.0, far=10.0, tear=0.0,
                metric=False):
    """ds_mesh_params: grid cells along the long side, or "pixel" (a vertex at
    every pixel centre); projection "plane" or "camera"; metric: the depth map
    holds metres (a metric model's; Engine.mesh sets it from the model)."""
    p = _native.lib().ds_mesh_default_params()
    if isinstance(grid, str):
        if grid != "pixel":
            raise ValueError(f"grid '{grid}': give a number of cells or 'pixel'")
        grid = 0
    p.grid = int(grid)
    if projection not in _native.PROJECTION:
        raise ValueError(f"projection '{projection}': use 'plane' or 'camera'")
    p.projection = _native.PROJECTION[projection]
    p.depth_scale, p.fov_deg, p.near_m, p.far_m, p.tear = depth_scale, fov, near, far, tear
    p.metric = 1 if metric else 0
    return p


class _MeshMemory:
    """Owns a ds_mesh's malloc'd arrays; freed with the last array viewing them."""

    def __init__(self, mesh):
        self.mesh = mesh

    def __del__(self):
        _native.lib().ds_mesh_free(ctypes.byref(self.mesh))


class _View:
    """Exposes C memory to NumPy without a copy, keeping its owner alive."""

    def __init__(self, address, shape, typestr, owner):
        self.__array_interface__ = {"data": (address, False), "shape": shape, "typestr": typestr, "version": 3}
        self.owner = owner


class Mesh:
    """A photo's mesh (ds_mesh): vertices (n, 8) float32 x y z nx ny nz u v
    (metres, +Y up, +Z towards the viewer; UV v down), indices (n, 3) uint32
    counter-clockwise from the front, the vertex grid (cols, rows), the view
    the mesh fills (yfov radians, aspect, camera_z) and the position bounds.
    The arrays are the library's own memory (no copy)."""

    def __init__(self, c_mesh, depth=None):
        owner = _MeshMemory(c_mesh)
        nv, nt = c_mesh.n_vertices, c_mesh.n_triangles
        self.vertices = np.asarray(_View(ctypes.addressof(c_mesh.vertices.contents), (nv, 8), "<f4", owner))
        self.indices = np.asarray(_View(ctypes.addressof(c_mesh.indices.contents), (nt, 3), "<u4", owner))
        self.cols, self.rows = c_mesh.cols, c_mesh.rows
        self.yfov, self.aspect, self.camera_z = c_mesh.yfov, c_mesh.aspect, c_mesh.camera_z
        self.bounds_min = np.array(c_mesh.bounds_min, np.float32)
        self.bounds_max = np.array(c_mesh.bounds_max, np.float32)
        self.depth = depth
        self._memory = owner

    def edges(self):
        """ds_mesh_edges: the edge table importers that keep one need
        (Blender): (edges (n, 2) int32 vertex pairs, lower first; corner_edge
        (3 n_triangles,) int32, the edge from each corner to the next)."""
        c_mesh, n = self._memory.mesh, ctypes.c_int64()
        _native.check(_native.lib().ds_mesh_edges(ctypes.byref(c_mesh), None, None, ctypes.byref(n)))
        edges = np.empty((n.value, 2), np.int32)
        corner_edge = np.empty(3 * len(self.indices), np.int32)
        _native.check(_native.lib().ds_mesh_edges(ctypes.byref(c_mesh), edges.ctypes.data, corner_edge.ctypes.data,
                                                  ctypes.byref(n)))
        return edges, corner_edge

    positions = property(lambda self: self.vertices[:, 0:3])
    normals = property(lambda self: self.vertices[:, 3:6])
    uvs = property(lambda self: self.vertices[:, 6:8])


def mesh_build(depth, **params):
    """ds_mesh_build: the mesh of a depth map (H, W) with mesh_params(**params)."""
    depth = as_depth(depth)
    p = mesh_params(**params)
    m = _native.Mesh()
    _native.check(_native.lib().ds_mesh_build(depth.ctypes.data, depth.shape[1], depth.shape[0],
                                              ctypes.byref(p), ctypes.byref(m)))
    return Mesh(m)


class Engine:
    """A model opened on a device.

        Engine(model, device="auto", threads=0, models_dir=None, precision="fp32")

    model: a .gguf file, a checkpoint (.pt, .pth, .safetensors: converted on
    the fly into a temporary file, as the CLI does), or a name in the model
    store (store.store_dir(models_dir)). device: "auto", "cpu", "cuda",
    "cuda:N" or "cuda-emu". threads: CPU threads, 0 for all cores.
    precision: "fp32" (default), on a GPU "tf32" or "fp16", on the CPU "bf16"
    (linear layers on bfloat16 operands; needs AVX512-BF16). Calls on
    one engine are serialized (the C handle is used by one thread at a time);
    the GIL is released while the library works."""

    def __init__(self, model, device="auto", threads=0, models_dir=None, precision="fp32"):
        self._handle = None
        dev, index = parse_device(device)
        if not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads {threads!r}: give 0 (all cores) or a positive number")
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: use {', '.join(PRECISIONS)}")
        self.path = store.resolve(model, models_dir)
        L = _native.lib()
        p = L.ds_engine_default_params()
        p.device, p.device_index, p.n_threads = dev, index, threads
        p.precision = PRECISIONS.index(precision)  # ds_precision's order
        handle = ctypes.c_void_p()
        if self.path.endswith(store.CHECKPOINT_SUFFIXES):
            status = self._open_checkpoint(p, handle)
        else:
            p.model_path = os.fsencode(self.path)
            status = L.ds_engine_create(ctypes.byref(p), ctypes.byref(handle))
        _native.check(status)
        self._handle = handle
        self._lock = threading.Lock()

    def _open_checkpoint(self, p, handle):
        """Converts into an unlinked temporary GGUF: the engine maps it."""
        L = _native.lib()
        fd, tmp = tempfile.mkstemp(prefix="depthsolve-", suffix=".gguf")
        os.close(fd)
        try:
            cp = L.ds_convert_default_params()
            status = L.ds_convert_file(os.fsencode(self.path), os.fsencode(tmp), ctypes.byref(cp))
            if status == _native.DS_OK:
                p.model_path = os.fsencode(tmp)
                status = L.ds_engine_create(ctypes.byref(p), ctypes.byref(handle))
            return status
        finally:
            os.unlink(tmp)

    def close(self):
        if self._handle is not None:
            _native.lib().ds_engine_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._handle is None:
            raise ValueError("the engine is closed")
        return self._handle

    @property
    def info(self):
        """ModelInfo: architecture, network size, normalization, parameters,
        threads, the device that runs it ("cpu", "cuda", "cuda-emu"), and
        fixed_size: the network takes net_size x net_size only (Swin, LeViT);
        quantity: "relative" (inverse depth, MiDaS and Depth Anything V2),
        "metric" (metres: the metric Depth Anything V2, max_depth at most, and
        Depth Anything 3 metric) or "relative_depth" (depth up to a scale,
        larger is farther: Depth Anything 3); camera: the model estimates
        the photo's camera (Depth Anything 3 small), which mesh(fov=0) uses."""
        i = _native.ModelInfo()
        with self._lock:
            _native.check(_native.lib().ds_engine_model_info(self._live(), ctypes.byref(i)))
        return ModelInfo(i.arch_name.decode(), i.net_size, i.input_multiple, bool(i.resize_upper_bound),
                         tuple(i.mean), tuple(i.std), i.n_params, i.n_threads, i.device.decode(),
                         bool(i.fixed_size), QUANTITY.get(i.quantity, "relative"), i.max_depth,
                         self.path, bool(i.outputs & _native.OUTPUT_CAMERA))

    def prepare(self, photo_shape, square=False, height=0):
        """Readies the engine for photos of photo_shape ((H, W) or (H, W, 3),
        e.g. rgb.shape) ahead of the first: ds_engine_prepare_size on the
        network size depth() would pick (plans memory, packs the weights),
        so that the first photo costs what the next ones do. Optional."""
        h, w = (int(v) for v in tuple(photo_shape)[:2])
        sp = solve_params(square, height)
        nw, nh = ctypes.c_int(), ctypes.c_int()
        L = _native.lib()
        with self._lock:
            _native.check(L.ds_engine_input_size(self._live(), w, h, ctypes.byref(sp), ctypes.byref(nw),
                                                 ctypes.byref(nh)))
            _native.check(L.ds_engine_prepare_size(self._live(), nh.value, nw.value))

    def depth(self, rgb, square=False, height=0):
        """The depth map of an RGB8 photo (H, W, 3) uint8 at its size: (H, W)
        float32 relative inverse depth (larger is nearer), as run.py."""
        rgb, stride = as_rgb8(rgb)
        h, w = rgb.shape[:2]
        sp = solve_params(square, height)
        out = np.empty((h, w), np.float32)
        with self._lock:
            _native.check(_native.lib().ds_engine_solve_rgb8(self._live(), rgb.ctypes.data, w, h, stride,
                                                             ctypes.byref(sp), out.ctypes.data))
        return out

    def mesh(self, rgb, with_depth=False, square=False, height=0, **params):
        """The photo's mesh (Mesh), as ds_engine_mesh_rgb8; params as
        mesh_params (grid, projection, depth_scale, fov, near, far, tear);
        fov=0: the field of view the model estimates (info.camera), else 55.
        with_depth: also keep the depth map in Mesh.depth."""
        rgb, stride = as_rgb8(rgb)
        h, w = rgb.shape[:2]
        sp, mp = solve_params(square, height), mesh_params(**params)
        depth = np.empty((h, w), np.float32) if with_depth else None
        m = _native.Mesh()
        with self._lock:
            _native.check(_native.lib().ds_engine_mesh_rgb8(
                self._live(), rgb.ctypes.data, w, h, stride, ctypes.byref(sp), ctypes.byref(mp),
                depth.ctypes.data if with_depth else None, ctypes.byref(m)))
        return Mesh(m, depth)
