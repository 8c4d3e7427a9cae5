"""What the PyTorch runners of bench/compare (bench/pytorch_midas.py,
bench/pytorch_dav2.py) share: their common options and device set-up, the
synthetic weights loaded into a model, one step timed after a first run and
warm-up runs, and the JSON line with latencies, load time and peak memory."""
import json
import resource
import sys
import time

import numpy as np

import synth_weights


def add_common_args(ap):
    """The options of both runners besides the model's own."""
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--input", help="1x3xHxW .npy input (default: the synthetic input)")
    ap.add_argument("--save", help="write the output (1xHxW) here as .npy")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS (GPU)")
    ap.add_argument("--profile", action="store_true",
                    help="then --runs more under torch.profiler: milliseconds a run per op class in the JSON line")


def set_up(torch, args, fail):
    """Threads, the device and its TF32 switches, as args say: (device, sync)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("no CUDA device for PyTorch (torch.cuda.is_available() is False)")
    if (args.half or args.tf32) and args.device != "cuda":
        fail("--half and --tf32 are for --device cuda")
    if args.device == "cuda":
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
    return torch.device(args.device), (torch.cuda.synchronize if args.device == "cuda" else (lambda: None))


def load_synthetic(torch, model):
    """model's parameters and BatchNorm statistics from the synthetic formula;
    buffers the model computes (Swin's relative_position_index, attn_mask)
    keep their values."""
    synthetic = {k for k, _ in model.named_parameters()}
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if key in synthetic or key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked"):
                t.copy_(torch.from_numpy(synth_weights.value(key, tuple(t.shape))))


def network_step(torch, model, args, h, w, device, channels_last=False):
    """model on the --input (or synthetic) 1x3xHxW tensor, as a step."""
    x = np.load(args.input) if args.input else synth_weights.network_input(h, w)
    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
    if args.half:
        x = (x.to(memory_format=torch.channels_last) if channels_last else x).half()
    return lambda: model(x)


def finish(torch, args, arch, end_to_end, h, w, load_ms, step, sync):
    """Times step, saves its output if asked, prints the JSON line."""
    first_ms, times, out = time_steps(torch, step, args.runs, args.warmup, sync)
    if args.save:
        out = out if isinstance(out, np.ndarray) else out.float().cpu().numpy()
        np.save(args.save, out.astype(np.float32))
    ops_ms = profile_steps(torch, step, args.runs) if args.profile else None
    report(torch, args, arch, end_to_end, h, w, load_ms, first_ms, times, args.half, args.tf32, ops_ms)
    sys.stdout.flush()


# aten ops by the class `depthsolve net --profile` counts them in
OP_CLASSES = {
    "linear": ("aten::addmm", "aten::mm", "aten::addmv", "aten::mv"),
    "attention": ("aten::bmm", "aten::baddbmm", "aten::_softmax", "aten::_safe_softmax",
                  "aten::_scaled_dot_product_flash_attention_for_cpu",
                  "aten::_scaled_dot_product_attention_math"),
    "convolution": ("aten::mkldnn_convolution", "aten::_convolution", "aten::convolution",
                    "aten::slow_conv_transpose2d", "aten::_slow_conv2d_forward", "aten::thnn_conv2d",
                    "aten::_nnpack_spatial_convolution", "aten::_conv_depthwise2d",
                    "aten::mkldnn_convolution_transpose"),
}


def op_class(name):
    """The class of one aten op's self time: linear, attention, convolution or other."""
    for cls, names in OP_CLASSES.items():
        if name in names:
            return cls
    return "other"


def class_ms(self_us, runs):
    """{op name: self microseconds} over `runs` runs -> ms a run per class, and the total."""
    out = {cls: 0.0 for cls in (*OP_CLASSES, "other")}
    for name, us in self_us.items():
        out[op_class(name)] += us / 1e3 / runs
    out["total"] = sum(out.values())
    return {k: round(v, 3) for k, v in out.items()}


def profile_steps(torch, step, runs):
    """step() `runs` times under torch.profiler: ms a run per op class."""
    with torch.no_grad(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            step()
    return class_ms({e.key: e.self_cpu_time_total for e in prof.key_averages()}, runs)


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


def report(torch, args, arch, end_to_end, h, w, load_ms, first_ms, times, half=False, tf32=False, ops_ms=None):
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
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **({"ops_ms": ops_ms} if ops_ms else {})}))
