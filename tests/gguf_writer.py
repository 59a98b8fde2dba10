#!/usr/bin/env python3
"""GGUF files for the reader's tests (tests/test_gguf.py) and the fuzzer's
seeds. Valid files through gguf-py's GGUFWriter: every metadata value type,
scalars and arrays, and a tensor of every type nt5 dequantizes, both random
blocks (with finite f16 scales) and, where gguf-py can quantize, quantized
floats. Hand-assembled bytes (`assemble`) for what GGUFWriter will not write:
hostile files, version 2, empty arrays. Needs numpy and gguf (pinned 0.19.0).
usage: gguf_writer.py OUTDIR   writes small seed files into OUTDIR"""
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

# the types nt5 dequantizes, and those of them gguf-py can quantize
DEQUANTIZED = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]
QUANTIZABLE = [Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
# where each block of a quantized type keeps its f16 scales (ggml-common.h)
SCALE_OFFSETS = {Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0], Q.Q2_K: [80, 82],
                 Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}
# numpy shapes (the last is the row: ggml's ne reversed) of the random tensors
SHAPES = {Q.F32: (2, 3, 4, 8), Q.F16: (5, 64), Q.BF16: (3, 2, 32), Q.Q8_0: (1024,), Q.Q4_0: (8, 256),
          Q.Q4_1: (2, 4, 128), Q.Q5_0: (8, 256), Q.Q5_1: (1, 2, 2, 512), Q.Q2_K: (4, 1024), Q.Q3_K: (16, 256),
          Q.Q4_K: (2, 2, 1024), Q.Q5_K: (4, 1024), Q.Q6_K: (3, 1, 1536)}


def finite_f16_bits(rng, n):
    """n random finite f16 bit patterns: every exponent (subnormals too), both signs."""
    bits = rng.integers(0, 0x10000, size=n, dtype=np.uint16)
    return np.where((bits & 0x7C00) == 0x7C00, bits ^ 0x4000, bits).astype(np.uint16)


def random_tensor(rng, qtype, shape):
    """A tensor of `shape` as GGUFWriter takes it (array, raw_dtype): random
    values or blocks of random bytes, with finite f16 scales."""
    n = int(np.prod(shape))
    if qtype == Q.F32:
        x = rng.standard_normal(n).astype(np.float32)
        x[:6] = [np.inf, -np.inf, -0.0, 1e-45, -3.4e38, 1.5]
        return x.reshape(shape), None
    if qtype == Q.F16:
        x = finite_f16_bits(rng, n)
        x[:3] = [0x7C00, 0xFC00, 0x8000]  # inf, -inf, -0
        return x.view(np.float16).reshape(shape), None
    if qtype == Q.BF16:  # finite bf16: no exponent of all ones
        x = rng.integers(0, 0x10000, size=n, dtype=np.uint16)
        x = np.where((x & 0x7F80) == 0x7F80, x ^ 0x4000, x).astype(np.uint16)
        return x.reshape(shape), Q.BF16
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n // block, size), dtype=np.uint8)
    for off in SCALE_OFFSETS[qtype]:
        blocks[:, off:off + 2] = finite_f16_bits(rng, n // block).view(np.uint8).reshape(-1, 2)
    return blocks.reshape(*shape[:-1], shape[-1] // block * size), qtype


# metadata of every value type: (key, type, value, array element type)
def metadata(n_tokens):
    tokens = ["<pad>", "</s>", "<unk>", "", "\u2581the", "\u65e5\u672c", "a b", "\u00e9"]
    tokens += ["tok%d" % i for i in range(n_tokens)]
    return [
        ("test.uint8", V.UINT8, 255, None), ("test.int8", V.INT8, -128, None),
        ("test.uint16", V.UINT16, 65535, None), ("test.int16", V.INT16, -32768, None),
        ("test.uint32", V.UINT32, 4294967295, None), ("test.int32", V.INT32, -2147483648, None),
        ("test.int32_positive", V.INT32, 512, None), ("test.float32", V.FLOAT32, 1e-6, None),
        ("test.float32_inf", V.FLOAT32, float("-inf"), None), ("test.bool_true", V.BOOL, True, None),
        ("test.bool_false", V.BOOL, False, None), ("test.string", V.STRING, "T5 \u00fcber alles", None),
        ("test.string_empty", V.STRING, "", None), ("test.uint64_big", V.UINT64, 2**64 - 1, None),
        ("test.uint64_small", V.UINT64, 7, None), ("test.int64", V.INT64, -2**63, None),
        ("test.float64", V.FLOAT64, 0.1, None),
        ("test.array_uint8", V.ARRAY, [0, 1, 255], V.UINT8), ("test.array_int8", V.ARRAY, [-1, 2], V.INT8),
        ("test.array_uint16", V.ARRAY, [65535], V.UINT16), ("test.array_int16", V.ARRAY, [-5, 5], V.INT16),
        ("test.array_uint32", V.ARRAY, [1, 2, 3], V.UINT32), ("test.array_int32", V.ARRAY, [-7, 0, 7], V.INT32),
        ("test.array_float32", V.ARRAY, [0.5, -0.0, 3.25e-40], V.FLOAT32),
        ("test.array_bool", V.ARRAY, [True, False, True], V.BOOL),
        ("test.array_uint64", V.ARRAY, [2**63, 1], V.UINT64), ("test.array_int64", V.ARRAY, [-2**40], V.INT64),
        ("test.array_float64", V.ARRAY, [1e300, -2.5], V.FLOAT64),
        ("tokenizer.ggml.model", V.STRING, "t5", None),
        ("tokenizer.ggml.tokens", V.ARRAY, tokens, V.STRING),
        ("tokenizer.ggml.scores", V.ARRAY, [-float(i) / 7 for i in range(len(tokens))], V.FLOAT32),
        ("tokenizer.ggml.add_space_prefix", V.BOOL, True, None),
        ("t5encoder.block_count", V.UINT32, 24, None),
    ]


def write_file(path, seed=0, n_tokens=40000, types=DEQUANTIZED, extra_types=(Q.IQ2_XXS, Q.I8), alignment=None):
    """A valid file through GGUFWriter: the metadata above, a random tensor of
    each of `types` (and of `extra_types`, which nt5 does not dequantize) and
    quantized floats for the types gguf-py quantizes."""
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, arch="t5encoder")
    if alignment:
        w.add_custom_alignment(alignment)
    for key, vtype, value, sub in metadata(n_tokens):
        w.add_key_value(key, value, vtype, sub_type=sub)
    for qtype in types:
        array, raw = random_tensor(rng, qtype, SHAPES[qtype])
        w.add_tensor(qtype.name + ".random", array, raw_dtype=raw)
    for qtype in (t for t in QUANTIZABLE if t in types):
        x = (rng.standard_normal((4, 256)) * rng.uniform(0.01, 10, size=(4, 1))).astype(np.float32)
        w.add_tensor(qtype.name + ".quantized", gguf.quants.quantize(x, qtype), raw_dtype=qtype)
    for qtype in extra_types:
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        w.add_tensor(qtype.name + ".raw", rng.integers(0, 256, size=(2, 2 * size), dtype=np.uint8), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# Hand-assembled files: each piece as the format lays it out (little-endian).
def string(b, claimed=None):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b) if claimed is None else claimed) + b


def kv(key, vtype, payload):
    """A metadata entry: payload is the value's bytes (after its type)."""
    return string(key) + struct.pack("<I", vtype) + payload


def array(elem_type, count, payload=b""):
    return struct.pack("<IQ", elem_type, count) + payload


def tensor_info(name, dims, qtype, offset):
    return (string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) +
            struct.pack("<IQ", qtype, offset))


def assemble(kvs=(), infos=(), data=b"", version=3, magic=b"GGUF", alignment=32, n_kv=None, n_tensors=None):
    """Header, metadata, tensor infos, padding to `alignment`, data."""
    head = magic + struct.pack("<IQQ", version, len(infos) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(infos)
    return body + bytes(-len(body) % alignment) + data


def edge_file():
    """A valid file GGUFWriter would not write: version 2, alignment 64 (as a
    uint32), empty arrays, an empty key, tensors out of file order with a gap."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal(16).astype(np.float32)
    b = finite_f16_bits(rng, 64)
    kvs = [kv("general.alignment", V.UINT32, struct.pack("<I", 64)),
           kv("empty.strings", V.ARRAY, array(V.STRING, 0)), kv("empty.uint32", V.ARRAY, array(V.UINT32, 0)),
           kv("", V.STRING, string("empty key")),
           kv("strings", V.ARRAY, array(V.STRING, 3, string("") + string("x") + string(b"\xff\x00z")))]
    infos = [tensor_info("late", [16], Q.F32, 192), tensor_info("early", [32, 2], Q.F16, 0)]
    data = b.tobytes() + bytes(64) + a.tobytes()
    return assemble(kvs, infos, data, version=2, alignment=64)


def write_seeds(outdir):
    """Small files for the fuzzer: one per dequantized type, the metadata alone, the edge file."""
    os.makedirs(outdir, exist_ok=True)
    for i, qtype in enumerate(DEQUANTIZED):
        write_file(os.path.join(outdir, qtype.name + ".gguf"), seed=i, n_tokens=8, types=[qtype], extra_types=())
    write_file(os.path.join(outdir, "metadata.gguf"), n_tokens=64, types=[], extra_types=(Q.IQ2_XXS,))
    with open(os.path.join(outdir, "edge.gguf"), "wb") as f:
        f.write(edge_file())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write_seeds(sys.argv[1])
