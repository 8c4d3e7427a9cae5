#!/usr/bin/env python3
"""Exports the official PyTorch MiDaS or Depth Anything V2 network, with the
synthetic weights (or a checkpoint), to ONNX at one input size, for the peer
runtimes.

The model is built as bench/pytorch_midas.py builds it (offline). torch 1.13
cannot export the DPT backbones' nn.Unflatten, whose sizes come from traced
shapes: it is replaced by the same reshape with Python int sizes, which
exports every model (the graph is for this one input size).

Depth Anything V2 (--dav2, built as bench/pytorch_dav2.py builds it) exports
as it is: its DINOv2 position embedding is resized with sizes traced as
constants, right for the one input size of the graph.

  bench/export_onnx.py --midas ~/MiDaS --arch dpt_hybrid_384 --size 384x384 -o dpt.onnx
  bench/export_onnx.py --dav2 ~/Depth-Anything-V2 --arch depth_anything_v2_vits --size 518x518 -o v.onnx
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_dav2  # noqa: E402
import pytorch_midas  # noqa: E402
import synth_weights  # noqa: E402
import torch_timing  # noqa: E402


def fail(msg):
    print(f"export_onnx.py: {msg}", file=sys.stderr)
    sys.exit(2)


def int_unflatten(torch):
    class IntUnflatten(torch.nn.Module):
        """nn.Unflatten with its sizes as Python ints (constants in the export)."""

        def __init__(self, dim, sizes):
            super().__init__()
            self.dim = dim
            self.sizes = [int(s) for s in sizes]

        def forward(self, x):
            shape = list(x.shape)  # aten::unflatten has no ONNX export in torch 1.13: a reshape
            return x.reshape(shape[:self.dim] + self.sizes + shape[self.dim + 1:])

    return IntUnflatten


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--midas", help="path to an isl-org/MiDaS checkout (MiDaS models)")
    ap.add_argument("--dav2", help="path to a DepthAnything/Depth-Anything-V2 checkout (depth_anything_v2_*)")
    ap.add_argument("--geffnet", help="gen-efficientnet-pytorch checkout (else the geffnet package)")
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", required=True, help="HxW")
    ap.add_argument("--checkpoint", help="weights from this .pt (default: the synthetic formula)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    try:
        import torch
        import torchvision
    except ImportError:
        fail("PyTorch and torchvision are not installed")
    h, w = (int(v) for v in args.size.split("x"))
    if args.arch.startswith("depth_anything_v2_"):
        if not args.dav2:
            fail(f"{args.arch} needs --dav2 (a Depth-Anything-V2 checkout)")
        model = pytorch_dav2.build(args.dav2, args.arch)
    else:
        if not args.midas:
            fail(f"{args.arch} needs --midas (a MiDaS checkout)")
        sys.path.insert(0, args.midas)
        torch.nn.Unflatten = int_unflatten(torch)
        pytorch_midas.offline_hub(torch, torchvision, args.geffnet)
        model = pytorch_midas.build(args.arch)
    if args.checkpoint:
        params = torch.load(args.checkpoint, map_location="cpu")
        model.load_state_dict(params["model"] if "optimizer" in params else params)
    else:  # as the PyTorch runners fill it: buffers the model computes keep their values
        torch_timing.load_synthetic(torch, model)
    model.eval()
    x = torch.from_numpy(synth_weights.network_input(h, w))
    tmp = args.output + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, input_names=["input"], output_names=["depth"], opset_version=13)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
