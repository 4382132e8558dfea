#!/usr/bin/env python3
"""Real-MLX stored layers for every quantization mode, with MLX's own dequantization.

Usage:
  python3 scripts/mlx_stored_reference.py OUT_DIR [--seed N]

Writes OUT_DIR/model/ (model.safetensors + config.json, an MLX model whose
layers were quantized by mx.quantize: affine at 2, 3, 4, 5, 6 and 8 bits and
group sizes 32/64/128, mxfp4, mxfp8, nvfp4, from float32, float16 and
bfloat16 weights, 2-D and 3-D; one config `quantization` block with a
per-module override for every layer, as mlx-lm writes mixed precision) and
OUT_DIR/reference.safetensors: for every layer NAME.weight, the float32 view
of mx.dequantize(...) with its default output dtype, and NAME.weight.f32
the same with dtype=float32. Prints the layer list as JSON.
"""
import argparse
import json
import os
import sys

import numpy as np

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover
    sys.exit("mlx is not installed (pip install mlx==0.32.4)")

DTYPES = {"f32": mx.float32, "f16": mx.float16, "bf16": mx.bfloat16}


def layers():
    """(module, mode, bits, group_size, dtype, shape)"""
    out = []
    for bits in (2, 3, 4, 5, 6, 8):
        for g in (32, 64, 128):
            out.append((f"affine.b{bits}.g{g}", "affine", bits, g, "f32", (8, 256)))
    for dt in ("f16", "bf16"):
        out.append((f"affine.b4.g64.{dt}", "affine", 4, 64, dt, (8, 256)))
        out.append((f"affine.b3.g32.{dt}", "affine", 3, 32, dt, (8, 256)))
    out.append(("affine.b4.g64.3d", "affine", 4, 64, "f32", (2, 4, 128)))
    for mode, bits, g in (("mxfp4", 4, 32), ("mxfp8", 8, 32), ("nvfp4", 4, 16)):
        for dt in ("f32", "f16", "bf16"):
            out.append((f"{mode}.{dt}", mode, bits, g, dt, (8, 256)))
    return out


def weights(rng, shape):
    w = rng.standard_normal(shape).astype(np.float32) * 0.05
    rows = w.reshape(-1, shape[-1])
    # Rows of very different magnitudes, an outlier, an all-zero and a constant group.
    rows *= (10.0 ** rng.uniform(-4, 2, size=(rows.shape[0], 1))).astype(np.float32)
    rows[0, 3] = 7.5
    rows[1, :32] = 0.0
    rows[2, 32:64] = 0.125
    return rows.reshape(shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    model_dir = os.path.join(a.out, "model")
    os.makedirs(model_dir, exist_ok=True)
    tensors, ref = {}, {}
    quant = {"group_size": 64, "bits": 4, "mode": "affine"}
    listed = []
    for module, mode, bits, g, dt, shape in layers():
        w = mx.array(weights(rng, shape)).astype(DTYPES[dt])
        parts = mx.quantize(w, group_size=g, bits=bits, mode=mode)
        scales, biases = parts[1], parts[2] if len(parts) > 2 else None
        dq = mx.dequantize(parts[0], scales, biases, group_size=g, bits=bits, mode=mode)
        dq32 = mx.dequantize(parts[0], scales, biases, group_size=g, bits=bits, mode=mode,
                             dtype=mx.float32)
        tensors[module + ".weight"] = parts[0]
        tensors[module + ".scales"] = scales
        if biases is not None:
            tensors[module + ".biases"] = biases
        ref[module + ".weight"] = dq.astype(mx.float32)
        ref[module + ".weight.f32"] = dq32
        quant[module] = {"group_size": g, "bits": bits, "mode": mode}
        listed.append({"name": module + ".weight", "mode": mode, "bits": bits,
                       "group_size": g, "dtype": dt, "shape": list(shape),
                       "default_dtype": str(dq.dtype)})
    # One float layer and one kept out of quantization by the config.
    tensors["norm.weight"] = mx.array(rng.standard_normal((256,)).astype(np.float32))
    tensors["kept.weight"] = mx.array(weights(rng, (8, 256)))
    quant["kept"] = False
    mx.eval(tensors, ref)
    mx.save_safetensors(os.path.join(model_dir, "model.safetensors"), tensors,
                        metadata={"format": "mlx"})
    mx.save_safetensors(os.path.join(a.out, "reference.safetensors"), ref,
                        metadata={"mlx": mx.__version__})
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump({"model_type": "test", "quantization": quant,
                   "quantization_config": quant}, f, indent=1)
    print(json.dumps({"mlx": mx.__version__, "layers": listed}))


if __name__ == "__main__":
    main()
