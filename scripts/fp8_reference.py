#!/usr/bin/env python3
"""FP8 checkpoints with block and per-tensor scales, and their numpy dequantization.

Usage:
  python3 scripts/fp8_reference.py OUT_DIR [--seed N]

Writes OUT_DIR/model/ (model.safetensors + config.json with
quantization_config {quant_method: fp8, weight_block_size: [128, 128]}, the
layout DeepSeek-V3 and Qwen3-FP8 ship): F8_E4M3 and F8_E5M2 weights with
`weight_scale_inv` of shape [ceil(rows/128), ceil(cols/128)] (ragged edges
included), an F8_E4M3 weight with a per-tensor `weight_scale`, and an
`input_scale`. OUT_DIR/reference.safetensors holds each weight as
float32 = decode(w) * scale of its block, one float32 rounding.

Decoding is independent of quantlens: E5M2 is the top byte of an IEEE
float16 (numpy), E4M3 is decoded by MLX (mx.from_fp8). No NaN or infinite
codes are drawn.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import write_safetensors  # noqa: E402

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover
    sys.exit("mlx is not installed (pip install mlx==0.32.4)")

BLOCK = 128


def decode(codes, fmt):
    if fmt == "F8_E5M2":
        return (codes.astype(np.uint16) << np.uint16(8)).view(np.float16).astype(np.float32)
    return np.asarray(mx.from_fp8(mx.array(codes), dtype=mx.float32))


def codes(rng, shape, fmt):
    c = rng.integers(0, 256, size=shape, dtype=np.uint8)
    if fmt == "F8_E4M3":
        bad = (c & 0x7F) == 0x7F  # NaN
    else:
        bad = (c & 0x7C) == 0x7C  # inf and NaN
    c[bad] &= 0xF0
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    model_dir = os.path.join(a.out, "model")
    os.makedirs(model_dir, exist_ok=True)
    entries, data, ref_entries, ref_data = [], [], [], []

    def add(name, dtype, arr):
        arr = np.ascontiguousarray(arr)
        entries.append((name, dtype, list(arr.shape), arr.nbytes))
        data.append(arr.tobytes())

    layers = [("a", "F8_E4M3", (300, 200), "block"), ("b", "F8_E5M2", (130, 260), "block"),
              ("c", "F8_E4M3", (64, 96), "tensor")]
    for name, fmt, shape, kind in layers:
        c = codes(rng, shape, fmt)
        w = decode(c, fmt)
        if kind == "block":
            sshape = (-(-shape[0] // BLOCK), -(-shape[1] // BLOCK))
            s = rng.uniform(1e-4, 3e-2, size=sshape).astype(np.float32)
            full = np.repeat(np.repeat(s, BLOCK, 0), BLOCK, 1)[: shape[0], : shape[1]]
            add(f"{name}.weight", fmt, c)
            add(f"{name}.weight_scale_inv", "F32", s)
        else:
            s = np.float32(rng.uniform(1e-4, 3e-2))
            full = s
            add(f"{name}.input_scale", "F32", np.array(0.5, dtype=np.float32))
            add(f"{name}.weight", fmt, c)
            add(f"{name}.weight_scale", "F32", np.array(s, dtype=np.float32))
        deq = (w * full).astype(np.float32)
        ref_entries.append((f"{name}.weight", "F32", list(shape), deq.nbytes))
        ref_data.append(deq.tobytes())
    write_safetensors(os.path.join(model_dir, "model.safetensors"), entries, data)
    write_safetensors(os.path.join(a.out, "reference.safetensors"), ref_entries, ref_data)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump({"model_type": "test", "quantization_config": {
            "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
            "weight_block_size": [BLOCK, BLOCK]}}, f, indent=1)
    print(json.dumps({"layers": [f"{n}.weight" for n, *_ in layers]}))


if __name__ == "__main__":
    main()
