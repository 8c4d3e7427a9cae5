#!/usr/bin/env python3
"""Runs the official PyTorch MiDaS network with synthetic weights, offline.

Builds the model class the MiDaS checkout's model_loader uses for each type,
without any download: torch.hub calls are answered from a local
gen-efficientnet-pytorch checkout (small model) or torchvision's
resnext101_32x8d (v2.1 384, the same architecture as the WSL hub entry), and
timm 0.6.13 builds the ViTs with pretrained=False. Weights come from the
synthetic formula (or from --checkpoint, loaded like MiDaS loads its files).

Prints one JSON object: load time, median/p90/p99 latency over --runs after
--warmup, peak RSS (and on a GPU the peak memory PyTorch allocated); --save
writes the 1xHxW output as .npy. --device cuda runs on the GPU, timed with
torch.cuda.synchronize() (the output downloaded in the end-to-end path);
--half is run.py's --optimize there (channels_last, half weights and
input), --tf32 lets cuDNN and cuBLAS use TF32.

  bench/pytorch_midas.py --midas ~/MiDaS --geffnet ~/gen-efficientnet-pytorch \\
      --arch midas_v21_small_256 --size 256x256 --threads 2
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402


def fail(msg):
    print(f"pytorch_midas.py: {msg}", file=sys.stderr)
    sys.exit(2)


def offline_hub(torch, torchvision, geffnet):
    real_load = torch.hub.load

    def load(repo, model, *args, **kwargs):
        if repo == "rwightman/gen-efficientnet-pytorch":
            kwargs["pretrained"] = False
            if geffnet:
                return real_load(geffnet, model, *args, source="local", **kwargs)
            try:  # the same code as a package (PyPI geffnet)
                import geffnet as package
            except ImportError:
                fail("the small model needs --geffnet PATH (a gen-efficientnet-pytorch checkout) "
                     "or the geffnet package")
            return getattr(package, model)(*args, **kwargs)
        if repo == "facebookresearch/WSL-Images" and model == "resnext101_32x8d_wsl":
            return torchvision.models.resnext101_32x8d()
        fail(f"unexpected torch.hub.load({repo!r}, {model!r}): refusing to download")

    torch.hub.load = load


# model_loader.py's net_w = net_h (384 where not named)
NET_SIZE = {"midas_v21_small_256": 256, "dpt_swin2_tiny_256": 256, "dpt_levit_224": 224, "dpt_beit_large_512": 512}
# model_loader.py's keep_aspect_ratio=False: every photo stretched to the one size
FIXED_SIZE = {"dpt_swin2_large_384", "dpt_swin2_base_384", "dpt_swin2_tiny_256", "dpt_swin_large_384",
              "dpt_levit_224"}


def build(arch):
    from midas.dpt_depth import DPTDepthModel
    from midas.midas_net import MidasNet
    from midas.midas_net_custom import MidasNet_small

    if arch == "dpt_large_384":
        return DPTDepthModel(path=None, backbone="vitl16_384", non_negative=True)
    if arch == "dpt_levit_224":
        return DPTDepthModel(path=None, backbone="levit_384", non_negative=True, head_features_1=64,
                             head_features_2=8)
    beit = {"dpt_beit_large_512": "beitl16_512", "dpt_beit_large_384": "beitl16_384", "dpt_beit_base_384": "beitb16_384"}
    if arch in beit:  # MiDaS v3.1: timm builds the BEiT with pretrained=False
        return DPTDepthModel(path=None, backbone=beit[arch], non_negative=True)
    if arch == "dpt_hybrid_384":
        return DPTDepthModel(path=None, backbone="vitb_rn50_384", non_negative=True)
    if arch == "midas_v21_384":
        return MidasNet(None, non_negative=True)
    if arch == "midas_v21_small_256":
        return MidasNet_small(None, features=64, backbone="efficientnet_lite3", exportable=True,
                              non_negative=True, blocks={"expand": True})
    swin = {"dpt_swin2_large_384": "swin2l24_384", "dpt_swin2_base_384": "swin2b24_384",
            "dpt_swin2_tiny_256": "swin2t16_256", "dpt_swin_large_384": "swinl12_384"}
    if arch in swin:
        return DPTDepthModel(path=None, backbone=swin[arch], non_negative=True)
    fail(f"unknown architecture {arch!r}")


def run_py_path(torch, model, arch, path, device, half):
    """run.py's path on one photo: read, transform, network, bicubic back."""
    try:
        import cv2
    except ImportError:
        fail("--image needs OpenCV (Debian: python3-opencv)")
    from midas.transforms import NormalizeImage, PrepareForNet, Resize
    from torchvision.transforms import Compose

    net = NET_SIZE.get(arch, 384)
    mean, std = ([0.5] * 3, [0.5] * 3) if arch.startswith("dpt") else ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    transform = Compose([
        Resize(net, net, resize_target=None, keep_aspect_ratio=arch not in FIXED_SIZE, ensure_multiple_of=32,
               resize_method="minimal" if arch.startswith("dpt") else "upper_bound",
               image_interpolation_method=cv2.INTER_CUBIC),
        NormalizeImage(mean=mean, std=std), PrepareForNet()])

    def step():
        img = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) / 255.0
        x = torch.from_numpy(transform({"image": img})["image"]).to(device).unsqueeze(0)
        if half:
            x = x.to(memory_format=torch.channels_last).half()
        pred = model(x)
        return torch.nn.functional.interpolate(pred.unsqueeze(1).float(), size=img.shape[:2], mode="bicubic",
                                               align_corners=False).squeeze().cpu()

    probe = cv2.imread(path)
    if probe is None:
        fail(f"{path}: OpenCV cannot read it")
    step.size = probe.shape[:2]
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--midas", required=True, help="path to an isl-org/MiDaS checkout")
    ap.add_argument("--geffnet", help="path to a gen-efficientnet-pytorch checkout (small model)")
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", default=None, help="HxW (default: the training size, square)")
    ap.add_argument("--checkpoint", help="load weights from this .pt as MiDaS does (timed)")
    ap.add_argument("--image", help="time run.py's whole path on this photo instead (needs cv2)")
    ap.add_argument("--half", action="store_true", help="run.py's --optimize on the GPU: channels_last, half")
    torch_timing.add_common_args(ap)
    args = ap.parse_args()

    try:
        import torch
        import torchvision
    except ImportError:
        fail("PyTorch and torchvision are not installed (Debian: python3-torch python3-torchvision)")
    if not os.path.isdir(os.path.join(args.midas, "midas")):
        fail(f"{args.midas} is not a MiDaS checkout (no midas/ folder)")
    sys.path.insert(0, args.midas)
    try:
        import timm  # noqa: F401
    except ImportError:
        fail("timm is not installed (pip install timm==0.6.13)")
    device, sync = torch_timing.set_up(torch, args, fail)
    offline_hub(torch, torchvision, args.geffnet)

    net = NET_SIZE.get(args.arch, 384)
    h, w = (int(v) for v in args.size.split("x")) if args.size else (net, net)
    t0 = time.perf_counter()
    model = build(args.arch)
    if args.checkpoint:
        params = torch.load(args.checkpoint, map_location="cpu")
        if "optimizer" in params:
            params = params["model"]
        model.load_state_dict(params)
    else:
        torch_timing.load_synthetic(torch, model)
    model.eval()
    model.to(device)
    if args.half:
        model = model.to(memory_format=torch.channels_last).half()
    sync()
    load_ms = (time.perf_counter() - t0) * 1e3

    if args.image:
        step = run_py_path(torch, model, args.arch, args.image, device, args.half)
        h, w = step.size
    else:
        step = torch_timing.network_step(torch, model, args, h, w, device, channels_last=True)
    torch_timing.finish(torch, args, args.arch, bool(args.image), h, w, load_ms, step, sync)


if __name__ == "__main__":
    main()
