#!/usr/bin/env python3
"""Check a `quantlens convert --format mlx` output with real mlx-lm
(pip mlx==0.32.4, mlx-lm==0.32.2).

Usage:
  python3 scripts/mlx_lm_check_convert.py ORIGINAL CONVERTED [--mode M] [--bits B]
      [--group-size G] [--keep GLOB]... [--bits-for GLOB=B]...

1. Loads CONVERTED with `mlx_lm.utils.load_model` (mlx-lm's own loader: it
   quantizes the modules the config and the `.scales` tensors name).
2. Converts ORIGINAL with `mlx_lm.convert.convert(..., quantize=True)` and
   the same choices, `--keep` and `--bits-for` given as mlx-lm's
   `quant_predicate` (globs as quantlens reads them: the module path or
   `<path>.weight`, `*` crossing dots), and loads that too.
3. Compares every parameter of the two loaded models bit for bit, checks
   every quantized layer's mode, bits and group size, and runs a forward
   pass of both on the same tokens.

Prints a JSON summary; exits 1 on any difference, 3 if mlx-lm is missing.
"""
import argparse
import fnmatch
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.convert import convert
    from mlx_lm.utils import load_model
except ImportError as e:
    print(f"mlx-lm is not installed ({e}): pip install mlx==0.32.4 mlx-lm==0.32.2", file=sys.stderr)
    sys.exit(3)


def matches(glob, path):
    return fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path + ".weight", glob)


def predicate(a):
    bits_for = [(g, int(b)) for g, b in (s.rsplit("=", 1) for s in a.bits_for)]

    def pred(path, module):
        if any(matches(g, path) for g in a.keep):
            return False
        for g, b in bits_for:
            if matches(g, path):
                return {"group_size": a.group_size, "bits": b}
        return True

    return pred


def as_bytes(x):
    if x.dtype == mx.bfloat16:
        x = x.view(mx.uint16)
    return np.array(x).tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("original")
    ap.add_argument("converted")
    ap.add_argument("--mode", default="affine")
    ap.add_argument("--bits", type=int)
    ap.add_argument("--group-size", type=int)
    ap.add_argument("--keep", action="append", default=[])
    ap.add_argument("--bits-for", action="append", default=[])
    a = ap.parse_args()
    defaults = {"affine": (64, 4), "mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}
    a.group_size = a.group_size or defaults[a.mode][0]
    a.bits = a.bits or defaults[a.mode][1]

    ours, _ = load_model(Path(a.converted))
    with tempfile.TemporaryDirectory() as tmp:
        ref_path = os.path.join(tmp, "mlx-lm")
        convert(a.original, ref_path, quantize=True, q_bits=a.bits, q_group_size=a.group_size,
                q_mode=a.mode, quant_predicate=predicate(a))
        ref, _ = load_model(Path(ref_path))

    problems = []
    p_ours, p_ref = dict(tree_flatten(ours.parameters())), dict(tree_flatten(ref.parameters()))
    if set(p_ours) != set(p_ref):
        problems.append(f"parameters differ: only ours {sorted(set(p_ours) - set(p_ref))}, "
                        f"only mlx-lm {sorted(set(p_ref) - set(p_ours))}")
    for k in sorted(set(p_ours) & set(p_ref)):
        x, y = p_ours[k], p_ref[k]
        if x.dtype != y.dtype or x.shape != y.shape or as_bytes(x) != as_bytes(y):
            problems.append(f"{k}: {x.dtype}{x.shape} differs from mlx-lm's {y.dtype}{y.shape}")
    layers = {}
    for name, m in ours.named_modules():
        if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            layers[name] = f"{m.mode}-{m.bits}-g{m.group_size}"
            if (m.mode, m.group_size) != (a.mode, a.group_size):
                problems.append(f"{name}: {layers[name]}")
    tokens = mx.array([[1, 5, 9, 42, 7, 3, 100, 2]])
    lo, lr = ours(tokens), ref(tokens)
    mx.eval(lo, lr)
    diff = float(mx.max(mx.abs(lo.astype(mx.float32) - lr.astype(mx.float32))).item())
    if diff != 0.0 or not np.isfinite(np.array(lo.astype(mx.float32))).all():
        problems.append(f"logits differ by {diff}")
    print(json.dumps({"quantized_layers": len(layers), "layers": layers, "parameters": len(p_ours),
                      "logits_shape": list(lo.shape), "max_logit_difference": diff,
                      "problems": problems}, indent=1))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
