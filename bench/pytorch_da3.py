#!/usr/bin/env python3
"""Runs the official PyTorch Depth Anything 3 network with synthetic weights, offline.

Builds the API class DepthAnything3 of a ByteDance-Seed/Depth-Anything-3
checkout from its config (da3-small, da3mono-large, da3metric-large; no
download), fills its state_dict with the synthetic formula (one value for
DualDPT's LayerNorm stored under four names), and prints the JSON line
bench/compare reads (bench/torch_timing.py): DepthAnything3Net on a
1x1x3xHxW input in float32 (the API's own forward would run it under
autocast: fp16 on a CPU). Needs torch >= 2 and the checkout's imports
(omegaconf, addict, einops, ...); modules the one-picture path imports but
never calls (evo, the exporters, torchvision's transforms) are stubbed.

  bench/pytorch_da3.py --da3 ~/Depth-Anything-3 --arch da3_small --size 378x504 --threads 2
"""
import argparse
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402

CONFIGS = {"da3_small": "da3-small", "da3mono_large": "da3mono-large", "da3metric_large": "da3metric-large"}


def fail(msg):
    print(f"pytorch_da3.py: {msg}", file=sys.stderr)
    sys.exit(2)


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def build(da3, arch):
    if arch not in CONFIGS:
        fail(f"unknown architecture {arch!r} (one of {', '.join(CONFIGS)})")
    sys.path.insert(0, os.path.join(da3, "src"))
    try:
        import evo.core.trajectory  # noqa: F401
    except ImportError:
        stub("evo"), stub("evo.core"), stub("evo.core.trajectory", PosePath3D=None)
    stub("depth_anything_3.utils.export", export=None)
    try:
        import torchvision.transforms  # noqa: F401
    except ImportError:  # the input processor's, which the network alone never calls
        never = lambda *a, **k: None  # noqa: E731
        stub("torchvision").transforms = stub("torchvision.transforms", ToTensor=never, Normalize=never,
                                              CenterCrop=never, Compose=never)
    from depth_anything_3.api import DepthAnything3
    return DepthAnything3(model_name=CONFIGS[arch])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--da3", required=True, help="path to a ByteDance-Seed/Depth-Anything-3 checkout")
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", default="378x504", help="HxW of the network input (multiples of 14)")
    torch_timing.add_common_args(ap)
    args = ap.parse_args()
    args.half = False
    try:
        import torch
    except ImportError:
        fail("PyTorch >= 2 is not installed")
    if not os.path.isdir(os.path.join(args.da3, "src", "depth_anything_3")):
        fail(f"{args.da3} is not a Depth-Anything-3 checkout (no src/depth_anything_3/)")
    device, sync = torch_timing.set_up(torch, args, fail)
    h, w = (int(v) for v in args.size.split("x"))
    t0 = time.perf_counter()
    api = build(args.da3, args.arch)
    torch_timing.load_synthetic(torch, api)  # the tied LayerNorm (ray branch, deleted) keeps its last name's value
    net = api.model.to(device).eval()
    sync()
    load_ms = (time.perf_counter() - t0) * 1e3
    # (1, 3, H, W) as one view of one batch; depth (1, 1, H, W) -> (1, H, W)
    step = torch_timing.network_step(torch, lambda x: net(x[:, None])["depth"][:, 0], args, h, w, device)
    torch_timing.finish(torch, args, args.arch, False, h, w, load_ms, step, sync)


if __name__ == "__main__":
    main()
