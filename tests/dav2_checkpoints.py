#!/usr/bin/python3
"""Depth Anything V2 checkpoints of both published layouts, with the synthetic
weights of the reference README (bench/synth_weights.py), for tests/cli_dav2.sh.

Usage: tests/dav2_checkpoints.py KEYS_TSV OUTDIR
Writes into OUTDIR:
  hf.safetensors   the Transformers layout (DepthAnythingForDepthEstimation, the -hf
                   model.safetensors): keys renamed and attn.qkv split into query, key,
                   value as transformers' convert_depth_anything_to_hf.py does; NumPy only
  official.pth     the official state_dict as torch.save writes it (only with PyTorch;
                   official.pth is left out, and a line says so, without it)
"""
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import synth_weights as sw  # noqa: E402


def hf_name(key):
    """The Transformers name of an official key (None for attn.qkv: split apart)."""
    rules = [
        (r"pretrained\.cls_token$", "backbone.embeddings.cls_token"),
        (r"pretrained\.mask_token$", "backbone.embeddings.mask_token"),
        (r"pretrained\.pos_embed$", "backbone.embeddings.position_embeddings"),
        (r"pretrained\.patch_embed\.proj\.", "backbone.embeddings.patch_embeddings.projection."),
        (r"pretrained\.blocks\.(\d+)\.ls1\.gamma$", r"backbone.encoder.layer.\1.layer_scale1.lambda1"),
        (r"pretrained\.blocks\.(\d+)\.ls2\.gamma$", r"backbone.encoder.layer.\1.layer_scale2.lambda1"),
        (r"pretrained\.blocks\.(\d+)\.attn\.proj\.", r"backbone.encoder.layer.\1.attention.output.dense."),
        (r"pretrained\.blocks\.(\d+)\.", r"backbone.encoder.layer.\1."),
        (r"pretrained\.norm\.", "backbone.layernorm."),
        (r"depth_head\.projects\.(\d+)\.", r"neck.reassemble_stage.layers.\1.projection."),
        (r"depth_head\.resize_layers\.(\d+)\.", r"neck.reassemble_stage.layers.\1.resize."),
        (r"depth_head\.scratch\.output_conv1\.", "head.conv1."),
        (r"depth_head\.scratch\.output_conv2\.0\.", "head.conv2."),
        (r"depth_head\.scratch\.output_conv2\.2\.", "head.conv3."),
    ]
    if re.search(r"\.attn\.qkv\.", key):
        return None
    m = re.match(r"depth_head\.scratch\.layer(\d)_rn\.(.*)", key)
    if m:
        return "neck.convs.%d.%s" % (int(m.group(1)) - 1, m.group(2))
    m = re.match(r"depth_head\.scratch\.refinenet(\d)\.(.*)", key)
    if m:
        j, rest = 4 - int(m.group(1)), m.group(2)
        rest = rest.replace("out_conv.", "projection.")
        rest = re.sub(r"resConfUnit(\d)\.conv(\d)\.", r"residual_layer\1.convolution\2.", rest)
        return "neck.fusion_stage.layers.%d.%s" % (j, rest)
    for pattern, to in rules:
        if re.match(pattern, key):
            return re.sub(pattern, to, key)
    raise SystemExit("no Transformers name for " + key)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        b = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    keys_tsv, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rows = sw.read_keys(keys_tsv)
    values = [(k, sw.value(k, shape)) for k, _, shape in rows]
    hf = []
    for k, v in values:
        name = hf_name(k)
        if name is not None:
            hf.append((name, v))
            continue
        i, leaf = re.match(r"pretrained\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)", k).groups()
        c = v.shape[0] // 3
        for p, part in enumerate(("query", "key", "value")):
            hf.append(("backbone.encoder.layer.%s.attention.attention.%s.%s" % (i, part, leaf), v[p * c:(p + 1) * c]))
    write_safetensors(os.path.join(out, "hf.safetensors"), hf)
    try:
        import collections
        import torch
    except ImportError:
        print("no PyTorch: official.pth not written")
        return
    sd = collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in values)
    torch.save(sd, os.path.join(out, "official.pth"))


main()
