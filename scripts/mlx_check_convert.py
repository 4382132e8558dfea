#!/usr/bin/env python3
"""Check `quantlens convert --format mlx` output with real MLX (pip mlx==0.32.4).

Usage:
  python3 scripts/mlx_check_convert.py ORIGINAL CONVERTED [--quantlens BIN] [--json FILE]

1. Loads CONVERTED/model.safetensors (every shard) with `mx.load` and reads
   `quantization` from CONVERTED/config.json (per-module overrides honoured).
2. For every MLX-quantized module (`<m>.weight` uint32 + `<m>.scales` +
   `<m>.biases` in affine mode), runs `mx.dequantize(w, scales, biases,
   group_size, bits, mode)` (mode from the config: affine, mxfp4, mxfp8, nvfp4).
3. Runs `quantlens dequantize CONVERTED TMP.safetensors` (quantlens' own
   reader, the one `verify` uses) and compares bit patterns: the distance in
   units in the last place (ulps) between MLX's value and quantlens' value.
4. Also re-quantizes the original weight with `mx.quantize` and compares the
   packed words, scales and biases with what quantlens wrote.

Prints one line per layer and a summary; exits 1 if any layer differs by
more than 1 ulp (or the tensors MLX and quantlens see differ).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_model  # noqa: E402

try:
    import mlx.core as mx
except ImportError:
    sys.exit("mlx is not installed: pip install mlx==0.32.4")


MX_DTYPES = {"F32": mx.float32, "F16": mx.float16, "BF16": mx.bfloat16}


def f32(x):
    """An MLX array as a float32 numpy array (numpy has no bfloat16)."""
    return np.array(x.astype(mx.float32))


def ulp_distance(a, b):
    """|a - b| in ulps for float32 arrays (ordered-int trick); NaN -> huge."""
    ai = a.astype(np.float32).view(np.int32).astype(np.int64)
    bi = b.astype(np.float32).view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    d = np.abs(ai - bi)
    d[np.isnan(a) | np.isnan(b)] = 1 << 40
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("original")
    ap.add_argument("converted")
    ap.add_argument("--quantlens", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "quantlens"))
    ap.add_argument("--json", help="write per-layer figures here")
    a = ap.parse_args()

    cfg = json.load(open(os.path.join(a.converted, "config.json")))
    q = cfg.get("quantization") or cfg.get("quantization_config")
    if not q:
        sys.exit("config.json has no quantization block")
    weights = {}
    for f in sorted(glob.glob(os.path.join(a.converted, "*.safetensors"))):
        weights.update(mx.load(f))
    orig = {t.name: t for t in read_model(a.original)}

    with tempfile.TemporaryDirectory() as tmp:
        deq_path = os.path.join(tmp, "deq.safetensors")
        subprocess.run([a.quantlens, "dequantize", a.converted, deq_path], check=True)
        ours = mx.load(deq_path)

    rows, worst, bad = [], 0, 0
    for name in sorted(weights):
        if not name.endswith(".scales"):
            continue
        m = name[: -len(".scales")]
        over = q.get(m)
        if over is False:
            continue
        gs = (over or {}).get("group_size", q["group_size"])
        bits = (over or {}).get("bits", q["bits"])
        mode = (over or {}).get("mode", q.get("mode", "affine"))
        w, s, b = weights[m + ".weight"], weights[m + ".scales"], weights.get(m + ".biases")
        # Output in the scales' dtype (f32, f16 or bf16); compared as f32.
        dq = f32(mx.dequantize(w, s, b, group_size=gs, bits=bits, mode=mode))
        mine = f32(ours[m + ".weight"])
        if dq.shape != mine.shape:
            print(f"{m}: shape {dq.shape} vs quantlens {mine.shape}")
            bad += 1
            continue
        d = ulp_distance(dq, mine)
        # mx.quantize of the original weight: same words, scales, biases?
        # (in the original's dtype, as MLX would be given it)
        w0 = mx.array(orig[m + ".weight"].as_f32()).astype(MX_DTYPES.get(orig[m + ".weight"].dtype, mx.float32))
        wq, s0, *b0 = mx.quantize(w0, group_size=gs, bits=bits, mode=mode)
        b0 = b0[0] if b0 else None
        same_q = bool(np.array_equal(np.array(wq), np.array(w)))
        same_sb = bool(np.array_equal(f32(s0), f32(s))
                       and (b is None or np.array_equal(f32(b0), f32(b))))
        w64 = orig[m + ".weight"].as_f32().astype(np.float64)
        err = w64 - dq.astype(np.float64)
        rel = float(np.sqrt((err ** 2).sum() / (w64 ** 2).sum()))
        row = {"layer": m + ".weight", "bits": bits, "group_size": gs, "elements": int(dq.size),
               "max_ulp": int(d.max()), "differing": int((d > 0).sum()),
               "same_codes_as_mx_quantize": same_q, "same_scales_biases": same_sb, "rel_error": rel}
        rows.append(row)
        worst = max(worst, int(d.max()))
        if d.max() > 1 or not (same_q and same_sb):
            bad += 1
        print(f"{row['layer']:<50} {bits}b g{gs} max_ulp={row['max_ulp']} differing={row['differing']} "
              f"codes_equal={same_q} scales_biases_equal={same_sb} rel_error={rel:.6f}")
    print(f"{len(rows)} MLX-quantized layers; worst difference {worst} ulp; "
          f"{sum(r['elements'] for r in rows)} elements; {bad} layers failing")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"layers": rows, "worst_ulp": worst, "failing": bad}, f, indent=1)
    if not rows or bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
