"""Writes the single checkpoint files image pipelines use (ComfyUI / Forge:
Hugging Face tensor names, no config.json) from a fixture directory, each
beside a reference: a Hugging Face directory whose F32 weights are exactly
the values nt5 must read from the file (fp8 codes decoded, times their
scale), with the fixture's config and tokenizer. Pure Python (no numpy).

usage: single_file_writer.py FIXTURE_DIR OUT_DIR KIND [KIND ...]
kinds: fp16, fp8 (every float tensor e4m3fn, no scale), e5m2 (matrices),
scaled (ComfyUI's scaled fp8: matrices e4m3fn with F32 scale_weight, the
rest f16, a scaled_fp8 marker), prefixed (an all-in-one file: fp16 under
text_encoders.t5xxl.transformer. among unrelated tensors), spiece (fp16 with
the sentencepiece model inside as the U8 tensor spiece_model); and the
damaged ones: missing-scale, fp8-nan, not-t5, no-t5."""
import array
import bisect
import json
import math
import os
import shutil
import struct
import sys

from torch_writer import read_safetensors

PREFIX = "text_encoders.t5xxl.transformer."
DAMAGED = ("missing-scale", "fp8-nan", "not-t5", "no-t5")


def floats(dtype, raw):
    if dtype == "F32":
        return array.array("f", raw).tolist()
    if dtype == "F16":
        return list(struct.unpack("<%de" % (len(raw) // 2), raw))
    if dtype == "BF16":
        return [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    raise ValueError(dtype)


def fp8_value(kind, code):
    """The value of an fp8 code, as PyTorch's float8_e4m3fn / float8_e5m2 define it."""
    mant_bits, bias = (3, 7) if kind == "F8_E4M3" else (2, 15)
    exponent, mantissa = (code & 0x7F) >> mant_bits, code & ((1 << mant_bits) - 1)
    sign = -1.0 if code & 0x80 else 1.0
    exp_max = (1 << (7 - mant_bits)) - 1
    if kind == "F8_E4M3" and exponent == exp_max and mantissa == (1 << mant_bits) - 1:
        return math.nan
    if kind == "F8_E5M2" and exponent == exp_max:
        return math.nan if mantissa else sign * math.inf
    if exponent == 0:
        return sign * math.ldexp(mantissa, 1 - bias - mant_bits)
    return sign * math.ldexp((1 << mant_bits) | mantissa, exponent - bias - mant_bits)


class Fp8:
    """Rounding to the nearest finite code of one fp8 kind."""

    def __init__(self, kind):
        self.kind = kind
        positive = sorted((fp8_value(kind, c), c) for c in range(0x80) if math.isfinite(fp8_value(kind, c)))
        self.values = [v for v, _ in positive]
        self.codes = [c for _, c in positive]

    def encode(self, values):
        out = bytearray()
        for v in values:
            a, i = abs(v), bisect.bisect_left(self.values, abs(v))
            if i == len(self.values) or (i > 0 and a - self.values[i - 1] <= self.values[i] - a):
                i -= 1
            out.append(self.codes[i] | (0x80 if v < 0 and self.values[i] != 0 else 0))
        return bytes(out)

    def decode(self, raw):
        return [fp8_value(self.kind, c) for c in raw]


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, raw in tensors.values():
            f.write(raw)


def f16(values):
    return struct.pack("<%de" % len(values), *values)


def f32(values):
    return array.array("f", values).tobytes()


def is_matrix(name, shape):
    return len(shape) == 2 and "relative_attention_bias" not in name and name != "shared.weight" \
        and not name.endswith("embed_tokens.weight")


def single_file(fixture, kind):
    """(tensors of the single file, exact F32 values by Hugging Face name)."""
    src = read_safetensors(os.path.join(fixture, "model.safetensors"))
    out, exact = {}, {}
    e4m3, e5m2 = Fp8("F8_E4M3"), Fp8("F8_E5M2")
    for name, (dtype, shape, raw) in src.items():
        values = floats(dtype, raw)
        if kind in ("fp8", "fp8-nan") or (kind == "e5m2" and is_matrix(name, shape)):
            codec = e5m2 if kind == "e5m2" else e4m3
            codes = codec.encode(values)
            out[name] = (codec.kind, shape, codes)
            exact[name] = codec.decode(codes)
        elif kind in ("scaled", "missing-scale") and is_matrix(name, shape):
            scale = struct.unpack("<f", struct.pack("<f", max(map(abs, values)) / 448.0))[0]
            codes = e4m3.encode([v / scale for v in values])
            out[name] = ("F8_E4M3", shape, codes)
            out[name[:-len("weight")] + "scale_weight"] = ("F32", [], f32([scale]))
            # float(fp8) * scale in fp32, as nt5 reads it
            exact[name] = [struct.unpack("<f", struct.pack("<f", v * scale))[0] for v in e4m3.decode(codes)]
        else:
            halves = struct.unpack("<%de" % len(values), f16(values))
            out[name] = ("F16", shape, f16(values))
            exact[name] = list(halves)
    if kind in ("scaled", "missing-scale"):
        out["scaled_fp8"] = ("F8_E4M3", [0], b"")
    if kind == "missing-scale":
        del out[next(n for n in out if n.endswith(".scale_weight"))]
    if kind == "fp8-nan":
        name = next(n for n in out if n.endswith("SelfAttention.q.weight"))
        dtype, shape, codes = out[name]
        out[name] = (dtype, shape, b"\x7f" + codes[1:])
    if kind == "not-t5":
        del out["encoder.block.0.layer.0.SelfAttention.q.weight"]
    if kind == "prefixed":
        out = {PREFIX + n: t for n, t in out.items()}
        out["text_encoders.clip_l.transformer.text_model.final_layer_norm.weight"] = ("F16", [8], f16([1.0] * 8))
        out["model.diffusion_model.input_blocks.0.weight"] = ("F32", [256, 256], f32([0.5] * 65536))
    if kind == "no-t5":
        out = {"model.diffusion_model.input_blocks.0.weight": ("F32", [4, 4], f32([0.5] * 16))}
    if kind == "spiece":
        with open(os.path.join(fixture, "spiece.model"), "rb") as f:
            model = f.read()
        out["spiece_model"] = ("U8", [len(model)], model)
    return out, exact


def write(fixture, out_dir, kind):
    """Writes OUT_DIR/KIND.safetensors and, for the readable kinds, OUT_DIR/KIND-reference/."""
    tensors, exact = single_file(fixture, kind)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, kind + ".safetensors"), tensors)
    if kind in DAMAGED:
        return
    ref = os.path.join(out_dir, kind + "-reference")
    os.makedirs(ref, exist_ok=True)
    src = read_safetensors(os.path.join(fixture, "model.safetensors"))
    write_safetensors(os.path.join(ref, "model.safetensors"),
                      {n: ("F32", src[n][1], f32(v)) for n, v in exact.items()}, {"format": "pt"})
    for name in os.listdir(fixture):
        if name.endswith(".json") and not name.startswith("reference") or name == "spiece.model":
            shutil.copy(os.path.join(fixture, name), ref)


def main():
    fixture, out_dir, kinds = sys.argv[1], sys.argv[2], sys.argv[3:]
    for kind in kinds:
        write(fixture, out_dir, kind)


if __name__ == "__main__":
    main()
