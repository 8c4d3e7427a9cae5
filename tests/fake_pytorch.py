"""A stand-in for bench/compare's PyTorch interpreter (--pytorch-python, a
wrapper that runs this file with its arguments), for tests: answers the
version probes, and for a runner script (bench/pytorch_*.py
ARGS) writes a depth of ones where --save asks and prints the JSON line the
runners print, with a network median of FAKE_PYTORCH_MS (default 1000 ms).
It also stands in for the ONNX side (--ort-python, --openvino-python):
bench/export_onnx.py writes a placeholder model file named
<model>_<H>x<W>.onnx, and bench/onnx_bench.py on it answers like the
runners, in FAKE_ORT_MS (onnxruntime) or FAKE_OV_MS (openvino).
With FAKE_PYTORCH_FAIL set, a runner fails as a broken checkout would."""
import json
import os
import sys

import numpy as np

if sys.argv[1] == "-c":  # probes: "import torch, torchvision; print(...)", "import timm"
    if "print" in sys.argv[2]:
        print("0.0+fake False")
    sys.exit(0)
script, args = os.path.basename(sys.argv[1]), sys.argv[2:]
value = lambda flag, default=None: args[args.index(flag) + 1] if flag in args else default  # noqa: E731
if os.environ.get("FAKE_PYTORCH_FAIL") and script.startswith("pytorch_"):
    print(f"{script}: cannot import the model (fake)", file=sys.stderr)
    sys.exit(2)
if script == "export_onnx.py":
    with open(value("-o"), "w") as f:
        f.write("fake onnx\n")
    sys.exit(0)
if script == "onnx_bench.py":  # the size is in the exported file's name
    args += ["--size", value("--model").rsplit("_", 1)[1].removesuffix(".onnx")]
h, w = (int(v) for v in value("--size", "64x64").split("x"))
if value("--save"):
    np.save(value("--save"), np.ones((1, h, w), np.float32))
timing = {"onnxruntime": "FAKE_ORT_MS", "openvino": "FAKE_OV_MS"}.get(value("--runtime"), "FAKE_PYTORCH_MS")
ms = float(os.environ.get(timing, "1000"))
print(json.dumps({"engine": "pytorch", "torch": "0.0+fake", "arch": value("--arch"),
                  "mode": "end_to_end" if "--image" in args else "network", "height": h, "width": w,
                  "threads": 1, "runs": 1, "load_ms": 1.0, "first_ms": ms, "median_ms": ms, "p90_ms": ms,
                  "p99_ms": ms, "min_ms": ms, "device": "cpu", "precision": "fp32", "peak_gpu_mib": 0,
                  "peak_rss_mib": 1.0}))
