#!/usr/bin/python3
"""Writes a real torch.save checkpoint of a Swin model's full key set (tests/cli_swin.sh).

  swin_checkpoint.py KEYS_TSV OUT.pt zip|legacy [TAMPER_KEY TAMPERED.pt]

Every key of keys.tsv with its shape and dtype. Parameters get the synthetic
formula's values (bench/synth_weights.py), so the file converts to exactly
what `depthsolve synth` writes. Buffers (kind `buffer`) get the values
timm 0.6.13 computes, written here from timm's code independently of the
engine: relative_position_index (get_relative_position_index) and the
shifted windows' attn_mask (three bands per axis, -100 between bands).
TAMPERED.pt: the same with TAMPER_KEY's first value changed (the converter
must refuse it), written by the same run.
"""
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import synth_weights  # noqa: E402


def relative_position_index(win):
    coords = np.stack(np.meshgrid(np.arange(win), np.arange(win), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)
    rel[:, :, 0] += win - 1
    rel[:, :, 1] += win - 1
    rel[:, :, 0] *= 2 * win - 1
    return torch.from_numpy(rel.sum(-1).astype(np.int64))


def attn_mask(windows, tokens):
    """timm's mask of a shifted block: windows of win x win over a res x res map, shift win // 2."""
    win, per_side = math.isqrt(tokens), math.isqrt(windows)
    res, shift = win * per_side, win // 2
    img = np.zeros((res, res), dtype=np.float32)
    cnt = 0
    for h in (slice(0, -win), slice(-win, -shift), slice(-shift, None)):
        for w in (slice(0, -win), slice(-win, -shift), slice(-shift, None)):
            img[h, w] = cnt
            cnt += 1
    parts = img.reshape(per_side, win, per_side, win).transpose(0, 2, 1, 3).reshape(-1, tokens)
    diff = parts[:, None, :] - parts[:, :, None]
    return torch.from_numpy(np.where(diff != 0, np.float32(-100.0), np.float32(0.0)))


def main():
    keys, out, fmt = sys.argv[1:4]
    tamper, tampered_out = sys.argv[4:6] if len(sys.argv) > 5 else (None, None)
    rows = []
    for line in open(keys).read().splitlines()[1:]:
        name, dtype, shape, kind = line.split("\t")
        rows.append((name, dtype, () if shape == "scalar" else tuple(int(s) for s in shape.split("x")), kind))
    sd = OrderedDict()
    for name, dtype, shape, kind in rows:
        if kind == "buffer":
            t = relative_position_index(math.isqrt(shape[0])) if name.endswith("relative_position_index") \
                else attn_mask(shape[0], shape[1])
            assert tuple(t.shape) == shape and str(t.dtype) == "torch." + dtype, name
        else:
            t = torch.from_numpy(synth_weights.value(name, shape))
        sd[name] = t
    torch.save(sd, out, _use_new_zipfile_serialization=fmt == "zip")
    if tamper:
        sd[tamper] = sd[tamper].clone()
        sd[tamper].view(-1)[0] += 1
        torch.save(sd, tampered_out, _use_new_zipfile_serialization=fmt == "zip")


if __name__ == "__main__":
    main()
