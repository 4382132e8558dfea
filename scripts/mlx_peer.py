#!/usr/bin/env python3
"""Benchmark peer: the seeds' int8 method done with MLX ops (CPU).

Usage:
  python3 scripts/mlx_peer.py MODEL_PATH [--affine --bits 8|4 --group-size 64]

Same work and output as /work/shared/peers/numpy_peer.py, with mx arrays:
mx.load every *.safetensors (sorted), skip non-2-D / embed / norm / bias /
non-float, scale = max|w|/127 (0 -> 1), q = clip(round(w/scale), -127, 127)
as int8, dq = q*scale, then mse, relative error and max abs error (MLX float32
reductions). Prints the per-layer table, a summary line, and `wall_s` (whole
run, file reading included) last.

--affine instead runs mx.quantize / mx.dequantize (MLX affine mode) on the
same layers (those whose last dim divides by the group size).
"""
import argparse
import glob
import os
import sys
import time

try:
    import mlx.core as mx
except ImportError:
    print("error: mlx is not installed (pip install mlx==0.32.4)", file=sys.stderr)
    sys.exit(2)

FLOATS = {mx.float16, mx.bfloat16, mx.float32}


def skip(name, arr):
    n = name.lower()
    return arr.ndim != 2 or "embed" in n or "norm" in n or n.endswith(".bias")


def int8_roundtrip(w):
    scale = mx.max(mx.abs(w)) / 127.0
    scale = mx.where(scale == 0, mx.array(1.0, mx.float32), scale)
    q = mx.clip(mx.round(w / scale), -127, 127).astype(mx.int8)
    return q, q.astype(mx.float32) * scale, q.nbytes + 4


def affine_roundtrip(w, bits, gs):
    wq, s, b = mx.quantize(w, group_size=gs, bits=bits)
    return wq, mx.dequantize(wq, s, b, group_size=gs, bits=bits), wq.nbytes + s.nbytes + b.nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help=".safetensors file or model folder")
    ap.add_argument("--affine", action="store_true", help="MLX affine quantize instead of int8 per-tensor")
    ap.add_argument("--bits", type=int, choices=[8, 4], default=8)
    ap.add_argument("--group-size", type=int, choices=[32, 64, 128], default=64)
    a = ap.parse_args()
    mx.set_default_device(mx.cpu)
    t0 = time.perf_counter()
    d = a.model
    files = sorted(glob.glob(os.path.join(d, "*.safetensors"))) if os.path.isdir(d) else [d]
    if not files or not all(os.path.isfile(f) for f in files):
        print(f"error: no safetensors files at {d}", file=sys.stderr)
        sys.exit(2)
    rows, n_q, n_fp, orig_bytes, q_bytes = [], 0, 0, 0, 0
    for f in files:
        tensors = mx.load(f)
        for name, w in sorted(tensors.items()):
            orig_bytes += w.nbytes
            if w.dtype not in FLOATS or skip(name, w) or (a.affine and w.shape[-1] % a.group_size):
                n_fp += 1
                q_bytes += w.nbytes
                continue
            w = w.astype(mx.float32)
            _, dq, nb = affine_roundtrip(w, a.bits, a.group_size) if a.affine else int8_roundtrip(w)
            err = w - dq
            nw = mx.linalg.norm(w)
            nw = mx.where(nw == 0, mx.array(1.0, mx.float32), nw)
            mse, rel, mxe = mx.mean(err * err), mx.linalg.norm(err) / nw, mx.max(mx.abs(err))
            mx.eval(mse, rel, mxe)
            rows.append((name, mse.item(), rel.item(), mxe.item()))
            n_q += 1
            q_bytes += nb
        del tensors
    t = time.perf_counter() - t0
    for r in rows:
        print(f"{r[0]:60s} mse={r[1]:.3e} rel={r[2]:.4%} max={r[3]:.3e}")
    kind = f"affine{a.bits}/g{a.group_size}" if a.affine else "int8"
    print(f"{kind} layers: {n_q}  float layers: {n_fp}  size {orig_bytes/1e6:.1f} MB -> {q_bytes/1e6:.1f} MB")
    print(f"wall_s {t:.3f}")


if __name__ == "__main__":
    main()
