#!/usr/bin/env python3
"""Reference figures of the decoder output check from an implementation
independent of quantlens: the forward passes run by mlx-lm's own llama /
qwen2 models on CPU, the figures computed in numpy (float64).

  decoder_refs.py affine MODEL_DIR...
      Weights quantized and dequantized by mlx's own mx.quantize /
      mx.dequantize (affine, 4 bits, group 32) on the token ids of
      MODEL_DIR/reference/reference.safetensors. Quantized: every 2-D float
      weight not named *embed*/*norm*, not a bias, whose last dimension
      divides by 32 (quantlens' default policy for a grouped scheme); a tied
      lm_head stays the float embedding. Recorded in
      tests/suite/oracle_torch_decoders.rs.

  decoder_refs.py converted ORIGINAL CONVERTED --text FILE
      ORIGINAL and CONVERTED (an MLX-quantized folder, from
      `quantlens convert --format mlx` or `mlx_lm convert -q`) both loaded by
      mlx_lm.load, which builds QuantizedLinear / QuantizedEmbedding from the
      config's `quantization` block (per-module overrides included); a tied
      embedding serves as the output layer through `as_linear`, as mlx-lm
      generates. FILE holds one input per line, tokenized by mlx-lm's
      tokenizer. Read by tests/suite/oracle_mlx_lm_outputs.rs.

Prints one JSON object per model (per pair). Same definitions as
../../shared/tools/make_output_refs.py: each input run alone; hidden state l
= embedding output (l = 0) or decoder layer l's raw output; 'alone' feeds
the original h_{l-1} to the quantized layer l; KLD(P_orig || P_quant) over
the full vocabulary in float64; percentiles by nearest rank, index
round(q (n-1)); same_top counts positions whose argmax tokens are equal;
RMS dp over positions with a next token in the input. Exits 3 when mlx-lm
is not installed."""
import argparse
import json
import os
import sys

import numpy as np

try:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm import load
    from mlx_lm.models.base import create_attention_mask
except ImportError as e:
    print(f"mlx-lm is not installed ({e}): pip install mlx==0.32.4 mlx-lm==0.32.2", file=sys.stderr)
    sys.exit(3)

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


def log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - (np.log(np.exp(x - m).sum(-1, keepdims=True)) + m)


def compare(orig, quant, id_lists):
    """Every figure of the output check, both models run on each id list alone."""
    L = len(orig.model.layers)
    sums = {"d": np.zeros(L + 1), "r": np.zeros(L + 1), "a": np.zeros(L + 1), "cos": np.zeros(L + 1)}
    tokens, klds, same, dps = 0, [], 0, []
    for idn in id_lists:
        ids = mx.array(np.asarray(idn, dtype=np.int32))
        H, lo = trace(orig, ids)
        Hq, lq = trace(quant, ids)
        H, Hq = np.array(H, dtype=np.float64), np.array(Hq, dtype=np.float64)
        for l in range(L + 1):
            sums["d"][l] += ((Hq[l] - H[l]) ** 2).sum()
            sums["r"][l] += (H[l] ** 2).sum()
            c = (Hq[l] * H[l]).sum(-1) / np.sqrt((Hq[l] ** 2).sum(-1) * (H[l] ** 2).sum(-1))
            sums["cos"][l] += c.sum()
            if l > 0:
                fed = mx.array(H[l - 1].astype(np.float32))
                A = np.array(trace(quant, ids, (l - 1, fed))[0][l], dtype=np.float64)
                sums["a"][l] += ((A - H[l]) ** 2).sum()
        tokens += H.shape[1]
        lp = log_softmax(np.array(lo, dtype=np.float64))
        lq_ = log_softmax(np.array(lq, dtype=np.float64))
        klds.extend((np.exp(lp) * (lp - lq_)).sum(-1))
        same += int((lp.argmax(-1) == lq_.argmax(-1)).sum())
        for p in range(len(idn) - 1):
            dps.append(np.exp(lq_[p, idn[p + 1]]) - np.exp(lp[p, idn[p + 1]]))
    ks = np.sort(np.array(klds))
    pct = lambda q: float(ks[min(len(ks) - 1, int(q * (len(ks) - 1) + 0.5))])
    layers = []
    for l in range(L + 1):
        row = {"layer": l, "rel_error": float(np.sqrt(sums["d"][l] / sums["r"][l])),
               "cosine": float(sums["cos"][l] / tokens)}
        if l > 0:
            row["alone_rel_error"] = float(np.sqrt(sums["a"][l] / sums["r"][l]))
        layers.append(row)
    return {"tokens": tokens, "per_input_tokens": [len(i) for i in id_lists], "layers": layers,
            "next_token": {"kld_mean": float(ks.mean()), "kld_median": pct(0.5), "kld_p99": pct(0.99),
                           "kld_max": float(ks[-1]), "same_top": same,
                           "rms_delta_p": float(np.sqrt(np.mean(np.square(dps))))}}


def affine(model_dir):
    from safetensors.numpy import load_file

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
    ids = [ref[f"input_ids.{i}"].tolist() for i in range(n_inputs)]
    out = {"model": os.path.basename(os.path.normpath(model_dir)),
           "scheme": f"affine {BITS}-bit group {GROUP}", "quantized_tensors": len(new)}
    out.update(compare(orig, quant, ids))
    return out


def converted(original, conv, text):
    orig, tok = load(original)
    quant, _ = load(conv)
    with open(text, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    out = {"original": original, "converted": conv,
           "quantization": json.load(open(os.path.join(conv, "config.json"))).get("quantization")}
    out.update(compare(orig, quant, [tok.encode(l) for l in lines]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("affine")
    a.add_argument("models", nargs="+")
    c = sub.add_parser("converted")
    c.add_argument("original")
    c.add_argument("converted")
    c.add_argument("--text", required=True)
    args = ap.parse_args()
    if args.cmd == "affine":
        for d in args.models:
            print(json.dumps(affine(d)))
    else:
        print(json.dumps(converted(args.original, args.converted, args.text)))


if __name__ == "__main__":
    main()
