#!/usr/bin/env python3
"""Writes tests/data/quant_ggml.bin: float inputs and the blocks ggml's own
reference quantizers make of them (Q8_0, Q6_K, Q5_K, Q4_K), which
tests/test_quant.c compares nt5's quantizers against. Run by hand, with a
built llama.cpp's libggml-base.so (bench/cpu_vs_llamacpp.py builds one
from llama-cpp-python's sdist):

  python3 tests/make_quant_fixture.py LIBGGML_BASE_SO [--blocks 40] [--seed 0] [--out tests/data/quant_ggml.bin]

Layout (little-endian): "NT5QFIX1", uint32 n (values, whole 256-value
blocks), float32 x[n], then per type: uint32 ggml type id, uint32 bytes,
the blocks. The inputs mix the cases the quantizers branch on: Gaussian
blocks at several scales, all-zero and tiny blocks, all-positive and
all-negative ones, constant ones, sparse spikes, heavy tails.
"""
import argparse
import ctypes
import struct

import numpy as np

TYPES = [("Q8_0", 8, 32, 34), ("Q6_K", 14, 256, 210), ("Q5_K", 13, 256, 176), ("Q4_K", 12, 256, 144)]


def inputs(blocks, seed):
    rng = np.random.default_rng(seed)
    out = []
    for b in range(blocks):
        kind = b % 10
        if kind == 0:
            v = rng.standard_normal(256) * 10.0 ** rng.uniform(-4, 2)
        elif kind == 1:
            v = np.zeros(256)
        elif kind == 2:
            v = rng.uniform(0.1, 1.0, 256)
        elif kind == 3:
            v = -rng.uniform(0.1, 1.0, 256)
        elif kind == 4:
            v = np.full(256, rng.standard_normal())
        elif kind == 5:
            v = np.where(rng.uniform(size=256) < 0.05, rng.standard_normal(256) * 5, 0.0)
        elif kind == 6:
            v = rng.standard_t(2, 256) * 0.02
        elif kind == 7:
            v = rng.standard_normal(256) * 1e-17
        elif kind == 8:
            v = np.concatenate([np.zeros(128), rng.standard_normal(128)])
        else:
            v = rng.standard_normal(256) * 0.02
            v[rng.integers(0, 256, 3)] *= 40
        out.append(v)
    return np.concatenate(out).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("libggml_base")
    ap.add_argument("--blocks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="tests/data/quant_ggml.bin")
    a = ap.parse_args()
    ggml = ctypes.CDLL(a.libggml_base)
    ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
    ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    x = inputs(a.blocks, a.seed)
    with open(a.out, "wb") as f:
        f.write(b"NT5QFIX1" + struct.pack("<I", x.size) + x.tobytes())
        for name, type_id, values, size in TYPES:
            ggml.ggml_quantize_init(type_id)
            dst = ctypes.create_string_buffer(x.size // values * size)
            # one row of all n values, no importance matrix: the _ref quantizers
            n = ggml.ggml_quantize_chunk(type_id, x.ctypes.data, dst, 0, 1, x.size, None)
            assert n == len(dst.raw), (name, n)
            f.write(struct.pack("<II", type_id, n) + dst.raw)


if __name__ == "__main__":
    main()
