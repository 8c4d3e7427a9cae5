#!/usr/bin/env python3
"""Runs the official PyTorch Depth Anything V2 network with synthetic weights, offline.

Builds DepthAnythingV2 from a DepthAnything/Depth-Anything-V2 checkout
(depth_anything_v2/ for the relative models, metric_depth/depth_anything_v2/
with max_depth for the metric ones), fills it with the synthetic formula (or
loads --checkpoint as run.py does), and prints the JSON line bench/compare
reads (bench/torch_timing.py): the network on a 1x3xHxW input, or with
--image infer_image's whole path on a photo (cv2 read, resize, network,
bilinear back). --save writes the network output (1xHxW) as .npy.

  bench/pytorch_dav2.py --dav2 ~/Depth-Anything-V2 --arch depth_anything_v2_vits --size 518x518 --threads 2
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402

CONFIGS = {"vits": (64, [48, 96, 192, 384]), "vitb": (128, [96, 192, 384, 768]),
           "vitl": (256, [256, 512, 1024, 1024])}
MAX_DEPTH = {"hypersim": 20.0, "vkitti": 80.0}


def fail(msg):
    print(f"pytorch_dav2.py: {msg}", file=sys.stderr)
    sys.exit(2)


def build(dav2, arch):
    """The model of a depthsolve architecture name (depth_anything_v2[_metric_<set>]_<encoder>)."""
    parts = arch.split("_")
    encoder = parts[-1]
    if not arch.startswith("depth_anything_v2_") or encoder not in CONFIGS:
        fail(f"unknown architecture {arch!r}")
    features, out_channels = CONFIGS[encoder]
    metric = parts[3] if parts[3] == "metric" and len(parts) == 6 else None
    sys.path.insert(0, os.path.join(dav2, "metric_depth") if metric else dav2)
    from depth_anything_v2.dpt import DepthAnythingV2
    kwargs = {"encoder": encoder, "features": features, "out_channels": out_channels}
    if metric:
        kwargs["max_depth"] = MAX_DEPTH[parts[4]]
    return DepthAnythingV2(**kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dav2", required=True, help="path to a DepthAnything/Depth-Anything-V2 checkout")
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", default="518x518", help="HxW of the network input (multiples of 14)")
    ap.add_argument("--checkpoint", help="load weights from this .pth as run.py does (timed)")
    ap.add_argument("--image", help="time infer_image's whole path on this photo instead (needs cv2)")
    ap.add_argument("--input-size", type=int, default=518, help="infer_image's input_size (with --image)")
    ap.add_argument("--half", action="store_true", help="half weights and input (GPU)")
    torch_timing.add_common_args(ap)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed (Debian: python3-torch)")
    if not os.path.isdir(os.path.join(args.dav2, "depth_anything_v2")):
        fail(f"{args.dav2} is not a Depth-Anything-V2 checkout (no depth_anything_v2/ folder)")
    device, sync = torch_timing.set_up(torch, args, fail)
    h, w = (int(v) for v in args.size.split("x"))

    t0 = time.perf_counter()
    model = build(args.dav2, args.arch)
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    else:
        torch_timing.load_synthetic(torch, model)
    model = model.to(device).eval()
    if args.half:
        model = model.half()
    sync()
    load_ms = (time.perf_counter() - t0) * 1e3

    if args.image:
        try:
            import cv2
        except ImportError:
            fail("--image needs OpenCV (Debian: python3-opencv)")
        raw = cv2.imread(args.image)
        if raw is None:
            fail(f"{args.image}: OpenCV cannot read it")
        h, w = raw.shape[:2]
        step = lambda: model.infer_image(cv2.imread(args.image), args.input_size)  # noqa: E731
    else:
        step = torch_timing.network_step(torch, model, args, h, w, device)
    torch_timing.finish(torch, args, args.arch, bool(args.image), h, w, load_ms, step, sync)


if __name__ == "__main__":
    main()
