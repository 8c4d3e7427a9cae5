#!/usr/bin/env python3
"""Known answers for bench/torch_timing.py's op classes (run by tests/cli_bench.sh)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    failures += not ok


for op, want in (("aten::addmm", "linear"), ("aten::mm", "linear"), ("aten::bmm", "attention"),
                 ("aten::_softmax", "attention"), ("aten::mkldnn_convolution", "convolution"),
                 ("aten::slow_conv_transpose2d", "convolution"), ("aten::upsample_bilinear2d", "other"),
                 ("aten::linear", "other")):  # aten::linear's own time is dispatch; its addmm is counted
    check(f"op_class_{op.split('::')[1]}", torch_timing.op_class(op) == want, torch_timing.op_class(op))

# two runs' self microseconds -> milliseconds a run per class
got = torch_timing.class_ms({"aten::addmm": 4000.0, "aten::mm": 2000.0, "aten::bmm": 1000.0,
                             "aten::mkldnn_convolution": 600.0, "aten::add": 400.0}, 2)
want = {"linear": 3.0, "attention": 0.5, "convolution": 0.3, "other": 0.2, "total": 4.0}
check("class_ms_per_run", got == want, got)

sys.exit(1 if failures else 0)
