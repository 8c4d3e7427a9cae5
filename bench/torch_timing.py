"""The timing and the JSON line of the PyTorch side of bench/compare
(bench/pytorch_midas.py, bench/pytorch_dav2.py): one step timed after a
first run and warm-up runs, its latencies, load time and peak memory."""
import json
import resource
import time

import numpy as np


def time_steps(torch, step, runs, warmup, sync):
    """(first run ms, sorted run ms, the last output) of step() under no_grad."""
    times = []
    with torch.no_grad():
        t0 = time.perf_counter()
        out = step()
        sync()
        first_ms = (time.perf_counter() - t0) * 1e3
        for _ in range(warmup):
            step()
        sync()
        for _ in range(runs):
            t0 = time.perf_counter()
            out = step()
            sync()
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return first_ms, times, out


def report(torch, args, arch, end_to_end, h, w, load_ms, first_ms, times, half=False, tf32=False):
    """The JSON line bench/compare reads."""
    q = lambda f: times[min(len(times) - 1, max(0, int(np.ceil(f * len(times))) - 1))]  # noqa: E731
    print(json.dumps({
        "engine": "pytorch", "torch": torch.__version__, "arch": arch,
        "mode": "end_to_end" if end_to_end else "network", "height": h, "width": w,
        "threads": torch.get_num_threads(), "runs": args.runs, "load_ms": round(load_ms, 3),
        "first_ms": round(first_ms, 3), "median_ms": round(q(0.5), 3), "p90_ms": round(q(0.9), 3),
        "p99_ms": round(q(0.99), 3), "min_ms": round(times[0], 3), "device": args.device,
        "precision": "fp16" if half else "tf32" if tf32 else "fp32",
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 1048576, 1) if args.device == "cuda" else 0,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
