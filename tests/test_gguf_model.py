#!/usr/bin/env python3
"""T5 models in GGUF files as llama.cpp's converter writes them (written by
gguf_model_writer.py from the fixtures): nt5 opens each type (F32, F16,
BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 from the fixtures' weights; Q2_K..Q6_K on
a model of k-quant shapes), enc-dec and t5encoder, T5, v1.0 and UMT5, and
gives the hidden states and greedy ids of its reference: a Hugging Face
directory of exactly the dequantized values (nt5 on such a directory is held
to Hugging Face's numbers by the parity tests). The tokenizer rebuilt from
the metadata tokenizes as the original spiece.model (the genuine T5 one
too, from ../shared/fixtures, when it is there). Bad files are refused by
name. Needs numpy and gguf: runs under NT5_GGUF_PYTHON when this Python has
no gguf, else is skipped (77).
usage: test_gguf_model.py NT5_BINARY DATA_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import numpy as np
    import gguf
except ImportError:
    other = os.environ.get("NT5_GGUF_PYTHON")
    if other and not os.environ.get("NT5_GGUF_IN_VENV"):  # a venv's python may resolve to this one: mark the re-run
        os.environ["NT5_GGUF_IN_VENV"] = "1"
        os.execv(other, [other, os.path.abspath(__file__), *sys.argv[1:]])
    print("SKIP: no Python with numpy and gguf (set NT5_GGUF_PYTHON)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_model_writer as writer  # noqa: E402

NT5, DATA = sys.argv[1], sys.argv[2]
SHARED = os.environ.get("NT5_SHARED_FIXTURES", os.path.join(DATA, "..", "..", "..", "shared", "fixtures"))
TEXTS = ["Hello world!", "The house is wonderful <extra_id_3>."]
SHAPE_KEYS = ("d_model", "d_kv", "d_ff", "num_heads", "num_layers", "num_decoder_layers", "vocab_size",
              "tokenizer_size", "relative_attention_num_buckets", "is_gated_act", "tie_word_embeddings", "has_decoder",
              "activation")


def nt5(*args):
    return subprocess.run([NT5, *args], capture_output=True, text=True, timeout=300)


def hidden_states(model, out):
    r = nt5("encode", model, *TEXTS, "-o", out, "--weight-dtype", "f32")
    assert r.returncode == 0, r.stderr
    return np.load(out)


class GgufModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nt5-gguf-model-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_same(self, fixture, qtype, arch="t5", shape="fixture"):
        out = os.path.join(self.tmp, "%s-%s-%s-%s" % (os.path.basename(fixture), qtype, arch, shape))
        writer.write(fixture, out, qtype, arch, shape)
        model, ref = os.path.join(out, "model.gguf"), os.path.join(out, "reference")
        info, want = (json.loads(nt5("info", m, "--json").stdout) for m in (model, ref))
        self.assertEqual({k: info[k] for k in SHAPE_KEYS}, {k: want[k] for k in SHAPE_KEYS})
        self.assertEqual((info["format"], info["tokenizer_source"]), ("GGUF version 3", "the GGUF metadata"))
        self.assertIn(qtype, info["weights_stored"])
        got = hidden_states(model, os.path.join(out, "got.npy"))
        ref_values = hidden_states(ref, os.path.join(out, "want.npy"))
        self.assertEqual(got.shape, ref_values.shape)
        self.assertLessEqual(float(np.linalg.norm(got - ref_values) / np.linalg.norm(ref_values)), 1e-5)
        if arch == "t5":
            ids = [[json.loads(line)["ids"] for line in nt5("generate", m, *TEXTS, "--max-new-tokens", "12", "--json")
                    .stdout.splitlines()] for m in (model, ref)]
            self.assertEqual(len(ids[0]), 2)
            self.assertEqual(ids[0], ids[1])
        if qtype == "Q8_0":  # nt5 convert takes GGUF files too (and keeps the Q8_0 blocks)
            converted = os.path.join(out, "model.nt5")
            self.assertEqual(nt5("convert", model, "-o", converted).returncode, 0)
            self.assertEqual(nt5("encode", converted, TEXTS[0], "--json").stdout,
                             nt5("encode", model, TEXTS[0], "--json").stdout)
        shutil.rmtree(out)

    def test_every_type_of_the_fixture_weights(self):
        for qtype in ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"):
            with self.subTest(qtype=qtype):
                self.check_same(os.path.join(DATA, "t5-v1_1-tiny"), qtype)

    def test_k_quants_on_k_quant_shapes(self):
        for qtype in ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"):
            with self.subTest(qtype=qtype):
                self.check_same(os.path.join(DATA, "t5-v1_1-tiny"), qtype, shape="synthetic")

    def test_architectures_and_families(self):
        # v1.0 (ReLU, tied head), UMT5 (a bias table in every block), and encoder-only files
        for fixture, qtype, arch in (("t5-v1_0-tiny", "Q8_0", "t5"), ("umt5-tiny", "Q8_0", "t5"),
                                     ("umt5-tiny", "Q5_1", "t5encoder"), ("t5-v1_1-tiny", "F16", "t5encoder")):
            with self.subTest(fixture=fixture, arch=arch):
                self.check_same(os.path.join(DATA, fixture), qtype, arch)

    def test_blocks_kept_as_they_are(self):
        for qtype in ("Q8_0", "Q6_K", "Q5_K", "Q4_K"):
            with self.subTest(qtype=qtype):
                self.check_blocks_kept(qtype)

    def test_mixed_blocks_kept(self):
        """A _M mix as llama-quantize makes it (Q4_K; the attention's v, self and cross, and the
        FFN's output in Q6_K) keeps every matrix in its own blocks, also the fused q, k, v and
        cross k, v, held in parts: outputs as the f32 reference of the same values within 1e-5, at
        load and through an nt5 file (format 3), whose fused matrices hold the GGUF file's blocks
        byte for byte; greedy ids the same. A part's NaN block scale is refused."""
        out = os.path.join(self.tmp, "Q4_K_M")
        writer.write(os.path.join(DATA, "t5-v1_1-tiny"), out, "Q4_K", "t5", "synthetic",
                     overrides={"DenseReluDense.wo": "Q6_K", "Attention.v": "Q6_K"})
        model, ref = os.path.join(out, "model.gguf"), os.path.join(out, "reference")
        info = json.loads(nt5("info", model, "--json").stdout)
        self.assertEqual(info["weight_dtype"], "q4_k")
        converted = os.path.join(out, "mixed.nt5")
        r = nt5("convert", model, "-o", converted)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(nt5("info", converted, "--json").stdout)
        self.assertIn("Q6_K", info["weights_stored"])
        self.assertIn("Q4_K", info["weights_stored"])
        header, body = self.nt5_file(converted)
        meta = header["__metadata__"]
        self.assertEqual(meta["nt5_format"], "3")
        blocks = json.loads(meta["blocks"])
        self.assertEqual((blocks["enc.0.qkv"], blocks["dec.0.cross_kv"], blocks["enc.0.wo"]),
                         ("Q4_K+Q4_K+Q6_K", "Q4_K+Q6_K", "Q6_K"))
        stored = {t.name: bytes(t.data.tobytes()) for t in gguf.GGUFReader(model).tensors}
        for nt5_name, parts in (("enc.0.qkv", ("enc.blk.0.attn_q", "enc.blk.0.attn_k", "enc.blk.0.attn_v")),
                                ("dec.0.cross_kv", ("dec.blk.0.cross_attn_k", "dec.blk.0.cross_attn_v"))):
            begin, end = header[nt5_name]["data_offsets"]
            self.assertEqual(body[begin:end], b"".join(stored[p + ".weight"] for p in parts), nt5_name)
        for m, dtype, name in ((model, "auto", "kept"), (model, "q4_k", "asked"), (converted, "auto", "nt5"),
                               (converted, "f32", "nt5-f32"), (ref, "f32", "f32")):
            r = nt5("encode", m, *TEXTS, "-o", os.path.join(out, name + ".npy"), "--weight-dtype", dtype)
            self.assertEqual(r.returncode, 0, r.stderr)
        f32 = np.load(os.path.join(out, "f32.npy"))
        for name in ("kept", "asked", "nt5", "nt5-f32"):
            got = np.load(os.path.join(out, name + ".npy"))
            self.assertLessEqual(float(np.linalg.norm(got - f32) / np.linalg.norm(f32)), 1e-5, name)
        ids = [[json.loads(line)["ids"] for line in nt5("generate", m, *TEXTS, "--max-new-tokens", "12", "--json",
                                                         "--weight-dtype", dtype).stdout.splitlines()]
               for m, dtype in ((model, "auto"), (converted, "auto"), (ref, "f32"))]
        self.assertEqual(len(ids[0]), 2)
        self.assertEqual(ids[0], ids[2])
        self.assertEqual(ids[1], ids[2])
        # parts metadata that names an unknown type, or parts that do not make the stored bytes
        for parts, message in (('"Q4_K+Q9_X"', 'gives tensor "enc.0.qkv" no block type nt5 knows'),
                               ('"Q4_K+Q6_K"', 'tensor "enc.0.qkv" in 2 parts of blocks is U8'),
                               ('"Q4_K++Q6_K"', 'gives tensor "enc.0.qkv" no block type nt5 knows')):
            self.write_with_blocks(converted, os.path.join(out, "bad.nt5"), parts)
            r = nt5("info", os.path.join(out, "bad.nt5"))
            self.assertEqual(r.returncode, 1)
            self.assertIn(message, r.stderr)
        # a NaN scale in the v part of the first fused q, k, v (Q6_K: d is a block's last 2 bytes)
        t = next(t for t in gguf.GGUFReader(model).tensors if t.name == "enc.blk.0.attn_v.weight")
        with open(model, "rb") as f:
            data = bytearray(f.read())
        data[t.data_offset + 208:t.data_offset + 210] = b"\x00\x7e"
        bad = os.path.join(out, "nan-scale.gguf")
        with open(bad, "wb") as f:
            f.write(data)
        r = nt5("info", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tensor enc.0.qkv has 1 Q6_K blocks whose scales are NaN or infinite", r.stderr)

    @staticmethod
    def nt5_file(path):
        """An nt5 file's safetensors header (parsed) and the bytes after it."""
        with open(path, "rb") as f:
            data = f.read()
        n = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + n]), data[8 + n:]

    @staticmethod
    def write_with_blocks(src, dst, qkv_type):
        """src, an nt5 file, as dst with the block type of enc.0.qkv in its metadata replaced."""
        with open(src, "rb") as f:
            data = f.read()
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + n])
        blocks = json.loads(header["__metadata__"]["blocks"])
        compact = {"separators": (",", ":")}
        blocks["enc.0.qkv"] = json.loads(qkv_type)
        header["__metadata__"]["blocks"] = json.dumps(blocks, **compact)
        text = json.dumps(header, **compact).encode()
        text += b" " * (n - len(text))
        assert len(text) == n, "the header grew"
        with open(dst, "wb") as f:
            f.write(data[:8] + text + data[8 + n:])

    def check_blocks_kept(self, qtype):
        """A file of a block type nt5 holds keeps its matrices in it (auto): outputs as the f32
        reference of the same (dequantized) values within 1e-5, greedy and beam ids the same. For
        Q8_0, quantizing that reference at load gives the file's blocks again, so the same outputs
        bit for bit (a k-quant's search for scales need not find the same blocks twice). A NaN
        block scale is refused."""
        out = os.path.join(self.tmp, qtype + "-kept")
        writer.write(os.path.join(DATA, "t5-v1_1-tiny"), out, qtype, "t5", "synthetic")
        model, ref = os.path.join(out, "model.gguf"), os.path.join(out, "reference")
        info = json.loads(nt5("info", model, "--json").stdout)
        self.assertEqual(info["weight_dtype"], qtype.lower())
        runs = ((model, "auto", "kept"), (ref, "f32", "f32"), (ref, qtype.lower(), "requantized"))
        for m, dtype, name in runs:
            r = nt5("encode", m, *TEXTS, "-o", os.path.join(out, name + ".npy"), "--weight-dtype", dtype)
            self.assertEqual(r.returncode, 0, r.stderr)
        kept, f32, requantized = (np.load(os.path.join(out, n + ".npy")) for n in ("kept", "f32", "requantized"))
        self.assertLessEqual(float(np.linalg.norm(kept - f32) / np.linalg.norm(f32)), 1e-5)
        if qtype == "Q8_0":
            self.assertTrue(np.array_equal(kept, requantized), "quantizing at load does not give the file's blocks")
        # nt5 files hold the blocks: the GGUF file's as they are, and those quantized by convert --dtype
        for src, dtype, name, want in ((model, "auto", "kept", kept), (ref, qtype.lower(), "requantized", requantized)):
            converted = os.path.join(out, name + ".nt5")
            r = nt5("convert", src, "-o", converted, "--dtype", dtype)
            self.assertEqual(r.returncode, 0, r.stderr)
            info = json.loads(nt5("info", converted, "--json").stdout)
            self.assertEqual(info["weight_dtype"], qtype.lower())
            self.assertIn(qtype, info["weights_stored"])
            r = nt5("encode", converted, *TEXTS, "-o", os.path.join(out, name + "-nt5.npy"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(np.array_equal(np.load(os.path.join(out, name + "-nt5.npy")), want), name)
        # blocks metadata that names an unknown type, or the wrong one for a tensor's shape
        for blocks, message in (('"Q9_X"', 'gives tensor "enc.0.qkv" no block type nt5 knows'),
                                ('"Q8_0"' if qtype != "Q8_0" else '"Q4_K"', 'tensor "enc.0.qkv" of')):
            bad = os.path.join(out, "bad.nt5")
            self.write_with_blocks(os.path.join(out, "kept.nt5"), bad, blocks)
            r = nt5("info", bad)
            self.assertEqual(r.returncode, 1)
            self.assertIn(message, r.stderr)
        r = nt5("convert", model, "-o", os.path.join(out, "hf"), "--to", "hf", "--dtype", qtype.lower())
        self.assertEqual(r.returncode, 1)
        self.assertIn("the HF layout holds no %s blocks" % qtype, r.stderr)
        ids = [[json.loads(line)["ids"] for line in nt5("generate", m, *TEXTS, "--max-new-tokens", "12", "--json",
                                                         "--weight-dtype", dtype).stdout.splitlines()]
               for m, dtype in ((model, "auto"), (ref, "f32"))]
        self.assertEqual(len(ids[0]), 2)
        self.assertEqual(ids[0], ids[1])
        beams = [nt5("generate", m, TEXTS[0], "--num-beams", "3", "--max-new-tokens", "8", "--json",
                     "--weight-dtype", dtype).stdout for m, dtype in ((model, "auto"), (ref, "f32"))]
        self.assertEqual([json.loads(b)["ids"] for b in beams][0], [json.loads(b)["ids"] for b in beams][1])
        # a block scale of NaN in the first query matrix: the fourth block's d
        size, d_at = {"Q8_0": (34, 0), "Q6_K": (210, 208), "Q5_K": (176, 0), "Q4_K": (144, 0)}[qtype]
        reader = gguf.GGUFReader(model)
        t = next(t for t in reader.tensors if t.name == "enc.blk.0.attn_q.weight")
        with open(model, "rb") as f:
            data = bytearray(f.read())
        at = t.data_offset + size * 3 + d_at
        data[at:at + 2] = b"\x00\x7e"
        bad = os.path.join(out, "nan-scale.gguf")
        with open(bad, "wb") as f:
            f.write(data)
        r = nt5("info", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("1 %s blocks whose scales are NaN or infinite" % qtype, r.stderr)
        shutil.rmtree(out)

    def test_tokenizer_from_metadata_tokenizes_as_spiece_model(self):
        with open(os.path.join(DATA, "tokenizer-t5", "reference.json")) as f:
            cases = json.load(f)["cases"]
        texts = [c["text"] for c in cases]
        genuine = os.path.join(SHARED, "t5-v1_1-realvocab", "spiece.model")
        fixtures = ["t5-v1_1-tiny", "umt5-tiny"]
        if os.path.exists(genuine):  # third-party: read from ../shared/fixtures, never copied
            real = os.path.join(self.tmp, "realvocab")
            shutil.copytree(os.path.join(DATA, "t5-v1_1-realvocab"), real)
            shutil.copy(genuine, real)
            fixtures.append(real)
        else:
            print("the genuine T5 spiece.model is not in %s: checking the tiny tokenizers only" % SHARED)
        for fixture in fixtures:
            source = os.path.join(DATA, fixture)
            out = os.path.join(self.tmp, os.path.basename(fixture) + "-tok")
            writer.write(source, out, "F16", "t5encoder")
            for text in texts:
                got, want = (nt5("tokenize", m, text, "--json") for m in (os.path.join(out, "model.gguf"), source))
                self.assertEqual(got.returncode, 0, got.stderr)
                self.assertEqual(json.loads(got.stdout), json.loads(want.stdout), (fixture, text))

    def test_bad_files_are_refused_by_name(self):
        out = os.path.join(self.tmp, "bad")
        writer.write(os.path.join(DATA, "t5-v1_1-tiny"), out, "F32", "t5encoder")
        with open(os.path.join(out, "model.gguf"), "rb") as f:
            good = f.read()
        arch_at = good.index(b"t5encoder")  # the value of general.architecture, written first
        # the first token that holds the word start, as the tokenizer's metadata lists it
        pieces = writer.spiece_fields(os.path.join(DATA, "t5-v1_1-tiny", "spiece.model"))[0]
        word = next(i for i, p in enumerate(pieces) if "\u2581" in p[0])
        word_at = good.index("\u2581".encode(), good.index(b"tokenizer.ggml.tokens"))
        cases = {
            # a tensor the model needs, renamed in place
            "not-t5": (good.replace(b"enc.blk.0.attn_q.weight", b"enc.blk.0.attn_x.weight"),
                       'tensor "enc.blk.0.attn_q.weight" (encoder.block.0.layer.0.SelfAttention.q.weight) is missing'),
            # an architecture nt5 does not run
            "other-arch": (good[:arch_at] + b"gpt2enc00" + good[arch_at + 9:], 'is "gpt2enc00", not t5 or t5encoder'),
            # a token with NUL bytes, which sentencepiece cannot hold (its trie builder threw on
            # one that began with them; fuzz_model_open found it, tests/fuzz/regressions)
            "nul-token": (good[:word_at] + b"\0\0\0" + good[word_at + 3:], "token %d holds a NUL byte" % word),
        }
        for name, (data, message) in cases.items():
            with self.subTest(case=name):
                path = os.path.join(self.tmp, name + ".gguf")
                with open(path, "wb") as f:
                    f.write(data)
                r = nt5("info", path)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(message, r.stderr)
                self.assertIn("NT5_ERR_", r.stderr)
        # a tokenizer with one score fewer than tokens
        keep = gguf.GGUFWriter.add_token_scores
        gguf.GGUFWriter.add_token_scores = lambda w, scores: keep(w, scores[:-1])
        try:
            writer.write(os.path.join(DATA, "t5-v1_1-tiny"), os.path.join(self.tmp, "scores"), "F32", "t5encoder")
        finally:
            gguf.GGUFWriter.add_token_scores = keep
        r = nt5("info", os.path.join(self.tmp, "scores", "model.gguf"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("the tokenizer has 1024 tokens but 1023 scores and 1024 token types", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
