#!/usr/bin/env python3
"""PyTorch .bin checkpoints: the fixtures' pytorch_model.bin (torch.save zip
format) gives bit-identical outputs to their safetensors, also after nt5
convert; hostile or broken pickles and archives are refused with a clear
error and nothing is executed. Uses only the Python standard library.
usage: test_torch_bin.py NT5_BINARY DATA_DIR"""
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_writer  # noqa: E402

NT5, DATA = sys.argv[1], sys.argv[2]
SIDE_FILES = ["config.json", "spiece.model", "tokenizer_config.json"]


def nt5(*args):
    return subprocess.run([NT5, *args], capture_output=True, text=True, timeout=120)


class Exploit:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


class Evaluate:
    def __reduce__(self):
        return (eval, ("1 + 1",))


class TorchBin(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nt5-bin-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def model_dir(self, name, weights_from=None, weights=None):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        for f in SIDE_FILES:
            shutil.copy(os.path.join(DATA, "t5-v1_0-tiny", f), d)
        if weights_from:
            shutil.copy(weights_from, os.path.join(d, "pytorch_model.bin"))
        if weights is not None:
            with open(os.path.join(d, "pytorch_model.bin"), "wb") as f:
                f.write(weights)
        return d

    def same_outputs(self, a, b):
        for args in (["encode", "{}", "Hello world!", "-o", "{}.npy", "--quiet"],
                     ["generate", "{}", "Hello world!", "--max-new-tokens", "12", "--json"]):
            outs = []
            for i, model in enumerate((a, b)):
                path = os.path.join(self.tmp, "out%d" % i)
                r = nt5(*[x.format(model if x == "{}" else path) if "{}" in x else x for x in args])
                self.assertEqual(r.returncode, 0, r.stderr)
                if args[0] == "encode":
                    with open(path + ".npy", "rb") as f:
                        r.stdout += f.read().hex()
                outs.append(r.stdout)
            self.assertEqual(outs[0], outs[1], args[0])

    def test_sharded_bin_matches_safetensors(self):
        """Sharded .bin checkpoints (encoder and embedding in shard 1, decoder
        and lm_head in shard 2) convert to the same bytes as the safetensors
        original; an encoder-only open needs shard 1 only."""
        for model in ("t5-v1_0-tiny", "t5-v1_1-tiny"):
            d = os.path.join(self.tmp, model + "-sharded-bin")
            os.makedirs(d)
            for f in SIDE_FILES:
                shutil.copy(os.path.join(DATA, model, f), d)
            tensors = torch_writer.read_safetensors(os.path.join(DATA, model, "model.safetensors"))
            torch_writer.write_sharded(d, tensors, lambda n: 2 if n.startswith(("decoder.", "lm_head.")) else 1)
            self.assertEqual(sorted(f for f in os.listdir(d) if ".bin" in f),
                             ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
                              "pytorch_model.bin.index.json"])
            from_bin, from_st = (os.path.join(self.tmp, model + x) for x in ("-bin.nt5", "-st.nt5"))
            for src, out in ((d, from_bin), (os.path.join(DATA, model), from_st)):
                r = nt5("convert", src, "-o", out, "--dtype", "f32")
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(from_bin, "rb") as a, open(from_st, "rb") as b:
                self.assertTrue(a.read() == b.read(), model + ": the sharded .bin converts to the same file")
            self.same_outputs(d, os.path.join(DATA, model))
            os.remove(os.path.join(d, "pytorch_model-00002-of-00002.bin"))
            r = nt5("encode", d, "Hello world!", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = nt5("generate", d, "Hello world!")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("pytorch_model-00002-of-00002.bin", r.stderr)

    def test_sharded_safetensors_convert_to_the_same_file(self):
        files = []
        for model in ("t5-v1_1-tiny-sharded", "t5-v1_1-tiny"):
            out = os.path.join(self.tmp, model + ".nt5")
            r = nt5("convert", os.path.join(DATA, model), "-o", out, "--dtype", "f32")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                files.append(f.read())
        self.assertTrue(files[0] == files[1], "sharded and single-file safetensors convert to the same bytes")

    def test_fixtures_match_safetensors_bit_for_bit(self):
        for model in ("t5-v1_0-tiny", "umt5-tiny"):
            d = os.path.join(self.tmp, model)
            os.makedirs(d)
            for f in SIDE_FILES + ["pytorch_model.bin"]:
                shutil.copy(os.path.join(DATA, model, f), d)
            shutil.copy(os.path.join(DATA, model, "config.json"), d)
            self.same_outputs(d, os.path.join(DATA, model))
            converted = os.path.join(self.tmp, model + ".nt5")
            r = nt5("convert", d, "-o", converted, "--dtype", "f32")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.same_outputs(converted, os.path.join(DATA, model))
            # the same nt5 file, byte for byte, as from the safetensors: every tensor bit-identical
            from_st = os.path.join(self.tmp, model + "-st.nt5")
            self.assertEqual(nt5("convert", os.path.join(DATA, model), "-o", from_st, "--dtype", "f32").returncode, 0)
            with open(converted, "rb") as a, open(from_st, "rb") as b:
                self.assertEqual(a.read(), b.read(), model)
            # .bin -> Hugging Face safetensors directory -> the same model again
            hf_dir = os.path.join(self.tmp, model + "-hf")
            r = nt5("convert", d, "-o", hf_dir, "--to", "hf", "--dtype", "f32")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(hf_dir, "model.safetensors")))
            again = os.path.join(self.tmp, model + "-hf.nt5")
            self.assertEqual(nt5("convert", hf_dir, "-o", again, "--dtype", "f32").returncode, 0)
            with open(again, "rb") as a, open(from_st, "rb") as b:
                self.assertEqual(a.read(), b.read(), model + " through the hf layout")
            self.assertEqual(nt5("convert", d, "-o", hf_dir, "--to", "hf").returncode, 2, "an existing directory (a usage error)")

    def archive(self, payload, prefix="pytorch_model", extra=(), compress=zipfile.ZIP_STORED):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compress) as z:
            z.writestr(prefix + "/data.pkl", payload)
            z.writestr(prefix + "/version", "3\n")
            for name, data in extra:
                z.writestr(name, data)
        return buf.getvalue()

    def refused(self, weights, *phrases):
        d = self.model_dir("m%d" % len(os.listdir(self.tmp)), weights=weights)
        r = nt5("info", d)
        self.assertEqual(r.returncode, 1, r.stdout)
        for p in phrases:
            self.assertIn(p, r.stderr)
        return r

    def test_os_system_is_refused_and_not_run(self):
        marker = os.path.join(self.tmp, "pwned")
        self.refused(self.archive(pickle.dumps({"x": Exploit(marker)}, protocol=2)), "system", "refusing")
        self.assertFalse(os.path.exists(marker), "the pickle's command ran")

    def test_unlisted_global_is_refused(self):
        # protocol 2 writes builtins as __builtin__
        self.refused(self.archive(pickle.dumps(Evaluate(), protocol=2)), "__builtin__.eval", "refusing")

    def test_protocol_4_opcodes_are_refused(self):
        self.refused(self.archive(pickle.dumps({"a": 1}, protocol=4)), "not allowed")

    def test_truncated_pickle(self):
        self.refused(self.archive(pickle.dumps({"a": (1, 2)}, protocol=2)[:-3]), "pickle")

    def test_not_a_state_dict(self):
        self.refused(self.archive(pickle.dumps([1, 2, 3], protocol=2)), "not a state dict")

    def test_entries_outside_the_folder(self):
        self.refused(self.archive(pickle.dumps({}, protocol=2), extra=[("../evil", b"x")]), "outside")

    def test_compressed_entries(self):
        self.refused(self.archive(pickle.dumps({}, protocol=2), compress=zipfile.ZIP_DEFLATED), "compressed")

    def test_fuzz_regressions(self):
        # inputs the fuzzers found crashes with, fixed since: each must be refused cleanly
        regressions = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "regressions")
        for name in sorted(os.listdir(regressions)):
            if name.startswith("torch_zip-"):
                with open(os.path.join(regressions, name), "rb") as f:
                    self.refused(f.read(), "nt5:")

    def test_storage_claims_past_the_file(self):
        # a storage of 2^62 f32 elements is 2^64 bytes, 0 in 64 bits: refused, not read out of bounds
        tensors = torch_writer.read_safetensors(os.path.join(DATA, "t5-v1_0-tiny", "model.safetensors"))
        name = next(iter(tensors))
        numel = len(tensors[name][2]) // 4
        for claim in ({"numel": 2 ** 62}, {"numel": 2 ** 62 + numel}, {"offset": 2 ** 40},
                      {"offset": 2 ** 61, "numel": 2 ** 62}, {"offset": 1}, {"numel": 2 ** 63 - 1}):
            path = os.path.join(self.tmp, "claims.bin")
            torch_writer.write_torch_bin(path, tensors, claims={name: claim})
            with open(path, "rb") as f:
                self.refused(f.read(), "runs past its storage")

    def test_negative_dimension(self):
        tensors = torch_writer.read_safetensors(os.path.join(DATA, "t5-v1_0-tiny", "model.safetensors"))
        name = next(iter(tensors))
        dtype, shape, raw = tensors[name]
        tensors[name] = (dtype, [-shape[0]] + list(shape[1:]), raw)
        path = os.path.join(self.tmp, "negative.bin")
        torch_writer.write_torch_bin(path, tensors)
        with open(path, "rb") as f:
            self.refused(f.read(), "negative dimension")

    def test_legacy_and_garbage(self):
        self.refused(b"\x80\x02\x8a\x0a" + bytes(20), "legacy")
        self.refused(b"PK\x03\x04" + b"\0" * 40, "zip")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
