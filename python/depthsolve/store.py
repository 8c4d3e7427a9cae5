"""store.py: the model store the CLI uses (src/model_store.c), seen from
Python: `depthsolve fetch NAME` writes <store>/NAME.gguf, and a model given
by name is looked up there. The store is $DEPTHSOLVE_MODELS, else
~/.cache/depthsolve; a caller may name another folder (the Blender
extension's preference)."""
import os

from . import _native

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".bin")


def store_dir(override=None):
    """The store folder (not created): `override` when given, else
    $DEPTHSOLVE_MODELS, else $HOME/.cache/depthsolve (as the CLI)."""
    if override:
        return override
    env = os.environ.get("DEPTHSOLVE_MODELS")
    if env:
        return env
    home = os.environ.get("HOME") or "."
    return os.path.join(home, ".cache", "depthsolve")


def arch_names():
    """Every architecture the library knows, in its order."""
    return _native.names(_native.lib().ds_arch_name)


def list_models(override=None):
    """The models in the store: (name, path) of each <name>.gguf, sorted."""
    d = store_dir(override)
    try:
        files = sorted(os.listdir(d))
    except OSError:
        return []
    return [(f[:-5], os.path.join(d, f)) for f in files
            if f.endswith(".gguf") and os.path.isfile(os.path.join(d, f))]


def resolve(spec, override=None):
    """The file a model argument names, as the CLI's --model: an existing
    file (a .gguf, or a checkpoint that Engine converts on the fly), else an
    architecture name looked up as <store>/<name>.gguf. Raises
    DepthsolveError (the CLI's message) when there is no such model."""
    spec = os.fspath(spec)
    if os.path.isfile(spec):
        return spec
    L = _native.lib()
    if L.ds_arch_from_name(spec.encode()) == _native.DS_ARCH_UNKNOWN:
        if "/" in spec or "." in spec:
            raise _native.error(_native.DS_ERR_IO, f"{spec}: no such model file")
        raise _native.error(_native.DS_ERR_INVALID_ARGUMENT,
                            f"unknown model '{spec}': give a .gguf/.pt file or one of {', '.join(arch_names())}")
    d = store_dir(override)
    path = os.path.join(d, spec + ".gguf")
    if not os.path.isfile(path):
        raise _native.error(_native.DS_ERR_IO,
                            f"model {spec} is not in {d}: run 'depthsolve fetch {spec}', or convert its "
                            f"checkpoint with 'depthsolve convert {spec}.pt -o {path}'")
    return path
