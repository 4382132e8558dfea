#!/usr/bin/env python3
"""Generate test / benchmark models for quantlens (all written streaming).

  gen_models.py bf16-shards SRC OUT_DIR [--shards 3]
      every float tensor of SRC converted to BF16 (round-to-nearest-even from
      f32), split in file order into N shards of roughly equal bytes:
      model-0000k-of-0000N.safetensors + model.safetensors.index.json;
      config.json copied.
  gen_models.py bert-large OUT_DIR [--dtype f32|f16] [--shards 3] [--seed 0]
      synthetic BERT-large (24 layers, hidden 1024, ffn 4096, vocab 30522) with
      the real tensor names, N(0, 0.02) weights plus a few seeded outliers,
      LayerNorm weights ~1; about 1.34 GB in f32. One tensor in memory at a time.
  gen_models.py big-bf16 OUT_DIR [--gb 6] [--shards 2] [--dim 8192]
      BF16 model of about GB GiB (2^30 bytes) in N shards (--shards 1 --gb 6 ->
      one 6 GiB model-00001-of-00001 shard, so data offsets past 4 GiB; an
      index is always written), dim x dim matrices plus
      small norm vectors, written in <= 32 MiB chunks from one repeating
      random block.
  gen_models.py seeds-v1 SRC OUT_DIR   fake quantization: quantized layers
      stored as float32 q*scale (the seeds' V1 bug), others unchanged.
  gen_models.py seeds-v2 SRC OUT_DIR   true int8: quantized layers stored as
      int8 `<name>` plus f32 `<name>.__scale__` of shape [1], others unchanged.
      (seeds' rule + int8-tensor scheme, as in numpy_reference.py; SRC's
      config.json / tokenizer files are copied.)

OUT_DIR is created; existing model files in it are overwritten. Shard files are
written to NAME.part then renamed, so an interrupted run leaves no half file.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import FormatError, die, f32_to_bf16_bits, read_model, write_safetensors  # noqa: E402
from numpy_reference import keep_reason, quant_int8  # noqa: E402

MiB = 1 << 20
COPY_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
              "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
              "config_sentence_transformers.json"]


def copy_side_files(src, out):
    d = src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src))
    for n in COPY_FILES:
        if os.path.isfile(os.path.join(d, n)):
            dst = os.path.join(out, n)
            if os.path.lexists(dst):
                os.unlink(dst)
            shutil.copyfile(os.path.join(d, n), dst)   # not copy2: sources may be read-only


def split_groups(sizes, n):
    """Split indices 0..len-1 in order into n contiguous groups of ~equal bytes
    (each group aims at the bytes still to place / the groups still to fill)."""
    n = max(1, min(n, len(sizes)))
    groups, cur, acc, left = [], [], 0, sum(sizes)
    for i, s in enumerate(sizes):
        groups_left = n - len(groups)
        target = left / groups_left
        if cur and groups_left > 1 and (acc + s / 2 > target or len(sizes) - i < groups_left):
            groups.append(cur)
            left -= acc
            cur, acc = [], 0
        cur.append(i)
        acc += s
    groups.append(cur)
    return groups


def write_sharded(out, specs, n_shards, meta=None, always_index=False):
    """specs: [(name, dtype, shape, nbytes, chunk_fn)] in file order; chunk_fn()
    yields the tensor's bytes. Writes shards + index, or a lone model.safetensors
    when there is one shard (unless always_index: model-00001-of-00001 + index)."""
    os.makedirs(out, exist_ok=True)
    groups = split_groups([s[3] for s in specs], n_shards)
    weight_map, total = {}, 0
    for k, g in enumerate(groups):
        fname = ("model.safetensors" if len(groups) == 1 and not always_index
                 else f"model-{k + 1:05d}-of-{len(groups):05d}.safetensors")
        entries = [specs[i][:4] for i in g]

        def chunks(g=g):
            for i in g:
                yield from specs[i][4]()
        total += write_safetensors(os.path.join(out, fname), entries, chunks(), meta or {"format": "pt"})
        for i in g:
            weight_map[specs[i][0]] = fname
        print(f"  wrote {fname}: {len(g)} tensors, "
              f"{os.path.getsize(os.path.join(out, fname)) / 1e6:.1f} MB", file=sys.stderr)
    if len(groups) > 1 or always_index:
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return total


def cmd_bf16_shards(a):
    specs = []
    for t in read_model(a.src):
        if t.is_float:
            specs.append((t.name, "BF16", t.shape, t.numel * 2,
                          lambda t=t: [f32_to_bf16_bits(t.as_f32())]))
        else:
            specs.append((t.name, t.dtype, t.shape, t.nbytes, lambda t=t: [t.array().tobytes()]))
    write_sharded(a.out, specs, a.shards)
    copy_side_files(a.src, a.out)


def bert_large_specs(dtype, seed):
    H, F, V, P, T, L = 1024, 4096, 30522, 512, 2, 24
    shapes = [("embeddings.word_embeddings.weight", [V, H]),
              ("embeddings.position_embeddings.weight", [P, H]),
              ("embeddings.token_type_embeddings.weight", [T, H]),
              ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])]
    for i in range(L):
        p = f"encoder.layer.{i}."
        for m in ("query", "key", "value"):
            shapes += [(p + f"attention.self.{m}.weight", [H, H]), (p + f"attention.self.{m}.bias", [H])]
        shapes += [(p + "attention.output.dense.weight", [H, H]), (p + "attention.output.dense.bias", [H]),
                   (p + "attention.output.LayerNorm.weight", [H]), (p + "attention.output.LayerNorm.bias", [H]),
                   (p + "intermediate.dense.weight", [F, H]), (p + "intermediate.dense.bias", [F]),
                   (p + "output.dense.weight", [H, F]), (p + "output.dense.bias", [H]),
                   (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
    shapes += [("pooler.dense.weight", [H, H]), ("pooler.dense.bias", [H])]
    np_dt, st_dt, esz = (np.float32, "F32", 4) if dtype == "f32" else (np.float16, "F16", 2)

    def gen(idx, name, shape):
        rng = np.random.default_rng([seed, idx])
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        if name.endswith("LayerNorm.weight"):
            w += np.float32(1.0)
        elif len(shape) == 2:                          # a few large outliers per matrix
            k = 8
            pos = rng.integers(0, w.size, k)
            w.reshape(-1)[pos] = (rng.uniform(0.2, 1.0, k) * rng.choice([-1, 1], k)).astype(np.float32)
        return [w.astype(np_dt)]
    specs = []
    for idx, (name, shape) in enumerate(shapes):
        n = int(np.prod(shape))
        specs.append((name, st_dt, shape, n * esz, lambda i=idx, nm=name, s=shape: gen(i, nm, s)))
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": H,
              "num_hidden_layers": L, "num_attention_heads": 16, "intermediate_size": F,
              "vocab_size": V, "max_position_embeddings": P, "type_vocab_size": T,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
              "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
              "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
              "torch_dtype": "float32" if dtype == "f32" else "float16",
              "_comment": "synthetic random weights generated by quantlens scripts/gen_models.py"}
    return specs, config


def cmd_bert_large(a):
    specs, config = bert_large_specs(a.dtype, a.seed)
    total = write_sharded(a.out, specs, a.shards)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"bert-large {a.dtype}: {len(specs)} tensors, {total / 1e9:.3f} GB", file=sys.stderr)


def cmd_big_bf16(a):
    D = a.dim
    mat_bytes, vec_bytes = D * D * 2, D * 2
    per_layer = 2 * mat_bytes + vec_bytes
    n_layers = max(1, round(a.gb * (1 << 30) / per_layer))
    block = f32_to_bf16_bits(np.random.default_rng(a.seed).standard_normal(8 * MiB, dtype=np.float32)
                             * np.float32(0.02))            # 16 MiB of bf16, reused everywhere
    chunk = 16 * MiB                                        # bytes per write

    def gen(nbytes, salt):
        off, bb = (salt * 7919) % (block.size // 2), block.view(np.uint8)
        done = 0
        while done < nbytes:
            n = min(chunk, nbytes - done, bb.size - 2 * off)
            yield bb[2 * off: 2 * off + n]
            done += n
            off = (off + n // 2 + 97) % (block.size // 2)  # shift so rows don't repeat exactly
    specs, salt = [], 0
    for i in range(n_layers):
        p = f"model.layers.{i}."
        for nm, nb, shape in ((p + "input_layernorm.weight", vec_bytes, [D]),
                              (p + "mlp.up_proj.weight", mat_bytes, [D, D]),
                              (p + "mlp.down_proj.weight", mat_bytes, [D, D])):
            salt += 1
            specs.append((nm, "BF16", shape, nb, lambda nb=nb, s=salt: gen(nb, s)))
    total = write_sharded(a.out, specs, a.shards, always_index=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"architectures": ["SyntheticBigModel"], "model_type": "synthetic",
                   "hidden_size": D, "num_hidden_layers": n_layers, "torch_dtype": "bfloat16"}, f, indent=2)
    print(f"big-bf16: {len(specs)} tensors, {total / (1 << 30):.3f} GiB", file=sys.stderr)


def cmd_seeds(a, version):
    specs = []
    for t in read_model(a.src):
        if keep_reason(t.name, len(t.shape), t.is_float) is not None:
            specs.append((t.name, t.dtype, t.shape, t.nbytes, lambda t=t: [t.array().tobytes()]))
            continue
        if version == 1:
            specs.append((t.name, "F32", t.shape, t.numel * 4,
                          lambda t=t: [quant_int8(t.as_f32())[2].astype("<f4")]))
            continue
        box = {}  # the weight's chunk function leaves its scale here for the next entry

        def weight(t=t, box=box):
            q, box["scale"], _, _ = quant_int8(t.as_f32())
            return [q]
        specs.append((t.name, "I8", t.shape, t.numel, weight))
        specs.append((t.name + ".__scale__", "F32", [1], 4,
                      lambda box=box: [np.asarray([box.pop("scale")], dtype="<f4")]))
    write_sharded(a.out, specs, 1, meta={"format": "pt", "quantization": f"seeds-v{version}-int8-tensor"})
    copy_side_files(a.src, a.out)


def main():
    ap = argparse.ArgumentParser(description="Generate test/benchmark safetensors models.",
                                 epilog="See the module docstring for details.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("bf16-shards"); p.add_argument("src"); p.add_argument("out")
    p.add_argument("--shards", type=int, default=3)
    p = sub.add_parser("bert-large"); p.add_argument("out")
    p.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    p.add_argument("--shards", type=int, default=3); p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("big-bf16"); p.add_argument("out")
    p.add_argument("--gb", type=float, default=6.0, help="total size in GiB")
    p.add_argument("--shards", type=int, default=2); p.add_argument("--dim", type=int, default=8192)
    p.add_argument("--seed", type=int, default=0)
    for v in ("seeds-v1", "seeds-v2"):
        p = sub.add_parser(v); p.add_argument("src"); p.add_argument("out")
    a = ap.parse_args()
    if getattr(a, "shards", 1) < 1:
        die("--shards must be >= 1")
    try:
        {"bf16-shards": cmd_bf16_shards, "bert-large": cmd_bert_large, "big-bf16": cmd_big_bf16,
         "seeds-v1": lambda a: cmd_seeds(a, 1), "seeds-v2": lambda a: cmd_seeds(a, 2)}[a.cmd](a)
    except (FileNotFoundError, FormatError, OSError) as e:
        die(str(e))


if __name__ == "__main__":
    main()
