#!/usr/bin/env python3
"""Single checkpoint files as image pipelines keep them (ComfyUI / Forge:
fp16, fp8 e4m3fn plain and scaled, e5m2, all-in-one under a prefix, the
tokenizer inside), written by single_file_writer.py from the fixtures: nt5
opens each without config.json and gives the hidden states and greedy ids
of its reference, a Hugging Face directory holding exactly the values the
file stands for (nt5 on such a directory is held to Hugging Face's numbers
by the parity tests). Damaged files are refused with a message naming what
is wrong. usage: test_single_file.py NT5_BINARY DATA_DIR"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from single_file_writer import floats, write  # noqa: E402
from torch_writer import read_safetensors  # noqa: E402

NT5, DATA = sys.argv[1], sys.argv[2]
TEXTS = ["Hello world!", "The house is wonderful <extra_id_3>."]
READABLE = ("fp16", "fp8", "e5m2", "scaled", "prefixed", "spiece")
# the config keys nt5 infers from the tensors (model_type: mt5 computes as t5)
SHAPE_KEYS = ("d_model", "d_kv", "d_ff", "num_heads", "num_layers", "num_decoder_layers", "vocab_size",
              "relative_attention_num_buckets", "relative_attention_max_distance", "is_gated_act",
              "tie_word_embeddings", "has_decoder", "activation")


def nt5(*args):
    r = subprocess.run([NT5, *args], capture_output=True, text=True, timeout=300)
    return r


def hidden_states(model, out, *extra):
    r = nt5("encode", model, *TEXTS, "-o", out, "--weight-dtype", "f32", *extra)
    assert r.returncode == 0, r.stderr
    dtype, shape, raw = read_safetensors(out)["hidden_states"]
    return shape, floats(dtype, raw)


def relative_error(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / sum(y * y for y in b))


class SingleFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nt5-single-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def written(self, fixture, kind):
        out = os.path.join(self.tmp, fixture)
        if not os.path.exists(os.path.join(out, kind + ".safetensors")):
            write(os.path.join(DATA, fixture), out, kind)
        return os.path.join(out, kind + ".safetensors"), os.path.join(out, kind + "-reference")

    def test_every_kind_reads_as_its_reference(self):
        # v1.1 (gated, untied, decoder), v1.0 (ReLU, tied head), UMT5 (a bias table in every block)
        for fixture in ("t5-v1_1-tiny", "t5-v1_0-tiny", "umt5-tiny"):
            tokenizer = os.path.join(DATA, fixture)
            for kind in READABLE:
                with self.subTest(fixture=fixture, kind=kind):
                    path, ref = self.written(fixture, kind)
                    extra = [] if kind == "spiece" else ["--tokenizer", tokenizer]
                    info = json.loads(nt5("info", path, "--json", *extra).stdout)
                    want = json.loads(nt5("info", ref, "--json").stdout)
                    self.assertEqual({k: info[k] for k in SHAPE_KEYS}, {k: want[k] for k in SHAPE_KEYS})
                    self.assertEqual(info["tokenizer_size"], want["tokenizer_size"])
                    self.assertTrue(info["format"].startswith("single safetensors file"), info["format"])
                    if kind == "prefixed":
                        self.assertIn('under "text_encoders.t5xxl.transformer."', info["format"])
                    self.assertEqual(info["tokenizer_source"],
                                     "its spiece_model tensor" if kind == "spiece" else tokenizer)
                    self.assertIn({"fp16": "F16", "prefixed": "F16", "spiece": "F16", "fp8": "F8_E4M3",
                                   "scaled": "F8_E4M3", "e5m2": "F8_E5M2"}[kind], info["weights_stored"])
                    shape, got = hidden_states(path, os.path.join(self.tmp, "got.safetensors"), *extra)
                    ref_shape, ref_values = hidden_states(ref, os.path.join(self.tmp, "want.safetensors"))
                    self.assertEqual(shape, ref_shape)
                    self.assertLessEqual(relative_error(got, ref_values), 1e-5)
                    args = ["--max-new-tokens", "12", "--json"]
                    got_ids = [json.loads(line)["ids"] for line in nt5("generate", path, *TEXTS, *args, *extra)
                               .stdout.splitlines()]
                    want_ids = [json.loads(line)["ids"] for line in nt5("generate", ref, *TEXTS, *args)
                                .stdout.splitlines()]
                    self.assertEqual(got_ids, want_ids)
                    self.assertEqual(len(got_ids), 2)

    def test_embedded_tokenizer_tokenizes_as_its_spiece_model(self):
        for fixture in ("t5-v1_1-tiny", "umt5-tiny"):
            path, _ = self.written(fixture, "spiece")
            for text in TEXTS + ["  spaces\tand\nnewlines ", "Ünïcödé 東京 Москва", "<extra_id_99></s><pad>"]:
                got = nt5("tokenize", path, text, "--json")
                want = nt5("tokenize", os.path.join(DATA, fixture), text, "--json")
                self.assertEqual(got.returncode, 0, got.stderr)
                self.assertEqual(json.loads(got.stdout), json.loads(want.stdout), (fixture, text))

    def test_tokenizer_option_takes_a_directory_or_a_spiece_model(self):
        path, _ = self.written("t5-v1_1-tiny", "fp16")
        fixture = os.path.join(DATA, "t5-v1_1-tiny")
        by_dir = nt5("tokenize", path, TEXTS[1], "--json", "--tokenizer", fixture)
        by_file = nt5("tokenize", path, TEXTS[1], "--json", "--tokenizer", os.path.join(fixture, "spiece.model"))
        want = nt5("tokenize", fixture, TEXTS[1], "--json")
        self.assertEqual(json.loads(by_dir.stdout), json.loads(want.stdout))
        self.assertEqual(json.loads(by_file.stdout), json.loads(want.stdout))
        none = nt5("encode", path, "Hello")
        self.assertEqual(none.returncode, 1)
        self.assertIn("--tokenizer", none.stderr)
        missing = nt5("info", path, "--tokenizer", os.path.join(self.tmp, "nothing-here"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn("cannot open tokenizer", missing.stderr)

    def test_config_option_overrides_what_is_inferred(self):
        path, _ = self.written("t5-v1_1-tiny", "fp16")
        config = os.path.join(self.tmp, "override.json")
        with open(config, "w") as f:
            json.dump({"relative_attention_max_distance": 64, "layer_norm_epsilon": 1e-5}, f)
        info = json.loads(nt5("info", path, "--json", "--config", config).stdout)
        self.assertEqual(info["relative_attention_max_distance"], 64)
        self.assertEqual(json.loads(nt5("info", path, "--json").stdout)["relative_attention_max_distance"], 128)
        r = nt5("info", path, "--config", os.path.join(self.tmp, "missing.json"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.json", r.stderr)

    def test_convert_takes_a_single_file(self):
        # to an nt5 file and to a Hugging Face directory: each encodes as the single file did
        path, _ = self.written("t5-v1_1-tiny", "scaled")
        tokenizer = os.path.join(DATA, "t5-v1_1-tiny")
        want = nt5("encode", path, TEXTS[0], "--json", "--tokenizer", tokenizer).stdout
        for out, extra in (("scaled.nt5", []), ("scaled-hf", ["--to", "hf"])):
            target = os.path.join(self.tmp, out)
            r = nt5("convert", path, "-o", target, "--tokenizer", tokenizer, *extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(nt5("encode", target, TEXTS[0], "--json").stdout, want, out)

    def test_damaged_files_are_refused_by_name(self):
        cases = {
            "missing-scale": 'scaled fp8 (it has a scaled_fp8 tensor) but "',
            "fp8-nan": "holds the float8_e4m3fn NaN encoding 0x7f at element 0",
            "not-t5": "the tensor encoder.block.0.layer.0.SelfAttention.q.weight that tells the model's shape is missing",
            "no-t5": "is not a T5 checkpoint: no tensor is named encoder.final_layer_norm.weight",
        }
        for kind, message in cases.items():
            with self.subTest(kind=kind):
                path, _ = self.written("t5-v1_1-tiny", kind)
                r = nt5("info", path)
                self.assertEqual(r.returncode, 1)
                self.assertIn(message, r.stderr)
                self.assertIn("NT5_ERR_FORMAT", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
