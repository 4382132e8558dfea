#!/usr/bin/env python3
"""Real-MLX reference for quantlens' affine scheme (mx.quantize / mx.dequantize).

Usage:
  python3 scripts/mlx_reference.py MODEL_PATH [--bits 8|4] [--group-size 32|64|128]
        [--all-2d] [--out DEQ.safetensors] [--with-params] [--check] [--json FILE]

For every 2-D float tensor that the seeds' rule quantizes (or, with --all-2d,
every 2-D float tensor) whose last dim is divisible by the group size, runs
mx.quantize(w, group_size, bits, mode="affine") and mx.dequantize(...) on the
float32 view of the weights (F16/BF16 upcast first, like numpy_reference.py),
and prints per-layer metrics as JSON (same keys as numpy_reference.py) plus
"wall_s" for the whole process.

--out FILE      writes the dequantized float32 tensors (same names) to FILE,
                streaming, so a Rust test can compare them bit for bit.
--with-params   also writes NAME.scales / NAME.biases (float32, [rows, cols/g])
                and NAME.q (uint8 codes, unpacked) to FILE.
--check         asserts that numpy_reference.quant_affine (the formula in
                MLX_NOTES.md) reproduces MLX's codes, scales, biases and
                dequantized values bit for bit; exits 1 if not.

run(path, bits, group_size, ...) is importable (scripts/mlx_peer.py uses it
for `--affine`).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import FormatError, die, read_model, write_safetensors  # noqa: E402
from numpy_reference import METRICS, keep_reason, metrics, quant_affine  # noqa: E402

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover
    die("mlx is not installed (pip install mlx==0.32.4)")


def unpack(wq, bits, cols):
    """uint32-packed MLX codes -> uint8 [rows, cols] (element k of a word at bits k*b)."""
    a = np.asarray(wq).astype(np.uint32)
    per, mask = 32 // bits, (1 << bits) - 1
    parts = [(a >> np.uint32(bits * k)) & np.uint32(mask) for k in range(per)]
    return np.stack(parts, axis=-1).reshape(a.shape[0], -1)[:, :cols].astype(np.uint8)


def mlx_affine(w, bits, group_size):
    """-> (codes uint8, scales f32, biases f32, dq f32) all as numpy, computed by MLX."""
    wq, s, b = mx.quantize(mx.array(w), group_size=group_size, bits=bits, mode="affine")
    dq = mx.dequantize(wq, s, b, group_size=group_size, bits=bits, mode="affine")
    mx.eval(dq)
    return unpack(wq, bits, w.shape[1]), np.asarray(s), np.asarray(b), np.asarray(dq)


def selected(t, group_size, all_2d):
    if not t.is_float or len(t.shape) != 2 or t.shape[1] % group_size:
        return False
    return all_2d or keep_reason(t.name, 2, True) is None


def run(path, bits, group_size, all_2d=False, out=None, with_params=False, check=False):
    t0 = time.perf_counter()
    todo = [t for t in read_model(path) if selected(t, group_size, all_2d)]
    if not todo:
        raise ValueError(f"no tensor to quantize in {path} (group size {group_size})")
    rows, bad = [], []

    def work():
        for t in todo:
            w = t.as_f32()
            q, s, b, dq = mlx_affine(w, bits, group_size)
            nq = quant_affine(w, bits, group_size)
            clipped = nq[4]
            if check:
                same = [np.array_equal(q, nq[0]), np.array_equal(s.view(np.uint32), nq[1].view(np.uint32)),
                        np.array_equal(b.view(np.uint32), nq[2].view(np.uint32)),
                        np.array_equal(dq.view(np.uint32), nq[3].view(np.uint32))]
                if not all(same):
                    bad.append({"name": t.name, "codes": same[0], "scales": same[1],
                                "biases": same[2], "dequantized": same[3]})
            row = {"name": t.name, "shape": t.shape, "dtype": t.dtype, "action": "quantize",
                   "scheme": "affine", "bits": bits, "group_size": group_size}
            row.update(metrics(w, dq, clipped))
            rows.append(row)
            yield [dq]
            if with_params:
                yield [s.astype("<f4"), b.astype("<f4"), q]

    if out:
        entries = []
        for t in todo:
            r, c = t.shape
            entries.append((t.name, "F32", t.shape, r * c * 4))
            if with_params:
                g = c // group_size
                entries += [(t.name + ".scales", "F32", [r, g], r * g * 4),
                            (t.name + ".biases", "F32", [r, g], r * g * 4),
                            (t.name + ".q", "U8", [r, c], r * c)]
        flat = (c for chunk in work() for c in chunk)
        write_safetensors(out, entries, flat, {"format": "mlx-dequantized", "bits": bits,
                                               "group_size": group_size, "mlx": mx.__version__})
    else:
        for _ in work():
            pass
    for row in rows:
        for k in METRICS:
            if isinstance(row[k], float) and not math.isfinite(row[k]):
                row[k] = None
    return {"layers": rows, "quantized": len(rows), "bits": bits, "group_size": group_size,
            "mlx": mx.__version__, "check_failures": bad if check else None,
            "wall_s": time.perf_counter() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help=".safetensors file or model folder")
    ap.add_argument("--bits", type=int, choices=[8, 4], default=8)
    ap.add_argument("--group-size", type=int, choices=[32, 64, 128], default=64)
    ap.add_argument("--all-2d", action="store_true", help="every 2-D float tensor, not only the policy's")
    ap.add_argument("--out", help="write dequantized tensors to this .safetensors file")
    ap.add_argument("--with-params", action="store_true", help="also write NAME.scales/.biases/.q to --out")
    ap.add_argument("--check", action="store_true", help="verify the numpy formula bit for bit")
    ap.add_argument("--json", help="write the JSON here instead of stdout")
    a = ap.parse_args()
    if a.with_params and not a.out:
        die("--with-params needs --out")
    try:
        rep = run(a.model, a.bits, a.group_size, a.all_2d, a.out, a.with_params, a.check)
    except (FileNotFoundError, FormatError, ValueError, KeyError) as e:
        die(str(e))
    text = json.dumps(rep, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    if a.check:
        print(f"check: {len(rep['layers']) - len(rep['check_failures'])}/{len(rep['layers'])} layers "
              "bit-exact (codes, scales, biases, dequantized)", file=sys.stderr)
        sys.exit(1 if rep["check_failures"] else 0)


if __name__ == "__main__":
    main()
