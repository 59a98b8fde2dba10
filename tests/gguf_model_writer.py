#!/usr/bin/env python3
"""GGUF files of T5 models as llama.cpp's converter writes them (gguf-py's
GGUFWriter, its T5 / T5ENCODER tensor names from gguf.get_tensor_name_map,
the hyper-parameters, the tokenizer as tokens, scores, token types and the
precompiled character map of its spiece.model, the <extra_id_N> as
user-defined tokens and [PADn] filler up to vocab_size), each beside a
reference: a Hugging Face directory whose F32 weights are exactly the
GGUF's values (gguf.quants.dequantize) with the fixture's config and
tokenizer files. Matrices whose rows are not whole blocks fall back to F16,
as llama-quantize does; norms and position biases stay F32.

From a fixture the weights are quantized (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
Q5_0, Q5_1: what gguf-py can quantize); for the k-quants, which need rows of
256 and which gguf-py cannot quantize, `synthetic` makes a model of such
shapes from random blocks with small scales. `seeds` writes the fuzzer's
seeds (tests/fuzz/run.sh). Needs numpy and gguf.
usage: gguf_model_writer.py FIXTURE_DIR OUT_DIR TYPE [t5|t5encoder]
       gguf_model_writer.py --seeds DATA_DIR OUT_DIR"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_writer import SCALE_OFFSETS  # noqa: E402
from torch_writer import read_safetensors  # noqa: E402
from single_file_writer import write_safetensors  # noqa: E402

TYPES = {t.name: t for t in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K,
                             Q.Q5_K, Q.Q6_K)}
K_QUANTS = (Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K)


def fixture_weights(fixture):
    """HF name -> float32 array."""
    out = {}
    for name, (dtype, shape, raw) in read_safetensors(os.path.join(fixture, "model.safetensors")).items():
        x = {"F32": np.frombuffer(raw, np.float32), "F16": np.frombuffer(raw, np.float16).astype(np.float32),
             "BF16": (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)}[dtype]
        out[name] = x.reshape(shape)
    return out


def is_matrix(name):
    return name.endswith(".weight") and "layer_norm" not in name and "relative_attention_bias" not in name


def random_blocks(rng, qtype, rows, cols):
    """[rows, cols] of random `qtype` blocks whose f16 scales are small (|w| of a few units at most)."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(rows * cols // block, size), dtype=np.uint8)
    for off in SCALE_OFFSETS[qtype]:
        scales = rng.uniform(2e-4, 2e-3, size=len(blocks)).astype(np.float16)
        blocks[:, off:off + 2] = scales.view(np.uint8).reshape(-1, 2)
    return blocks.reshape(rows, cols // block * size)


def encode(rng, name, x, qtype):
    """(raw array, ggml type) of HF tensor `name` with values x."""
    if not is_matrix(name) or x.ndim != 2:
        return x.astype(np.float32), Q.F32
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    if x.shape[1] % block:
        qtype = Q.F16  # llama-quantize's fallback for rows that are not whole blocks
    if qtype in K_QUANTS:
        return random_blocks(rng, qtype, *x.shape), qtype
    if qtype == Q.F32:
        return x.astype(np.float32), Q.F32
    if qtype == Q.F16:
        return x.astype(np.float16), Q.F16
    return gguf.quants.quantize(x.astype(np.float32), qtype), qtype


def exact(raw, qtype, shape):
    if qtype == Q.F32:
        return raw.astype(np.float32).reshape(shape)
    if qtype == Q.F16:
        return raw.astype(np.float32).reshape(shape)
    return gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(shape)


def spiece_fields(path):
    """pieces [(text, score, type)], the normalizer's (charsmap, add_dummy_prefix, remove_extra_whitespaces)
    and the trainer's (unk, eos, pad) of a serialized sentencepiece model (protobuf wire format)."""
    def fields(b):
        i, out = 0, []
        while i < len(b):
            key, i = varint(b, i)
            field, wire = key >> 3, key & 7
            if wire == 0:
                value, i = varint(b, i)
            elif wire == 2:
                n, i = varint(b, i)
                value, i = b[i:i + n], i + n
            elif wire == 5:
                value, i = b[i:i + 4], i + 4
            else:
                value, i = b[i:i + 8], i + 8
            out.append((field, value))
        return out

    def varint(b, i):
        r = s = 0
        while True:
            c = b[i]
            i += 1
            r |= (c & 0x7F) << s
            s += 7
            if c < 0x80:
                return r, i

    with open(path, "rb") as f:
        top = fields(f.read())
    pieces = []
    for field, value in top:
        if field == 1:
            p = dict(fields(value))
            pieces.append((p[1].decode(), struct.unpack("<f", p.get(2, b"\0\0\0\0"))[0], p.get(3, 1)))
    norm = dict(fields(next(v for f, v in top if f == 3)))
    trainer = dict(fields(next(v for f, v in top if f == 2)))
    signed = {k: (v - (1 << 64) if v >= 1 << 63 else v) for k, v in trainer.items() if isinstance(v, int)}
    return pieces, (norm.get(2, b""), norm.get(3, 1), norm.get(4, 1)), (signed.get(40, 0), signed.get(42, 2),
                                                                         signed.get(43, -1))


def add_tokenizer(w, fixture, vocab_size):
    pieces, (charsmap, dummy_prefix, remove_ws), (unk, eos, pad) = spiece_fields(os.path.join(fixture, "spiece.model"))
    tokens, scores, types = [p[0] for p in pieces], [p[1] for p in pieces], [p[2] for p in pieces]
    added = {}
    if os.path.exists(os.path.join(fixture, "added_tokens.json")):
        with open(os.path.join(fixture, "added_tokens.json")) as f:
            added = {i: t for t, i in json.load(f).items()}
    for i in range(len(tokens), vocab_size):
        text, kind = (added[i], gguf.TokenType.USER_DEFINED) if i in added else ("[PAD%d]" % i, gguf.TokenType.UNUSED)
        tokens.append(text)
        scores.append(0.0)
        types.append(int(kind))
    w.add_tokenizer_model("t5")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(bool(dummy_prefix))
    w.add_remove_extra_whitespaces(bool(remove_ws))
    if charsmap:
        w.add_precompiled_charsmap(charsmap)
    w.add_unk_token_id(unk)
    w.add_eos_token_id(eos)
    w.add_pad_token_id(pad)


def synthetic(fixture, blocks=2):
    """A config of k-quant shapes (rows of 256 and 512) on the fixture's vocabulary, `blocks` blocks in each
    stack, and weights of that shape."""
    with open(os.path.join(fixture, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(d_model=256, d_kv=64, num_heads=4, d_ff=512, num_layers=blocks, num_decoder_layers=blocks)
    rng = np.random.default_rng(7)
    d, inner, ff, gated = 256, 256, 512, cfg.get("feed_forward_proj", "relu").startswith("gated")
    weights = {"shared.weight": rng.standard_normal((cfg["vocab_size"], d)).astype(np.float32),
               "encoder.final_layer_norm.weight": 1 + 0.1 * rng.standard_normal(d).astype(np.float32),
               "decoder.final_layer_norm.weight": 1 + 0.1 * rng.standard_normal(d).astype(np.float32)}
    if not cfg.get("tie_word_embeddings", True):
        weights["lm_head.weight"] = rng.standard_normal((cfg["vocab_size"], d)).astype(np.float32)
    ffn = [("wi_0", (ff, d)), ("wi_1", (ff, d))] if gated else [("wi", (ff, d))]
    for stack, layers in (("encoder", [(0, "SelfAttention", "qkvo"), (1, None, "")]),
                          ("decoder", [(0, "SelfAttention", "qkvo"), (1, "EncDecAttention", "qkvo"), (2, None, "")])):
        for b in range(blocks):
            for layer, attention, parts in layers:
                p = "%s.block.%d.layer.%d." % (stack, b, layer)
                weights[p + "layer_norm.weight"] = 1 + 0.1 * rng.standard_normal(d).astype(np.float32)
                for x in parts:
                    weights[p + "%s.%s.weight" % (attention, x)] = rng.standard_normal(
                        (d, inner) if x == "o" else (inner, d)).astype(np.float32)
                if attention == "SelfAttention" and b == 0:
                    weights[p + "SelfAttention.relative_attention_bias.weight"] = rng.standard_normal(
                        (cfg["relative_attention_num_buckets"], 4)).astype(np.float32)
                if attention is None:
                    for name, shape in ffn + [("wo", (d, ff))]:
                        weights[p + "DenseReluDense.%s.weight" % name] = rng.standard_normal(shape).astype(np.float32)
    return cfg, weights


def add_hparams(w, cfg):
    """The hyper-parameters llama.cpp's converter writes, from a T5 config.json's values."""
    eps = cfg.get("layer_norm_epsilon", 1e-6)
    w.add_context_length(512)
    w.add_embedding_length(cfg["d_model"])
    w.add_feed_forward_length(cfg["d_ff"])
    w.add_block_count(cfg["num_layers"])
    w.add_head_count(cfg["num_heads"])
    w.add_key_length(cfg["d_kv"])
    w.add_value_length(cfg["d_kv"])
    w.add_layer_norm_eps(eps)
    w.add_layer_norm_rms_eps(eps)
    w.add_relative_attn_buckets_count(cfg.get("relative_attention_num_buckets", 32))
    w.add_decoder_start_token_id(cfg.get("decoder_start_token_id", 0))


def write(fixture, out_dir, type_name, arch="t5", shape="fixture", overrides=None, blocks=2):
    """Writes OUT_DIR/model.gguf and OUT_DIR/reference/ (an HF directory of the exact values).
    overrides: {part of an HF tensor name: type name} for tensors of another type (a _M mix);
    blocks: blocks in each stack of the synthetic shape."""
    qtype = TYPES[type_name]
    if shape == "synthetic":
        cfg, weights = synthetic(fixture, blocks)
    else:
        with open(os.path.join(fixture, "config.json")) as f:
            cfg = json.load(f)
        weights = fixture_weights(fixture)
    if arch == "t5encoder":  # T5EncoderModel: no decoder, no head
        weights = {n: x for n, x in weights.items() if not n.startswith(("decoder.", "lm_head."))}
        cfg["num_decoder_layers"] = 0
    umt5 = cfg.get("model_type") == "umt5"
    gguf_arch = gguf.MODEL_ARCH.T5ENCODER if arch == "t5encoder" else gguf.MODEL_ARCH.T5
    names = gguf.get_tensor_name_map(gguf_arch, max(cfg["num_layers"], cfg.get("num_decoder_layers") or 0))
    os.makedirs(out_dir, exist_ok=True)
    w = gguf.GGUFWriter(os.path.join(out_dir, "model.gguf"), arch)
    add_hparams(w, cfg)
    add_tokenizer(w, fixture, cfg["vocab_size"])
    rng = np.random.default_rng(11)
    reference = {}
    for name, x in weights.items():
        if name == "encoder.embed_tokens.weight" or name == "decoder.embed_tokens.weight":
            continue
        gguf_name = names.get_name(name, try_suffixes=(".weight",))
        assert gguf_name, name
        own = next((TYPES[t] for part, t in (overrides or {}).items() if part in name), qtype)
        raw, t = encode(rng, name, x, own)
        w.add_tensor(gguf_name, raw, raw_dtype=None if t in (Q.F32, Q.F16) else t)
        reference[name] = exact(raw, t, x.shape)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    ref = os.path.join(out_dir, "reference")
    os.makedirs(ref, exist_ok=True)
    write_safetensors(os.path.join(ref, "model.safetensors"),
                      {n: ("F32", list(x.shape), x.astype("<f4").tobytes()) for n, x in reference.items()},
                      {"format": "pt"})
    if umt5:
        cfg["model_type"] = "umt5"
    with open(os.path.join(ref, "config.json"), "w") as f:
        json.dump(cfg, f)
    for name in ("spiece.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        if os.path.exists(os.path.join(fixture, name)):
            shutil.copy(os.path.join(fixture, name), ref)


def seeds(data, out_dir):
    """The model_open fuzzer's GGUF seeds, OUT_DIR/NAME.gguf, each under its 1 MiB max_len: the tiny
    T5 v1.1 in F16 and Q8_0 (t5 and t5encoder), UMT5 in Q8_0, and on the synthetic shape Q4_K and a Q4_K
    mix as llama-quantize's _M (v and the FFN output in Q6_K: fused q, k, v of two block types). The
    synthetic files are encoder-only with one block: with the tokenizer's metadata (~260 kB, most of it
    the precompiled charsmap) even one block in each stack of a t5 file is 1.5 MB, so no seed holds a
    decoder's cross k, v of mixed parts. Returns the paths written."""
    mix = {"DenseReluDense.wo": "Q6_K", "Attention.v": "Q6_K"}
    paths = []
    for name, fixture, type_name, arch, shape, overrides in (
            ("t5-v1_1-tiny-F16", "t5-v1_1-tiny", "F16", "t5", "fixture", None),
            ("t5-v1_1-tiny-Q8_0", "t5-v1_1-tiny", "Q8_0", "t5", "fixture", None),
            ("t5-v1_1-tiny-Q8_0-t5encoder", "t5-v1_1-tiny", "Q8_0", "t5encoder", "fixture", None),
            ("umt5-tiny-Q8_0", "umt5-tiny", "Q8_0", "t5", "fixture", None),
            ("synthetic-Q4_K-t5encoder", "t5-v1_1-tiny", "Q4_K", "t5encoder", "synthetic", None),
            ("synthetic-Q4_K_M-t5encoder", "t5-v1_1-tiny", "Q4_K", "t5encoder", "synthetic", mix)):
        tmp = os.path.join(out_dir, name + ".tmp")
        write(os.path.join(data, fixture), tmp, type_name, arch, shape, overrides, blocks=1)
        path = os.path.join(out_dir, name + ".gguf")
        os.replace(os.path.join(tmp, "model.gguf"), path)
        shutil.rmtree(tmp)
        assert os.path.getsize(path) <= 1 << 20, path
        paths.append(path)
    return paths


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seeds"] and len(sys.argv) == 4:
        seeds(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (4, 5) and sys.argv[1] != "--seeds":
        write(sys.argv[1], sys.argv[2], sys.argv[3], *(sys.argv[4:5] or ["t5"]))
    else:
        sys.exit(__doc__)
