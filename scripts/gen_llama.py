#!/usr/bin/env python3
"""Generate a Llama-shaped BF16 decoder with random weights, for the
bounded-memory measurement of the decoder output check (streamed writes:
one 32 MiB block in memory at a time).

  gen_llama.py OUT_DIR [--tokenizer DIR] [--hidden 2048] [--layers 16]
                       [--inter 8192] [--heads 32] [--kv-heads 8]
                       [--vocab 128256] [--untied] [--seed 0]

The defaults are Llama 3.2 1B's shape (1.24 B parameters, about 2.5 GB,
tied embeddings); --untied adds an lm_head. Weights are N(0, 0.02) (norms
1), the tokenizer is copied from --tokenizer (default: the tiny Llama in
../shared/models), so its vocabulary is far below the embedding's rows."""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import f32_to_bf16_bits, write_safetensors  # noqa: E402

BLOCK = 16 << 20  # elements per generated block (32 MiB of BF16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--tokenizer", default=os.path.join(here, "..", "..", "shared", "models", "tiny-llama"))
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--inter", type=int, default=8192)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=128256)
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    H, I, dh = a.hidden, a.inter, a.hidden // a.heads
    kv = a.kv_heads * dh
    shapes = [("model.embed_tokens.weight", (a.vocab, H))]
    for l in range(a.layers):
        p = f"model.layers.{l}."
        shapes += [(p + "input_layernorm.weight", (H,)), (p + "self_attn.q_proj.weight", (H, H)),
                   (p + "self_attn.k_proj.weight", (kv, H)), (p + "self_attn.v_proj.weight", (kv, H)),
                   (p + "self_attn.o_proj.weight", (H, H)), (p + "post_attention_layernorm.weight", (H,)),
                   (p + "mlp.gate_proj.weight", (I, H)), (p + "mlp.up_proj.weight", (I, H)),
                   (p + "mlp.down_proj.weight", (H, I))]
    shapes.append(("model.norm.weight", (H,)))
    if a.untied:
        shapes.append(("lm_head.weight", (a.vocab, H)))
    entries = [(n, "BF16", list(s), int(np.prod(s)) * 2) for n, s in shapes]
    rng = np.random.default_rng(a.seed)

    def chunks():
        for n, s in shapes:
            left = int(np.prod(s))
            while left:
                m = min(left, BLOCK)
                x = np.ones(m, np.float32) if len(s) == 1 else rng.standard_normal(m, dtype=np.float32) * 0.02
                yield f32_to_bf16_bits(x)
                left -= m

    os.makedirs(a.out, exist_ok=True)
    total = write_safetensors(os.path.join(a.out, "model.safetensors"), entries, chunks())
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
           "num_hidden_layers": a.layers, "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads,
           "head_dim": dh, "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
           "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
           "tie_word_embeddings": not a.untied, "vocab_size": a.vocab, "torch_dtype": "bfloat16"}
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.tokenizer, f), a.out)
    params = sum(int(np.prod(s)) for _, s in shapes)
    print(f"{a.out}: {params / 1e9:.3f} B parameters, {total / 1e9:.2f} GB BF16")


if __name__ == "__main__":
    main()
