#!/usr/bin/env python3
"""mesh_read.py: an independent reader of depthsolve's mesh files (numpy
only, none of our C code): .glb (glTF 2.0 binary), .obj (+ .mtl + texture),
.ply (binary little-endian). It checks the file's own consistency and prints
one JSON line: vertex and triangle counts, position bounds, UV bounds,
the texture's size, and for .glb how far each vertex lands from its UV when
seen through the file's camera.

    mesh_read.py FILE        exit 1 with a message on any inconsistency
"""
import json
import os
import struct
import sys

import numpy as np


def fail(msg):
    print(f"{sys.argv[1]}: {msg}", file=sys.stderr)
    sys.exit(1)


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        fail("texture is not a PNG")
    return list(struct.unpack(">II", data[16:24]))


def common(pos, nrm, uv, idx):
    v = len(pos)
    if idx.size and (idx.min() < 0 or idx.max() >= v):
        fail("index out of range")
    if not (np.all(uv >= 0) and np.all(uv <= 1)):
        fail("UV outside [0, 1]")
    if nrm is not None and np.max(np.abs(np.linalg.norm(nrm.astype(np.float64), axis=1) - 1)) > 1e-4:
        fail("normal not of unit length")
    tri = pos[idx].astype(np.float64)
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if idx.size and not np.all(area > 0):
        fail("degenerate triangle")
    return {"vertices": v, "triangles": len(idx), "min": pos.min(0).tolist(), "max": pos.max(0).tolist(),
            "uv_min": uv.min(0).tolist(), "uv_max": uv.max(0).tolist()}


def read_glb(path):
    data = open(path, "rb").read()
    magic, version, length = struct.unpack("<III", data[:12])
    if magic != 0x46546C67 or version != 2 or length != len(data):
        fail("bad GLB header")
    jlen, jtype = struct.unpack("<II", data[12:20])
    if jtype != 0x4E4F534A or jlen % 4:
        fail("first chunk is not an aligned JSON chunk")
    doc = json.loads(data[20:20 + jlen])
    blen, btype = struct.unpack("<II", data[20 + jlen:28 + jlen])
    if btype != 0x004E4942 or 28 + jlen + blen != len(data):
        fail("bad BIN chunk")
    binary = data[28 + jlen:]
    if doc["asset"]["version"] != "2.0" or doc["buffers"][0]["byteLength"] > blen:
        fail("bad asset or buffer")

    def accessor(i):
        a = doc["accessors"][i]
        view = doc["bufferViews"][a["bufferView"]]
        comps = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[a["type"]]
        dtype = {5126: "<f4", 5125: "<u4"}[a["componentType"]]
        stride = view.get("byteStride", comps * 4)
        start = view.get("byteOffset", 0) + a.get("byteOffset", 0)
        end = start + stride * (a["count"] - 1) + comps * 4
        if end > view.get("byteOffset", 0) + view["byteLength"] or end > blen:
            fail(f"accessor {i} runs past its buffer view")
        raw = np.frombuffer(binary, dtype=np.uint8, count=stride * a["count"] - stride + comps * 4, offset=start)
        rows = np.lib.stride_tricks.as_strided(raw, shape=(a["count"], comps * 4), strides=(stride, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(a["count"], comps), a

    prim = doc["meshes"][0]["primitives"][0]
    pos, pa = accessor(prim["attributes"]["POSITION"])
    nrm, _ = accessor(prim["attributes"]["NORMAL"])
    uv, _ = accessor(prim["attributes"]["TEXCOORD_0"])
    idx, _ = accessor(prim["indices"])
    if prim.get("mode", 4) != 4:
        fail("not triangles")
    # JSON numbers read as float32, as glTF readers do, must be the data's extremes
    if np.any(np.float32(pa["min"]) != pos.min(0)) or np.any(np.float32(pa["max"]) != pos.max(0)):
        fail("POSITION min/max differ from the data")
    out = common(pos, nrm, uv, idx.reshape(-1, 3).astype(np.int64))
    tex = doc["textures"][doc["materials"][prim["material"]]["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = doc["images"][tex["source"]]
    view = doc["bufferViews"][image["bufferView"]]
    if image["mimeType"] != "image/png":
        fail("texture is not image/png")
    out["texture"] = png_size(binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])
    # the camera: every vertex seen through it lands on its own UV
    node = next(n for n in doc["nodes"] if "camera" in n)
    persp = doc["cameras"][node["camera"]]["perspective"]
    t = np.array(node.get("translation", [0, 0, 0]), dtype=np.float64)
    p = pos.astype(np.float64) - t
    ty = np.tan(persp["yfov"] / 2)
    tx = ty * persp["aspectRatio"]
    su = (p[:, 0] / -p[:, 2] / tx + 1) / 2
    sv = (1 - p[:, 1] / -p[:, 2] / ty) / 2
    out["camera"] = [node.get("translation", [0, 0, 0]), persp["yfov"], persp["aspectRatio"]]
    out["view_error"] = float(max(np.max(np.abs(su - uv[:, 0])), np.max(np.abs(sv - uv[:, 1]))))
    return out


def read_obj(path):
    v, vt, vn, f, mtllib = [], [], [], [], None
    for line in open(path):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        if w[0] == "v":
            v.append([float(x) for x in w[1:4]])
        elif w[0] == "vt":
            vt.append([float(x) for x in w[1:3]])
        elif w[0] == "vn":
            vn.append([float(x) for x in w[1:4]])
        elif w[0] == "f":
            corners = [c.split("/") for c in w[1:]]
            if len(corners) != 3 or any(len(set(c)) != 1 for c in corners):
                fail("face is not a triangle with v/vt/vn of one vertex")
            f.append([int(c[0]) - 1 for c in corners])
        elif w[0] == "mtllib":
            mtllib = w[1]
    if not (len(v) == len(vt) == len(vn)):
        fail("v, vt and vn counts differ")
    out = common(np.array(v, np.float32), np.array(vn, np.float32), np.array(vt, np.float32),
                 np.array(f, np.int64).reshape(-1, 3))
    mtl = os.path.join(os.path.dirname(path), mtllib or "")
    if not mtllib or not os.path.isfile(mtl):
        fail("no .mtl")
    maps = [l.split()[1] for l in open(mtl) if l.startswith("map_Kd")]
    if len(maps) != 1:
        fail("the .mtl has no map_Kd")
    out["texture"] = png_size(open(os.path.join(os.path.dirname(path), maps[0]), "rb").read(32))
    return out


def read_ply(path):
    data = open(path, "rb").read()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    if header[0] != "ply" or header[1] != "format binary_little_endian 1.0":
        fail("not binary little-endian PLY")
    counts, props, texture = {}, [], None
    for line in header:
        w = line.split()
        if w[0] == "element":
            counts[w[1]] = int(w[2])
        elif w[0] == "property" and w[1] == "float":
            props.append(w[2])
        elif w[:2] == ["comment", "TextureFile"]:
            texture = w[2]
    if props != ["x", "y", "z", "nx", "ny", "nz", "s", "t"]:
        fail(f"vertex properties {props}")
    nv, nf = counts["vertex"], counts["face"]
    vert = np.frombuffer(data, "<f4", nv * 8, end).reshape(nv, 8)
    faces = np.frombuffer(data, np.uint8, nf * 13, end + nv * 32).reshape(nf, 13)
    if end + nv * 32 + nf * 13 != len(data) or np.any(faces[:, 0] != 3):
        fail("faces are not triangles filling the file")
    idx = np.ascontiguousarray(faces[:, 1:]).view("<u4").astype(np.int64)
    out = common(vert[:, :3], vert[:, 3:6], vert[:, 6:8], idx)
    if texture:
        out["texture"] = png_size(open(os.path.join(os.path.dirname(path), texture), "rb").read(32))
    return out


def main():
    path = sys.argv[1]
    ext = os.path.splitext(path)[1].lower()
    out = {".glb": read_glb, ".obj": read_obj, ".ply": read_ply}[ext](path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
