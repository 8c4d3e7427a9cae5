#!/usr/bin/env python3
"""Times an ONNX model on ONNX Runtime's or OpenVINO's CPU runtime, as
`depthsolve bench` times ours: model load (session creation, or OpenVINO's
read and compile), first run, then the median, p90 and minimum of --runs
after --warmup, on the synthetic network input of the model's size, and the
process's peak RSS. Default settings (those a user gets), but for the thread
count; OpenVINO in its default precision unless --f32 (on a CPU without
bf16 its default is f32).

Prints one JSON object; --save writes the output as .npy.

  bench/onnx_bench.py --model dpt_hybrid_384_384x384.onnx --threads 2
  bench/onnx_bench.py --runtime openvino --model dpt_hybrid_384_384x384.onnx --threads 2
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights  # noqa: E402


def fail(msg):
    print(f"onnx_bench.py: {msg}", file=sys.stderr)
    sys.exit(2)


def onnxruntime_session(path, threads):
    """(run(x) -> output, (h, w), version) on ONNX Runtime's CPU provider."""
    try:
        import onnxruntime as ort
    except ImportError:
        fail("onnxruntime is not installed")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    return (lambda x: sess.run(None, {inp.name: x})[0]), tuple(inp.shape[2:]), ort.__version__


def openvino_session(path, threads, f32):
    """The same on OpenVINO's CPU plugin (latency hint: one request, all the threads)."""
    try:
        import openvino as ov
    except ImportError:
        fail("openvino is not installed")
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if f32:
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = ov.Core().compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    shape = compiled.inputs[0].get_shape()
    return (lambda x: request.infer([x])[compiled.outputs[0]].copy()), (shape[2], shape[3]), \
        ov.__version__.split("-")[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--runtime", choices=("onnxruntime", "openvino"), default="onnxruntime")
    ap.add_argument("--f32", action="store_true", help="OpenVINO: f32 inference even where bf16 is its default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--save", help="write the output here as .npy")
    args = ap.parse_args()
    t0 = time.perf_counter()
    run, (h, w), version = (openvino_session(args.model, args.threads, args.f32) if args.runtime == "openvino"
                            else onnxruntime_session(args.model, args.threads))
    load_ms = (time.perf_counter() - t0) * 1e3
    x = synth_weights.network_input(h, w)
    t0 = time.perf_counter()
    out = run(x)
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(args.warmup):
        run(x)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = run(x)
        times.append((time.perf_counter() - t0) * 1e3)
    if args.save:
        np.save(args.save, out.astype(np.float32))
    times.sort()
    print(json.dumps({"engine": args.runtime, "version": version, "height": h, "width": w,
                      "threads": args.threads, "runs": args.runs, "load_ms": round(load_ms, 3),
                      "first_ms": round(first_ms, 3), "median_ms": round(float(np.median(times)), 3),
                      "p90_ms": round(times[min(len(times) - 1, int(np.ceil(0.9 * len(times))) - 1)], 3),
                      "min_ms": round(times[0], 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
