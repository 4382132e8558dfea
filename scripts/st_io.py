"""Minimal safetensors reader/writer shared by the quantlens helper scripts.

Why not the `safetensors` package: numpy has no bfloat16, so the package's
numpy loader refuses BF16 files, and its writer needs every tensor in memory.
This module parses the format directly (8-byte little-endian header length,
JSON header, raw little-endian data) and memory-maps tensor data, so it
handles BF16, very large files (>4 GiB) and streaming writes.

  read_model(path)        -> list[TensorRef] in file order (files sorted /
                             index order, tensors by data offset)
  TensorRef.array()       -> numpy array in the stored dtype (BF16 as uint16)
  TensorRef.as_f32()      -> float32 numpy copy (BF16 via (u16 << 16))
  write_safetensors(...)  -> streaming writer: header first, then tensor
                             bytes as produced by an iterator
  f32_to_bf16_bits(x)     -> uint16 bits, round-to-nearest-even
"""
import json
import os
import struct
import sys
from dataclasses import dataclass

import numpy as np

# safetensors dtype -> (numpy dtype, bytes per element, is_float)
DTYPES = {
    "F64": (np.float64, 8, True), "F32": (np.float32, 4, True),
    "F16": (np.float16, 2, True), "BF16": (np.uint16, 2, True),
    "I64": (np.int64, 8, False), "I32": (np.int32, 4, False),
    "I16": (np.int16, 2, False), "I8": (np.int8, 1, False),
    "U64": (np.uint64, 8, False), "U32": (np.uint32, 4, False),
    "U16": (np.uint16, 2, False), "U8": (np.uint8, 1, False),
    "BOOL": (np.bool_, 1, False),
    # 8-bit floats: readable as raw bytes only; the scripts keep them as-is.
    "F8_E4M3": (np.uint8, 1, False), "F8_E5M2": (np.uint8, 1, False),
}


class FormatError(Exception):
    pass


@dataclass
class TensorRef:
    name: str
    dtype: str
    shape: list
    file: str          # absolute path of the shard
    offset: int        # absolute byte offset of the data in the file
    nbytes: int

    @property
    def is_float(self):
        return DTYPES[self.dtype][2]

    @property
    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def array(self):
        """Stored values as a numpy array (read-only memmap; BF16 as uint16)."""
        npdt = DTYPES[self.dtype][0]
        if self.numel == 0:
            return np.zeros(self.shape, dtype=npdt)
        a = np.memmap(self.file, dtype=np.dtype(npdt).newbyteorder("<"),
                      mode="r", offset=self.offset, shape=(self.numel,))
        return a.reshape(self.shape)

    def as_f32(self):
        """Float32 copy of a float tensor (F16/BF16/F64 converted)."""
        a = self.array()
        if self.dtype == "BF16":
            return (a.astype(np.uint32) << 16).view(np.float32)
        return np.array(a, dtype=np.float32)


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise FormatError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        size = os.path.getsize(path)
        if n > size - 8:
            raise FormatError(f"{path}: header length {n} exceeds file size {size}")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(f"{path}: bad JSON header: {e}")
    return header, 8 + n, size


def read_file_tensors(path):
    """TensorRefs of one .safetensors file, sorted by data offset."""
    header, base, size = read_header(path)
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in DTYPES:
            raise FormatError(f"{path}: {name}: unknown dtype {dt}")
        b, e = info["data_offsets"]
        n = 1
        for d in info["shape"]:
            n *= d
        if e - b != n * DTYPES[dt][1] or base + e > size:
            raise FormatError(f"{path}: {name}: bad data_offsets {b},{e}")
        out.append(TensorRef(name, dt, list(info["shape"]), os.path.abspath(path), base + b, e - b))
    out.sort(key=lambda t: t.offset)
    return out


def model_files(path):
    """Shard paths of a model: one file, or a folder (index order, else sorted)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no such file or directory: {path}")
    idx = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        files = sorted(set(wm.values()))
    else:
        files = sorted(n for n in os.listdir(path) if n.endswith(".safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors files in {path}")
    return [os.path.join(path, n) for n in files]


def read_model(path):
    out = []
    for f in model_files(path):
        out.extend(read_file_tensors(f))
    return out


def header_bytes(entries, metadata=None):
    """Header for entries [(name, dtype, shape, nbytes)] laid out in that order.

    Keys in offset order, "__metadata__" first, padded with spaces to a
    multiple of 8 bytes (as the safetensors library does)."""
    hdr = {}
    if metadata:
        hdr["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for name, dtype, shape, nbytes in entries:
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype}")
        hdr[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    raw = json.dumps(hdr, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, off


def write_safetensors(path, entries, chunks, metadata=None):
    """Stream a safetensors file.

    entries: [(name, dtype, shape, nbytes)] in data order.
    chunks: iterable of bytes-like objects whose concatenation is the data of
    all tensors in that order (a tensor may span several chunks)."""
    head, total = header_bytes(entries, metadata)
    written = 0
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(head)
        for c in chunks:
            mv = memoryview(c).cast("B")
            f.write(mv)
            written += len(mv)
    if written != total:
        os.unlink(tmp)
        raise RuntimeError(f"{path}: wrote {written} data bytes, header says {total}")
    os.replace(tmp, path)
    return total


def f32_to_bf16_bits(x):
    """float32 array -> uint16 bfloat16 bits, round-to-nearest-even, NaN kept quiet."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        r[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    return r


def die(msg, code=2):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)
