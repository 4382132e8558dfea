#!/usr/bin/env python3
"""Reference figures of the decoder output check for MLX's affine 4-bit,
group 32 quantization, from an implementation independent of quantlens:
weights quantized and dequantized by mlx's own mx.quantize/mx.dequantize,
the forward run by mlx-lm's llama/qwen2 models.

decoder_affine_refs.py MODEL_DIR...   (prints one JSON object per model)

Same definitions as ../../shared/tools/make_output_refs.py: the token ids
of reference/reference.safetensors, each input run alone; hidden state l =
embedding output (l = 0) or decoder layer l's raw output; 'alone' feeds the
original h_{l-1} to the quantized layer l; KLD over the full vocabulary in
f64; percentiles by nearest rank; RMS dp over positions with a next token.
Quantized: every 2-D float weight not named *embed*/*norm*, not a bias,
whose last dimension divides by 32 (quantlens' default policy for a grouped
scheme); a tied lm_head stays the float embedding.

The figures are recorded in tests/oracle_torch_decoders.rs."""
import json, os, sys

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten
from mlx_lm import load
from mlx_lm.models.base import create_attention_mask
from safetensors.numpy import load_file

BITS, GROUP = 4, 32


def quantized(name, w):
    n = name.lower()
    return (w.ndim == 2 and "embed" not in n and "norm" not in n and not n.endswith(".bias")
            and w.shape[-1] % GROUP == 0)


def trace(model, ids, replace=None):
    """Hidden states [L+1, T, H] and logits [T, V]; replace=(l, h) feeds h to layer l."""
    inner = model.model
    h = inner.embed_tokens(ids[None])
    hs = [h[0]]
    mask = create_attention_mask(h, None)
    for l, layer in enumerate(inner.layers):
        if replace is not None and replace[0] == l:
            h = replace[1][None]
        h = layer(h, mask, cache=None)
        hs.append(h[0])
    out = inner.norm(h)
    logits = model.lm_head(out) if hasattr(model, "lm_head") else inner.embed_tokens.as_linear(out)
    return mx.stack(hs), logits[0]


def figures(model_dir):
    orig, _ = load(model_dir)
    quant, _ = load(model_dir)
    new = []
    for name, w in tree_flatten(quant.parameters()):
        if quantized(name, w):
            q = mx.quantize(w, group_size=GROUP, bits=BITS)
            new.append((name, mx.dequantize(*q, group_size=GROUP, bits=BITS)))
    quant.load_weights(new, strict=False)
    ref = load_file(os.path.join(model_dir, "reference", "reference.safetensors"))
    n_inputs = len([k for k in ref if k.startswith("input_ids.")])
    L = len(orig.model.layers)
    sums = {"d": np.zeros(L + 1), "r": np.zeros(L + 1), "a": np.zeros(L + 1), "cos": np.zeros(L + 1)}
    tokens, klds, same, dps, n_quantized = 0, [], 0, [], len(new)
    for i in range(n_inputs):
        ids = mx.array(ref[f"input_ids.{i}"].astype(np.int32))
        H, lo = trace(orig, ids)
        Hq, lq = trace(quant, ids)
        H, Hq = np.array(H, dtype=np.float64), np.array(Hq, dtype=np.float64)
        for l in range(L + 1):
            sums["d"][l] += ((Hq[l] - H[l]) ** 2).sum()
            sums["r"][l] += (H[l] ** 2).sum()
            c = (Hq[l] * H[l]).sum(-1) / np.sqrt((Hq[l] ** 2).sum(-1) * (H[l] ** 2).sum(-1))
            sums["cos"][l] += c.sum()
            if l > 0:
                A = np.array(trace(quant, ids, (l - 1, mx.array(H[l - 1].astype(np.float32))))[0][l], dtype=np.float64)
                sums["a"][l] += ((A - H[l]) ** 2).sum()
        tokens += H.shape[1]
        lp = np.array(lo, dtype=np.float64)
        lq_ = np.array(lq, dtype=np.float64)
        lp = lp - (np.log(np.exp(lp - lp.max(-1, keepdims=True)).sum(-1, keepdims=True)) + lp.max(-1, keepdims=True))
        lq_ = lq_ - (np.log(np.exp(lq_ - lq_.max(-1, keepdims=True)).sum(-1, keepdims=True)) + lq_.max(-1, keepdims=True))
        klds.extend((np.exp(lp) * (lp - lq_)).sum(-1))
        same += int((lp.argmax(-1) == lq_.argmax(-1)).sum())
        idn = ref[f"input_ids.{i}"]
        for p in range(len(idn) - 1):
            dps.append(np.exp(lq_[p, idn[p + 1]]) - np.exp(lp[p, idn[p + 1]]))
    ks = np.sort(np.array(klds))
    pct = lambda q: float(ks[min(len(ks) - 1, int(q * (len(ks) - 1) + 0.5))])
    layers = []
    for l in range(L + 1):
        row = {"layer": l, "rel_error": float(np.sqrt(sums["d"][l] / sums["r"][l])), "cosine": float(sums["cos"][l] / tokens)}
        if l > 0:
            row["alone_rel_error"] = float(np.sqrt(sums["a"][l] / sums["r"][l]))
        layers.append(row)
    return {"model": os.path.basename(os.path.normpath(model_dir)), "scheme": f"affine {BITS}-bit group {GROUP}",
            "quantized_tensors": n_quantized, "tokens": tokens, "layers": layers,
            "next_token": {"kld_mean": float(ks.mean()), "kld_median": pct(0.5), "kld_p99": pct(0.99),
                           "kld_max": float(ks[-1]), "same_top": same,
                           "rms_delta_p": float(np.sqrt(np.mean(np.square(dps))))}}


if __name__ == "__main__":
    for d in sys.argv[1:]:
        print(json.dumps(figures(d)))
