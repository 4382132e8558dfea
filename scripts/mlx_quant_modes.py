#!/usr/bin/env python3
"""Reference outputs of real MLX's `mx.quantize` for every mode and bit width
that `quantlens convert --format mlx` writes (pip mlx==0.32.4).

Usage:
  python3 scripts/mlx_quant_modes.py OUTDIR

Writes
  OUTDIR/in/model.safetensors + config.json: random f32, f16 and bf16
      matrices (group magnitudes spread over 1e-4..1e2, plus all-zero,
      constant and tie-heavy groups), and a 1-D tensor that stays float;
  OUTDIR/ref/<mode>-<bits>-g<group>.safetensors: for every matrix `<m>.weight`,
      mx.quantize's `<m>.weight`, `<m>.scales` (and `<m>.biases`).
Prints one JSON line per case: {"mode", "bits", "group_size", "file"}.
Exits 3 when mlx cannot be imported (callers skip).
"""
import json
import os
import sys

import numpy as np

try:
    import mlx.core as mx
except ImportError:
    print("mlx is not installed: pip install mlx==0.32.4", file=sys.stderr)
    sys.exit(3)

CASES = [("affine", b, 64) for b in (2, 3, 4, 5, 6, 8)] + [
    ("affine", 4, 32),
    ("affine", 4, 128),
    ("affine", 3, 32),
    ("mxfp4", 4, 32),
    ("mxfp8", 8, 32),
    ("nvfp4", 4, 16),
]


def weights(rows, cols, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
    # Spread group magnitudes over six decades (groups of 16 inside 128s).
    mags = 10.0 ** rng.uniform(-4, 2, size=(rows, cols // 16))
    w *= np.repeat(mags, 16, axis=1).astype(np.float32)
    w[0, :128] = 0.0                                   # all-zero groups
    w[1, :128] = 0.375                                 # constant groups
    # FP4 midpoints and E4M3 ties once scaled by a power of two.
    ties = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 6.0,
                     -0.25, -0.75, -1.25, -1.75, -2.5, -3.5, -5.0, -6.0], np.float32)
    w[2, :128] = np.tile(ties, 8)
    w[3, :128] = np.tile(ties, 8) * 0.0625
    w[4, :128] = np.tile(ties * 1.0625, 8)
    return w


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "in"), exist_ok=True)
    os.makedirs(os.path.join(out, "ref"), exist_ok=True)
    src = {
        "f32.weight": mx.array(weights(12, 256, 1)),
        "f16.weight": mx.array(weights(12, 256, 2)).astype(mx.float16),
        "bf16.weight": mx.array(weights(12, 384, 3)).astype(mx.bfloat16),
        "norm.weight": mx.array(np.linspace(-1, 1, 64, dtype=np.float32)),
    }
    mx.save_safetensors(os.path.join(out, "in", "model.safetensors"), src)
    with open(os.path.join(out, "in", "config.json"), "w") as f:
        json.dump({"model_type": "synthetic"}, f)
    for mode, bits, gs in CASES:
        ref = {}
        for name, w in src.items():
            if w.ndim != 2:
                continue
            m = name[: -len(".weight")]
            q = mx.quantize(w, group_size=gs, bits=bits, mode=mode)
            ref[m + ".weight"], ref[m + ".scales"] = q[0], q[1]
            if mode == "affine":
                ref[m + ".biases"] = q[2]
        name = f"{mode}-{bits}-g{gs}.safetensors"
        mx.save_safetensors(os.path.join(out, "ref", name), ref)
        print(json.dumps({"mode": mode, "bits": bits, "group_size": gs, "file": name}))


if __name__ == "__main__":
    main()
