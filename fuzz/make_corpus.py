#!/usr/bin/python3
"""Writes the seed corpora fuzz/corpus/gguf/ and fuzz/corpus/safetensors/
(small valid files that reach deep into each parser). Run from anywhere:
/usr/bin/python3 fuzz/make_corpus.py. The safetensors seeds are copies of
fixtures from tests/data/safetensors/ (see tests/fixtures/make_safetensors.py).
"""
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def arr(etype, items):
    return struct.pack("<IQ", etype, len(items)) + b"".join(items)


def info(name, dims_fastest_first, ggml_type, offset):
    return (s(name) + struct.pack("<I", len(dims_fastest_first))
            + b"".join(struct.pack("<Q", d) for d in dims_fastest_first)
            + struct.pack("<IQ", ggml_type, offset))


def gguf(version, kvs, tensors, alignment=32):
    """tensors: [(name, dims fastest first, ggml type, data bytes)], laid out aligned."""
    infos, data, off = b"", b"", 0
    for name, dims, gtype, blob in tensors:
        infos += info(name, dims, gtype, off)
        pad = -len(blob) % alignment
        data += blob + bytes(pad)
        off += len(blob) + pad
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs) + infos
    return head + bytes(-len(head) % alignment) + data


def write(target, name, blob):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(blob)


def gguf_seeds():
    every_type = [
        kv("general.architecture", 8, s("midas_v21_small_256")),
        kv("t.u8", 0, b"\x07"), kv("t.i8", 1, b"\xf9"),
        kv("t.u16", 2, struct.pack("<H", 700)), kv("t.i16", 3, struct.pack("<h", -700)),
        kv("t.u32", 4, struct.pack("<I", 384)), kv("t.i32", 5, struct.pack("<i", -3)),
        kv("t.f32", 6, struct.pack("<f", 0.5)), kv("t.bool", 7, b"\x01"),
        kv("t.u64", 10, struct.pack("<Q", 1 << 40)), kv("t.i64", 11, struct.pack("<q", -9)),
        kv("t.f64", 12, struct.pack("<d", 2.5)),
        kv("t.mean", 9, arr(6, [struct.pack("<f", v) for v in (0.485, 0.456, 0.406)])),
        kv("t.hooks", 9, arr(5, [struct.pack("<i", v) for v in (2, 5, 8, 11)])),
        kv("t.names", 9, arr(8, [s("a"), s(""), s("bc")])),
        kv("t.flags", 9, arr(7, [b"\x00", b"\x01"])),
    ]
    tensors = [
        ("a.weight", [3, 2], 0, struct.pack("<6f", *range(6))),
        ("b.f16", [5], 1, bytes(10)),
        ("c.bf16", [1, 2, 1, 1], 30, bytes(4)),
        ("d.i32", [2], 26, struct.pack("<2i", -1, 1)),
    ]
    write("gguf", "every_type_v3.gguf", gguf(3, every_type, tensors))
    write("gguf", "aligned64_v3.gguf",
          gguf(3, [kv("general.alignment", 4, struct.pack("<I", 64))] + every_type[:3],
               [("x", [4], 28, bytes(32)), ("y", [3, 1], 24, bytes(3)), ("z", [1], 27, bytes(8))],
               alignment=64))
    write("gguf", "v2_no_tensors.gguf", gguf(2, every_type[:6], []))
    write("gguf", "one_tensor.gguf", gguf(3, [], [("t", [2, 2], 25, bytes(8))]))


def safetensors_seeds():
    src = os.path.join(ROOT, "tests", "data", "safetensors")
    for name in ("all_dtypes", "official", "overlap", "no_metadata_unpadded"):
        shutil.copy(os.path.join(src, name + ".safetensors"),
                    os.path.join(CORPUS, "safetensors", name + ".safetensors"))


def main():
    gguf_seeds()
    os.makedirs(os.path.join(CORPUS, "safetensors"), exist_ok=True)
    safetensors_seeds()


if __name__ == "__main__":
    main()
