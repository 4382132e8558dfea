#!/usr/bin/env python3
"""MLX's own dequantization error of an MLX-quantized model against its original.

Usage:
  python3 scripts/mlx_dequant_error.py ORIGINAL_DIR CONVERTED_DIR [--out DIR]

For every `<m>.weight` of CONVERTED with a `<m>.scales` companion, runs
mx.dequantize with the mode, bits and group size of CONVERTED's config
`quantization` block (per-module overrides included, as mlx-lm writes them),
and prints JSON {name: rel_error}, rel_error = ||w - w'|| / ||w|| in float64
with w the original weight (from ORIGINAL's safetensors, as float32).

--out DIR also writes a float model folder dequantized by MLX alone:
DIR/model.safetensors holds CONVERTED's tensors with every quantized weight
replaced by its float32 mx.dequantize output (companions dropped), and
DIR/config.json is CONVERTED's without the quantization block. Comparing a
converted folder with it checks quantlens' reading of MLX formats against
MLX's own (tests/suite/cli_outputs_convert.rs).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_model  # noqa: E402

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover
    sys.exit("mlx is not installed (pip install mlx==0.32.4)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("original")
    ap.add_argument("converted")
    ap.add_argument("--out")
    a = ap.parse_args()
    orig_dir, conv_dir = a.original, a.converted
    config = json.load(open(os.path.join(conv_dir, "config.json")))
    q = config["quantization"]
    conv = {}
    for f in sorted(glob.glob(os.path.join(conv_dir, "*.safetensors"))):
        conv.update(mx.load(f))
    original = {t.name: t for t in read_model(orig_dir)}
    out, dequantized = {}, {}
    for name in sorted(conv):
        if not name.endswith(".scales"):
            continue
        m = name[: -len(".scales")]
        p = q.get(m, q)
        mode = p.get("mode", q.get("mode", "affine"))
        dq = mx.dequantize(conv[m + ".weight"], conv[name], conv.get(m + ".biases"),
                           group_size=p.get("group_size", q["group_size"]),
                           bits=p.get("bits", q["bits"]), mode=mode)
        w = original[m + ".weight"].as_f32().astype(np.float64)
        d = np.asarray(dq.astype(mx.float32)).astype(np.float64)
        out[m + ".weight"] = float(np.linalg.norm(w - d) / np.linalg.norm(w))
        dequantized[m] = dq.astype(mx.float32)
    if a.out:
        floats = {k: v for k, v in conv.items()
                  if not any(k == m + s for m in dequantized for s in (".weight", ".scales", ".biases"))}
        floats.update({m + ".weight": v for m, v in dequantized.items()})
        os.makedirs(a.out, exist_ok=True)
        mx.save_safetensors(os.path.join(a.out, "model.safetensors"), floats)
        for k in ("quantization", "quantization_config"):
            config.pop(k, None)
        with open(os.path.join(a.out, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
