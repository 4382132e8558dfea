#!/usr/bin/env python3
"""Layers as other tools store them, with values from independent readers.

Usage:
  python3 scripts/hub_formats_reference.py OUT_DIR [--seed N]

Writes OUT_DIR/<kind>/model.safetensors (+ config.json) for each kind, and
OUT_DIR/<kind>.reference.safetensors with the float32 values of each layer
under the name quantlens gives it:

  gpt-oss   OpenAI MXFP4 experts (`<p>_blocks` U8 [E, out, groups, 16],
            `<p>_scales` U8), codes from mx.quantize(mode="mxfp4"); the
            reference is mlx-lm's own gpt-oss loader (Model.sanitize, which
            splits gate_up_proj into gate/up rows) then mx.dequantize,
            gate/up rows interleaved back.
  modelopt  NVIDIA ModelOpt NVFP4 (`weight` U8 [out, in/2], `weight_scale`
            F8_E4M3 [out, in/16], `weight_scale_2` F32, `input_scale`);
            reference mx.dequantize(mode="nvfp4") times weight_scale_2.
  ct-nvfp4  compressed-tensors nvfp4-pack-quantized (`weight_packed`,
            `weight_scale` F8_E4M3, `weight_global_scale`); reference
            mx.dequantize(mode="nvfp4") divided by the global scale.
  ct-mxfp4  compressed-tensors mxfp4-pack-quantized (`weight_packed`,
            `weight_scale` U8 E8M0); reference mx.dequantize(mode="mxfp4").
  ct-int8   compressed-tensors int-quantized W8A8: `weight` I8 with a BF16
            `weight_scale` [out, 1] and `input_scale`, and one per-tensor
            F32 scale; reference numpy int8 * f32(scale).

The second-level scales are applied here after MLX's rounding and by
quantlens before it (as vLLM does), so those two kinds agree to an ulp, the
others bit for bit. Prints {"mlx": version, "layers": {kind: [names]}}.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlx_stored_reference import weights  # noqa: E402
from st_io import f32_to_bf16_bits, write_safetensors  # noqa: E402

try:
    import mlx.core as mx
    from mlx_lm.models import gpt_oss
except ImportError:  # pragma: no cover
    sys.exit("mlx and mlx-lm are not installed (pip install mlx==0.32.4 mlx-lm==0.32.2)")

DT = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8"}


def save(path, tensors):
    """tensors: {name: (dtype, ndarray)} in order."""
    entries, chunks = [], []
    for name, (dtype, a) in tensors.items():
        a = np.ascontiguousarray(a)
        entries.append((name, dtype, list(a.shape), a.nbytes))
        chunks.append(a.tobytes())
    write_safetensors(path, entries, chunks)


def plain(a):
    return (DT[a.dtype], a)


def f32(x):
    return np.array(x.astype(mx.float32))


def quantize(w, mode):
    q, s = mx.quantize(mx.array(w), mode=mode)
    return np.array(q).view(np.uint8), np.array(s)


def write(out, kind, tensors, ref, config):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    save(os.path.join(d, "model.safetensors"), tensors)
    save(d + ".reference.safetensors", {k: plain(v) for k, v in ref.items()})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    return sorted(ref)


def gpt_oss_kind(rng, out):
    tensors, raw = {}, {}
    for proj, shape in (("gate_up_proj", (2, 16, 64)), ("down_proj", (2, 8, 128))):
        p = f"model.layers.0.mlp.experts.{proj}"
        b, s = quantize(weights(rng, shape), "mxfp4")
        e, o, i = shape
        blocks = b.reshape(e, o, i // 32, 16)
        tensors[p + "_blocks"] = ("U8", blocks)
        tensors[p + "_scales"] = ("U8", s)
        tensors[p + "_bias"] = plain(rng.standard_normal((e, o)).astype(np.float32))
        raw[p + "_blocks"] = mx.array(blocks)
        raw[p + "_scales"] = mx.array(s)
    loaded = gpt_oss.Model.sanitize(None, raw)

    def deq(m):
        return f32(mx.dequantize(loaded[m + ".weight"], loaded[m + ".scales"], mode="mxfp4",
                                 dtype=mx.float32))

    ref = {}
    pre = "model.layers.0.mlp.experts."
    gate, up = deq(pre + "gate_proj"), deq(pre + "up_proj")
    both = np.empty((gate.shape[0], gate.shape[1] * 2, gate.shape[2]), np.float32)
    both[:, 0::2], both[:, 1::2] = gate, up
    ref[pre + "gate_up_proj"] = both
    ref[pre + "down_proj"] = deq(pre + "down_proj")
    config = {"model_type": "gpt_oss",
              "quantization_config": {"quant_method": "mxfp4",
                                      "modules_to_not_convert": ["model.layers.*.self_attn"]}}
    return write(out, "gpt-oss", tensors, ref, config)


def fp4_kind(rng, out, kind, mode):
    m = "model.layers.0.mlp.down_proj"
    w = weights(rng, (16, 128))
    b, s = quantize(w, mode)
    base = f32(mx.dequantize(mx.array(b.view(np.uint32)), mx.array(s), mode=mode, dtype=mx.float32))
    scale_dtype = "F8_E4M3" if mode == "nvfp4" else "U8"
    if kind == "modelopt":
        tensors = {m + ".weight": ("U8", b), m + ".weight_scale": (scale_dtype, s),
                   m + ".weight_scale_2": plain(np.array(0.0123, np.float32)),
                   m + ".input_scale": plain(np.array(0.5, np.float32))}
        ref = base * np.float32(0.0123)
        config = {"quantization_config": {"quant_method": "modelopt", "quant_algo": "NVFP4",
                                          "group_size": 16}}
    else:
        tensors = {m + ".weight_packed": ("U8", b), m + ".weight_scale": (scale_dtype, s)}
        ref = base
        if mode == "nvfp4":
            tensors[m + ".weight_global_scale"] = plain(np.array([448.0 * 6 / 3.1], np.float32))
            tensors[m + ".input_global_scale"] = plain(np.array([100.0], np.float32))
            ref = base / np.float32(448.0 * 6 / 3.1)
        config = {"quantization_config": {"quant_method": "compressed-tensors",
                                          "format": f"{mode}-pack-quantized"}}
    return write(out, kind, tensors, {m + ".weight": ref.astype(np.float32)}, config)


def int8_kind(rng, out):
    tensors, ref = {}, {}
    for m, per_row in (("model.layers.0.mlp.down_proj", True), ("model.layers.0.mlp.up_proj", False)):
        w = weights(rng, (32, 64))
        if per_row:
            scale = np.abs(w).max(axis=1, keepdims=True) / 127
            bits = f32_to_bf16_bits(scale)
            scale = (bits.astype(np.uint32) << 16).view(np.float32)
            tensors[m + ".weight_scale"] = ("BF16", bits)
        else:
            scale = np.array([np.abs(w).max() / 127], np.float32)
            tensors[m + ".weight_scale"] = plain(scale)
        q = np.clip(np.rint(w / np.where(scale > 0, scale, 1)), -127, 127).astype(np.int8)
        tensors[m + ".input_scale"] = plain(np.array([0.02], np.float32))
        ref[m + ".weight"] = q.astype(np.float32) * scale.astype(np.float32)
        # The weight first: a header lists it before its companions.
        tensors = {m + ".weight": ("I8", q), **tensors}
    config = {"quantization_config": {"quant_method": "compressed-tensors", "format": "int-quantized"}}
    return write(out, "ct-int8", tensors, ref, config)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    layers = {
        "gpt-oss": gpt_oss_kind(rng, a.out),
        "modelopt": fp4_kind(rng, a.out, "modelopt", "nvfp4"),
        "ct-nvfp4": fp4_kind(rng, a.out, "ct-nvfp4", "nvfp4"),
        "ct-mxfp4": fp4_kind(rng, a.out, "ct-mxfp4", "mxfp4"),
        "ct-int8": int8_kind(rng, a.out),
    }
    print(json.dumps({"mlx": mx.__version__, "layers": layers}))


if __name__ == "__main__":
    main()
