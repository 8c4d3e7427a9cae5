"""The synthetic-weight formula of tests/data/reference/REFERENCE_README.md in NumPy.

Fills a PyTorch state_dict (or a dict of arrays) with exactly the values the
reference data was computed with, and that `depthsolve synth` uses, so a
PyTorch model and depthsolve can run the same weights.
"""
import numpy as np

MASK = (1 << 64) - 1


def fnv1a64(key: str) -> int:
    h = 0xCBF29CE484222325
    for b in key.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def uniform(seed: int, n: int) -> np.ndarray:
    """float32 u in [-1, 1) for elements 0..n-1 (splitmix64)."""
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1.0)


def levit_bias_idxs(shape) -> np.ndarray:
    """LeViT's attention_bias_idxs (a buffer the model computes, not a formula):
    |dy| * res + |dx| between queries on every stride-th row and column of a
    res x res key grid and every key; shape (rq^2, res^2)."""
    tq, tk = (int(s) for s in shape)
    res, rq = int(round(tk ** 0.5)), int(round(tq ** 0.5))
    stride = 1 if rq == res else (res - 1) // (rq - 1)
    qy, qx = np.divmod(np.arange(tq), rq)
    ky, kx = np.divmod(np.arange(tk), res)
    return (np.abs(stride * qy[:, None] - ky[None, :]) * res + np.abs(stride * qx[:, None] - kx[None, :])).astype(np.int64)


# Rows for exact keys (scale, offset): Depth Anything V2's last convolution;
# Depth Anything 3's last convolutions and field of view (the reference README's DA3 rows).
KEY_ROWS = {
    "depth_head.scratch.output_conv2.2.weight": (0.005, None),
    "depth_head.scratch.output_conv2.2.bias": (0.1, 1.0),
    "model.head.scratch.output_conv2.2.weight": (0.005, None),
    "model.head.scratch.output_conv2.2.bias": (0.1, 1.0),
    "model.head.scratch.sky_output_conv2.2.weight": (0.005, None),
    "model.head.scratch.sky_output_conv2.2.bias": (0.1, -0.2),
    "model.cam_dec.fc_fov.0.weight": (0.002, None),
    "model.cam_dec.fc_fov.0.bias": (0.1, 1.0),
}


def relative_position_index(gh: int, gw: int) -> np.ndarray:
    """timm 0.6.13's gen_relative_position_index((gh, gw)), int64 (T, T), T = 1 + gh*gw."""
    y, x = np.divmod(np.arange(gh * gw), gw)
    r = (y[:, None] - y[None, :] + gh - 1) * (2 * gw - 1) + (x[:, None] - x[None, :] + gw - 1)
    n = (2 * gh - 1) * (2 * gw - 1) + 3
    out = np.zeros((gh * gw + 1,) * 2, dtype=np.int64)
    out[1:, 1:] = r
    out[0, :] = n - 3
    out[:, 0] = n - 2
    out[0, 0] = n - 1
    return out


def value(key: str, shape) -> np.ndarray:
    """The tensor `key` of `shape` (tuple) as the formula defines it (computed
    buffers: as the model computes them)."""
    shape = tuple(int(s) for s in shape)
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    if leaf == "attention_bias_idxs":
        return levit_bias_idxs(shape)
    if leaf == "relative_position_index" and len(shape) == 2 and round((shape[0] - 1) ** 0.5) ** 2 == shape[0] - 1:
        g = int(round((shape[0] - 1) ** 0.5))  # BEiT's (G^2 + 1) square, for the trained G x G grid
        return relative_position_index(g, g)
    n = int(np.prod(shape)) if shape else 1
    u = uniform(fnv1a64(key), n)
    if key in KEY_ROWS:
        scale, offset = KEY_ROWS[key]
        v = np.float32(scale) * u
        if offset is not None:
            v = np.float32(offset) + v
    elif len(shape) >= 2 and leaf == "weight":
        fan_in = int(np.prod(shape[1:]))
        v = u * np.float32(np.sqrt(6.0 / fan_in))
    elif leaf == "running_var":
        v = np.float32(1.5) + np.float32(0.5) * u
    elif leaf == "running_mean":
        v = np.float32(0.1) * u
    elif len(shape) == 1 and leaf == "weight":
        v = np.float32(1.0) + np.float32(0.1) * u
    elif leaf == "bias":
        v = np.float32(0.1) * u
    elif leaf == "attention_biases":  # LeViT
        v = u
    elif leaf == "relative_position_bias_table":
        v = u
    elif leaf in ("gamma_1", "gamma_2", "gamma"):  # BEiT's layer scale
        v = np.float32(0.5) + np.float32(0.25) * u
    elif leaf == "logit_scale":
        v = np.float32(1.5) + np.float32(0.5) * u
    elif leaf in ("q_bias", "v_bias"):
        v = np.float32(0.1) * u
    elif leaf in ("gamma", "gamma_1", "gamma_2"):  # layer scale
        v = np.float32(0.5) + np.float32(0.25) * u
    else:
        v = np.float32(0.02) * u
    return v.astype(np.float32).reshape(shape)


def network_input(h: int, w: int) -> np.ndarray:
    """The 1x3xHxW input of case net_HxW."""
    return (np.float32(2.0) * uniform(fnv1a64(f"input:{h}x{w}"), 3 * h * w)).reshape(1, 3, h, w)


def read_keys(path):
    """(key, dtype, shape) rows of a reference keys.tsv (3 columns, or 4 with
    the v3.1 lists' kind: param | stat | buffer)."""
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            key, dtype, shape = line.split()[:3]  # v3.1 files add a 4th column, the kind
            dims = () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
            rows.append((key, dtype, dims))
    return rows


if __name__ == "__main__":
    # the check values published in the reference README
    w = value("pretrained.layer1.0.weight", (32, 3, 3, 3)).ravel()
    assert w[0].view(np.uint32) == 0x3DD81F6C and w[2].view(np.uint32) == 0xBE3AC958
    assert value("pretrained.layer1.1.running_var", (32,))[0].view(np.uint32) == 0x3FFEEACC
    assert value("pretrained.layer1.1.weight", (32,))[1].view(np.uint32) == 0x3F805C14
    assert value("pretrained.model.blocks.0.m.attention_biases", (6, 196))[0, 0].view(np.uint32) == 0xBF3BCC04
    swin2 = "pretrained.model.layers.0.blocks.0.attn."
    assert value(swin2 + "logit_scale", (3, 1, 1)).ravel()[0].view(np.uint32) == 0x3FDD9D2C
    assert value(swin2 + "q_bias", (96,))[0].view(np.uint32) == 0xBDC6A127
    assert value("pretrained.model.blocks.0.gamma_1", (768,))[0].view(np.uint32) == 0x3F20F2E0
    t = value("pretrained.model.blocks.0.attn.relative_position_bias_table", (2212, 12)).ravel()
    assert t[1].view(np.uint32) == 0x3F61165E
    i = value("pretrained.model.blocks.0.attn.relative_position_index", (577, 577))
    assert i[0, 0] == 2211 and i[0, 5] == 2209 and i[5, 0] == 2210 and i[1, 1] == 23 * 47 + 23
    print("check values ok")
