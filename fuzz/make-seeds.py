#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (fuzz/seeds/): a few small, valid inputs
per target in the input layout each target expects (see fuzz/src/lib.rs)."""
import json, os, struct

here = os.path.dirname(os.path.abspath(__file__))


def st(tensors, meta=None):
    """A safetensors file from [(name, dtype, shape, raw bytes)]."""
    head, data = {}, b""
    if meta:
        head["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(head, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def f32(xs):
    return struct.pack(f"<{len(xs)}f", *xs)


def parts(*ps):
    """The `split` layout: u16 length before every part but the last."""
    out = b""
    for p in ps[:-1]:
        out += struct.pack("<H", len(p)) + p
    return out + ps[-1]


def write(target, name, data):
    d = os.path.join(here, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


w = [((i * 7) % 13 - 6) / 4 for i in range(32)]
plain = st([("l.weight", "F32", [4, 8], f32(w)), ("l.bias", "F32", [4], f32([0.5, -1, 2, 0]))],
           {"format": "pt"})
os.makedirs(os.path.join(here, "seeds"), exist_ok=True)
with open(os.path.join(here, "seeds", "shard.safetensors"), "wb") as f:
    f.write(st([("a.weight", "F32", [2, 2], f32([1, 2, 3, 4]))]))

# header
write("header", "plain", plain)
write("header", "empty", st([]))
write("header", "dtypes", st([("h", "F16", [2], b"\x00\x3c\x00\xbc"), ("b", "BF16", [1, 2], b"\x80\x3f\x00\x40"),
                              ("q", "I8", [3], b"\x01\xff\x7f"), ("s", "F32", [], f32([3]))]))
# index
write("index", "two-shards", json.dumps({"metadata": {"total_size": 16}, "weight_map": {
    "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}).encode())
write("index", "one-shard", json.dumps({"weight_map": {"a.weight": "model-00001-of-00002.safetensors"}}).encode())
# formats: original, converted, converted config
scales = [max(abs(x) for x in w[r * 8:(r + 1) * 8]) / 127 for r in range(4)]
codes = bytes((round(w[i] / scales[i // 8]) & 0xFF) for i in range(32))
int8 = st([("l.weight", "I8", [4, 8], codes), ("l.weight.__scale__", "F32", [4], f32(scales)),
           ("l.bias", "F32", [4], f32([0.5, -1, 2, 0]))])
write("formats", "int8-per-row", parts(plain, int8, b""))
s1 = max(abs(x) for x in w) / 127
int8t = st([("l.weight", "I8", [4, 8], bytes((round(x / s1) & 0xFF) for x in w)),
            ("l.weight.__scale__", "F32", [], f32([s1])), ("l.bias", "F32", [4], f32([0.5, -1, 2, 0]))])
write("formats", "int8-per-tensor", parts(plain, int8t, b""))
# MLX 4-bit, group 8: 4 rows x 1 group; codes packed 8 per u32
mlx_words = b""
mlx_s, mlx_b = [], []
for r in range(4):
    row = w[r * 8:(r + 1) * 8]
    a, b = min(row), max(row)
    s = (b - a) / 15 or 1.0
    q = [min(15, max(0, round((x - a) / s))) for x in row]
    mlx_words += struct.pack("<I", sum(c << (4 * i) for i, c in enumerate(q)))
    mlx_s.append(s)
    mlx_b.append(a)
mlx = st([("l.weight", "U32", [4, 1], mlx_words), ("l.scales", "F32", [4, 1], f32(mlx_s)),
          ("l.biases", "F32", [4, 1], f32(mlx_b)), ("l.bias", "F32", [4], f32([0.5, -1, 2, 0]))])
write("formats", "mlx-4bit-g8", parts(plain, mlx, json.dumps({"quantization": {"group_size": 8, "bits": 4}}).encode()))
write("formats", "same", parts(plain, plain, b""))
# Byte-stored FP4 (gpt-oss blocks; ModelOpt NVFP4 with a second-level
# scale), compressed-tensors int8 and EXL3, on a [4, 32] original.
w32 = [((i * 5) % 11 - 5) / 3 for i in range(128)]
orig32 = st([("l.weight", "F32", [4, 32], f32(w32))])
oss = st([("l_blocks", "U8", [4, 1, 16], bytes(range(64))), ("l_scales", "U8", [4, 1], bytes([126, 127, 128, 127]))])
write("formats", "gpt-oss-mxfp4", parts(st([("l", "F32", [4, 32], f32(w32))]), oss, b""))
nv = st([("l.weight", "U8", [4, 16], bytes(range(64))), ("l.weight_scale", "F8_E4M3", [4, 2], bytes([0x38] * 8)),
         ("l.weight_scale_2", "F32", [], f32([0.5])), ("l.input_scale", "F32", [], f32([1]))])
write("formats", "modelopt-nvfp4", parts(orig32, nv, b""))
ct8 = st([("l.weight", "I8", [4, 8], codes), ("l.weight_scale", "F32", [4, 1], f32(scales)),
          ("l.input_scale", "F32", [1], f32([1]))])
write("formats", "ct-int8", parts(plain, ct8, b""))
exl3 = st([("l.trellis", "I16", [2, 1, 32], bytes(128)), ("l.suh", "F16", [32], bytes(64)), ("l.svh", "F16", [16], bytes(32))])
write("formats", "exl3", parts(st([("l.weight", "F32", [16, 32], f32([0.0] * 512))]), exl3, b""))
# inspector: options byte, model, config
cfg = json.dumps({"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1}).encode()
for opt in range(8):
    write("inspector", f"plain-{opt}", bytes([opt]) + parts(plain, cfg if opt % 2 else b""))
