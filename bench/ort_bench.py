#!/usr/bin/env python3
"""Times an ONNX model on ONNX Runtime's CPU provider, as `depthsolve bench`
times ours: session creation, first run, then the median, p90 and minimum of
--runs after --warmup, on the synthetic network input of the model's size,
and the process's peak RSS.
Default session settings (those a user gets), but for the thread count.

Prints one JSON object; --save writes the output as .npy.

  bench/ort_bench.py --model dpt_hybrid_384_384x384.onnx --threads 2
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--save", help="write the output here as .npy")
    args = ap.parse_args()
    try:
        import onnxruntime as ort
    except ImportError:
        print("ort_bench.py: onnxruntime is not installed", file=sys.stderr)
        sys.exit(2)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    inp = sess.get_inputs()[0]
    _, _, h, w = inp.shape
    x = synth_weights.network_input(h, w)
    t0 = time.perf_counter()
    out = sess.run(None, {inp.name: x})[0]
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(args.warmup):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = sess.run(None, {inp.name: x})[0]
        times.append((time.perf_counter() - t0) * 1e3)
    if args.save:
        np.save(args.save, out.astype(np.float32))
    times.sort()
    print(json.dumps({"engine": "onnxruntime", "version": ort.__version__, "height": h, "width": w,
                      "threads": args.threads, "runs": args.runs, "load_ms": round(load_ms, 3),
                      "first_ms": round(first_ms, 3), "median_ms": round(float(np.median(times)), 3),
                      "p90_ms": round(times[min(len(times) - 1, int(np.ceil(0.9 * len(times))) - 1)], 3),
                      "min_ms": round(times[0], 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
