#!/usr/bin/env python3
"""Quantize a model folder with real MLX (mx.quantize), as an MLX download stores it.

Usage:
  python3 scripts/mlx_quantize_model.py SRC OUT_DIR [--bits 4] [--group-size 64]
        [--mode affine|mxfp4|mxfp8|nvfp4] [--dtype f32|f16|bf16] [--policy default|mlx]

Every 2-D float `.weight` the policy picks (default: the seeds' rule, which
keeps embeddings, norms and biases; mlx: every 2-D weight, embeddings too,
whose last dimension divides by the group size) becomes `<m>.weight`
(uint32 codes), `<m>.scales` (and `<m>.biases` for affine), computed by MLX
from the weight cast to --dtype (so scales and biases are in that dtype).
Other tensors are copied. config.json gets a `quantization` block; the side
files (tokenizer, ...) are not copied. Prints the number of quantized layers.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_model  # noqa: E402

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover
    sys.exit("mlx is not installed (pip install mlx==0.32.4)")

DTYPES = {"f32": mx.float32, "f16": mx.float16, "bf16": mx.bfloat16}


def picked(t, policy, group_size):
    name = t.name.lower()
    if not t.is_float or len(t.shape) != 2 or not t.name.endswith(".weight") or "norm" in name:
        return False
    if policy == "default" and "embed" in name:
        return False
    return t.shape[1] % group_size == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=64)
    ap.add_argument("--mode", default="affine")
    ap.add_argument("--dtype", choices=DTYPES, default="f32")
    ap.add_argument("--policy", choices=["default", "mlx"], default="default")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ws, n = {}, 0
    for t in read_model(a.src):
        if picked(t, a.policy, a.group_size):
            w = mx.array(t.as_f32()).astype(DTYPES[a.dtype])
            parts = mx.quantize(w, group_size=a.group_size, bits=a.bits, mode=a.mode)
            m = t.name[: -len(".weight")]
            ws[t.name], ws[m + ".scales"] = parts[0], parts[1]
            if len(parts) > 2 and parts[2] is not None:
                ws[m + ".biases"] = parts[2]
            n += 1
        else:
            ws[t.name] = mx.array(t.array())
    mx.save_safetensors(os.path.join(a.out, "model.safetensors"), ws, metadata={"format": "mlx"})
    cfg_path = os.path.join(a.src, "config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    cfg["quantization"] = {"group_size": a.group_size, "bits": a.bits, "mode": a.mode}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    print(n)


if __name__ == "__main__":
    main()
