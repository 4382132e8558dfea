#!/usr/bin/env python3
"""Independent numpy oracle for `quantlens inspect --json`.

Usage:
  python3 scripts/numpy_reference.py MODEL_PATH [--scheme int8-tensor|int8-channel|affine]
                                     [--bits 8|4] [--group-size 32|64|128] [--out FILE]

MODEL_PATH is one .safetensors file or a folder (shards from
model.safetensors.index.json, else every *.safetensors, sorted). Rows come in
file order: files in that order, tensors by data offset. F16/BF16/F64 tensors
are converted to float32 first (BF16 via (u16 << 16)), so metrics compare the
f32 view of the stored weights with the f32 dequantized values.

Policy (the seeds' rule): a float tensor with exactly 2 dims is quantized
unless its lowercased name contains "embed" or "norm" or ends with ".bias" or "_bias".
Kept-layer reason, first that applies: non-float, "<n>-d" (n != 2; "1-d"),
embedding, norm, bias; affine also keeps "group-size" (last dim not divisible).

Schemes (all arithmetic float32, numpy round = half-to-even):
  int8-tensor   scale = f32(max|w| / 127) (0 -> 1.0); q = clip(round(w/scale), -127, 127); dq = q*scale
  int8-channel  the same with one scale per row (first dim)
  affine        MLX's affine mode, reproduced bit-for-bit (see MLX_NOTES.md)
Metrics in float64 from err = f64(w) - f64(dq): mse, rmse, rel_error
(||err||/||w||, 0 if ||w|| = 0), max_abs_error, sqnr_db (null if sum err^2 = 0),
cosine (null if a norm is 0), zero_frac (w != 0 but dq == 0), clip_frac
(rounded value outside the code range before clipping), outlier_ratio
(max|w| / population std, null if std = 0).

Prints {"layers": [...], "tensors": N, "quantized": N, "kept": N, ...} as JSON.
MiniLM check: encoder.layer.5.output.dense.weight rel_error ~0.052421,
pooler.dense.weight ~0.009681 (int8-tensor).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import FormatError, die, read_model  # noqa: E402

F32 = np.float32
METRICS = ["mse", "rmse", "rel_error", "max_abs_error", "sqnr_db", "cosine",
           "zero_frac", "clip_frac", "outlier_ratio"]


def keep_reason(name, ndim, is_float):
    """None if the seeds' rule quantizes the tensor, else the reason to keep it."""
    n = name.lower()
    if not is_float:
        return "non-float"
    if ndim != 2:
        return f"{ndim}-d"
    if "embed" in n:
        return "embedding"
    if "norm" in n:
        return "norm"
    if n.endswith(".bias") or n.endswith("_bias"):
        return "bias"
    return None


def int8_scale(absmax):
    """f32(max|w|/127); an all-zero tensor/row gets 1.0. absmax: f32 scalar or array."""
    s = (np.asarray(absmax, dtype=np.float64) / 127.0).astype(F32)
    return np.where(s == 0, F32(1.0), s).astype(F32)


def quant_int8(w, per_channel=False):
    """-> (q int8, scale f32 [scalar or (rows,1)], dq f32, n_clipped)."""
    if per_channel:
        absmax = np.max(np.abs(w), axis=1, keepdims=True) if w.size else np.zeros((w.shape[0], 1), F32)
    else:
        absmax = np.max(np.abs(w)) if w.size else F32(0)
    scale = int8_scale(absmax)
    r = np.round(w / scale)                      # float32 / float32 -> float32
    clipped = int(np.count_nonzero(np.abs(r) > 127))
    q = np.clip(r, -127, 127).astype(np.int8)
    dq = q.astype(F32) * scale
    return q, scale, dq.astype(F32), clipped


def quant_affine(w, bits, group_size):
    """MLX mx.quantize/mx.dequantize affine mode in numpy float32, bit-exact.

    -> (q uint8 codes, scales f32 (rows, groups), biases f32, dq f32, n_clipped)."""
    n_bins = F32(2 ** bits - 1)
    rows, cols = w.shape
    g = w.reshape(rows, cols // group_size, group_size)
    w_max, w_min = g.max(axis=-1), g.min(axis=-1)
    mask = np.abs(w_min) > np.abs(w_max)
    scale = np.maximum((w_max - w_min) / n_bins, F32(1e-7)).astype(F32)
    scale = np.where(mask, scale, -scale).astype(F32)
    edge = np.where(mask, w_min, w_max).astype(F32)
    q0 = np.rint(edge / scale).astype(F32)
    nz = q0 != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nz, edge / np.where(nz, q0, F32(1)), scale).astype(F32)
    bias = np.where(nz, edge, F32(0)).astype(F32)
    r = np.rint((g - bias[..., None]) / scale[..., None]).astype(F32)
    clipped = int(np.count_nonzero((r < 0) | (r > n_bins)))
    q = np.clip(r, 0, n_bins)
    dq = (scale[..., None] * q).astype(F32) + bias[..., None]   # two f32 roundings, no fma
    return q.astype(np.uint8).reshape(rows, cols), scale, bias, dq.astype(F32).reshape(rows, cols), clipped


def metrics(w, dq, clipped):
    w64 = w.astype(np.float64).ravel()
    d64 = dq.astype(np.float64).ravel()
    n = w64.size
    err = w64 - d64
    se = float(np.dot(err, err))
    sw = float(np.dot(w64, w64))
    sd = float(np.dot(d64, d64))
    mse = se / n if n else 0.0
    std = float(np.std(w64)) if n else 0.0
    amax = float(np.max(np.abs(w64))) if n else 0.0
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "rel_error": math.sqrt(se) / math.sqrt(sw) if sw > 0 else 0.0,
        "max_abs_error": float(np.max(np.abs(err))) if n else 0.0,
        "sqnr_db": 10.0 * math.log10(sw / se) if se > 0 and sw > 0 else None,
        "cosine": float(np.dot(w64, d64)) / (math.sqrt(sw) * math.sqrt(sd)) if sw > 0 and sd > 0 else None,
        "zero_frac": float(np.count_nonzero((w64 != 0) & (d64 == 0))) / n if n else 0.0,
        "clip_frac": clipped / n if n else 0.0,
        "outlier_ratio": amax / std if std > 0 else None,
    }


def dequantized(w, args):
    """Quantize+dequantize with the chosen scheme -> (dq, n_clipped)."""
    if args.scheme == "affine":
        _, _, _, dq, c = quant_affine(w, args.bits, args.group_size)
    else:
        _, _, dq, c = quant_int8(w, per_channel=args.scheme == "int8-channel")
    return dq, c


def analyse(path, args):
    layers, nq = [], 0
    tensors = read_model(path)
    for t in tensors:
        reason = keep_reason(t.name, len(t.shape), t.is_float)
        if reason is None and args.scheme == "affine" and t.shape[-1] % args.group_size:
            reason = "group-size"
        row = {"name": t.name, "file": os.path.basename(t.file), "dtype": t.dtype,
               "shape": t.shape, "params": t.numel,
               "action": "keep" if reason else "quantize", "reason": reason,
               "scheme": None if reason else args.scheme}
        if reason:
            row.update({k: None for k in METRICS})
        else:
            w = t.as_f32()
            row.update(metrics(w, *dequantized(w, args)))
            nq += 1
        layers.append(row)
    return {"layers": layers, "tensors": len(layers), "quantized": nq, "kept": len(layers) - nq,
            "params": sum(t.numel for t in tensors),
            "bytes_before": sum(t.nbytes for t in tensors),
            "scheme": args.scheme,
            **({"bits": args.bits, "group_size": args.group_size} if args.scheme == "affine" else {})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help=".safetensors file or model folder")
    ap.add_argument("--scheme", choices=["int8-tensor", "int8-channel", "affine"], default="int8-tensor")
    ap.add_argument("--bits", type=int, choices=[8, 4], default=8, help="affine only")
    ap.add_argument("--group-size", type=int, choices=[32, 64, 128], default=64, help="affine only")
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    args = ap.parse_args()
    try:
        rep = analyse(args.model, args)
    except (FileNotFoundError, FormatError, KeyError, ValueError) as e:
        die(str(e))
    for row in rep["layers"]:   # NaN/inf weights give non-finite metrics: emit null
        for k in METRICS:
            if isinstance(row[k], float) and not math.isfinite(row[k]):
                row[k] = None
    text = json.dumps(rep, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
