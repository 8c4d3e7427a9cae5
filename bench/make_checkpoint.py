#!/usr/bin/env python3
"""Writes a PyTorch checkpoint of a MiDaS architecture filled with synthetic weights.

The keys and shapes come from tests/data/reference/<arch>/keys.tsv (the
official model's state_dict), the values from the synthetic formula, and the
file is written by real torch.save, so it exercises the same reader path as an
official download. Needs PyTorch (Debian: python3-torch; run with /usr/bin/python3).

  bench/make_checkpoint.py --arch midas_v21_384 -o /tmp/midas_v21_384.pt [--legacy] [--wrap]
"""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_weights  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--legacy", action="store_true", help="pre-1.6 (non-zip) format")
    ap.add_argument("--wrap", action="store_true", help='{"model": sd, "optimizer": {...}} like some releases')
    ap.add_argument("--half", action="store_true", help="store float tensors as float16")
    ap.add_argument("--zeros", action="store_true",
                    help="float tensors all zero, computed buffers of one shape sharing one storage: the "
                         "full key set written fast, for readers and converters (not the formula's numbers)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("make_checkpoint.py: PyTorch is not installed (Debian: apt-get install python3-torch)")
    keys = os.path.join(ROOT, "tests", "data", "reference", args.arch, "keys.tsv")
    if not os.path.exists(keys):
        sys.exit(f"make_checkpoint.py: no keys for '{args.arch}' ({keys})")
    sd = collections.OrderedDict()
    shared = {}
    for key, dtype, shape in synth_weights.read_keys(keys):
        if args.zeros and dtype == "float32":
            sd[key] = torch.zeros(shape, dtype=torch.float16 if args.half else torch.float32)
            continue
        if args.zeros and (key.rsplit(".", 1)[-1], shape) in shared:
            sd[key] = shared[(key.rsplit(".", 1)[-1], shape)]
            continue
        # np.array keeps 0-dim tensors (num_batches_tracked) 0-dim; ascontiguousarray would not
        t = torch.from_numpy(np.array(synth_weights.value(key, shape), order="C"))
        sd[key] = t.half() if args.half and t.is_floating_point() else t
        shared[(key.rsplit(".", 1)[-1], shape)] = sd[key]
    obj = {"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": []}]}} if args.wrap else sd
    torch.save(obj, args.output, _use_new_zipfile_serialization=not args.legacy)
    print(f"wrote {args.output}: {len(sd)} tensors, {os.path.getsize(args.output) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
