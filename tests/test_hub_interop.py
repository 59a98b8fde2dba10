#!/usr/bin/env python3
"""nt5 and the real Python client share one cache: huggingface_hub (pinned
0.36.2; the Python in NT5_HF_PYTHON, else this one) downloads from the mock
Hub and nt5 opens the result offline; nt5 downloads and huggingface_hub
resolves every file offline to the same paths. Skipped (77) when
huggingface_hub is not importable. usage: test_hub_interop.py NT5 DATA_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_hub  # noqa: E402  (the mock Hub and the nt5 runner; reads NT5 and DATA from argv)

HFPY = os.environ.get("NT5_HF_PYTHON", sys.executable)
TINY = test_hub.TINY
FILES = ["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"]


def hf(code, cache, endpoint, offline=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HUB_CACHE=cache, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_PROGRESS_BARS="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HOME=os.path.join(cache, "home"))
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    r = subprocess.run([HFPY, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise AssertionError("huggingface_hub failed:\n" + r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


class Interop(unittest.TestCase):
    def setUp(self):
        self.cache = tempfile.mkdtemp(prefix="nt5-interop-")
        self.hub = test_hub.MockHub()

    def tearDown(self):
        self.hub.stop()
        shutil.rmtree(self.cache, ignore_errors=True)

    def test_python_downloads_nt5_opens_offline(self):
        paths = hf("import json, huggingface_hub as h; print(json.dumps([h.hf_hub_download(%r, f) for f in %r]))"
                   % (TINY, FILES), self.cache, self.hub.endpoint)
        self.assertEqual(len(paths), 4)
        r = test_hub.run(["generate", TINY, "Hello world!", "--max-new-tokens", "20", "--json"], self.cache,
                         HF_HUB_OFFLINE="1")
        local = test_hub.run(["generate", os.path.join(test_hub.DATA, "t5-v1_1-tiny"), "Hello world!",
                              "--max-new-tokens", "20", "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)

    def test_nt5_downloads_python_resolves_offline(self):
        r = test_hub.run(["download", TINY], self.cache, self.hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        snapshot = r.stdout.strip()
        self.hub.stop()
        got = hf("import json, huggingface_hub as h; print(json.dumps([[h.hf_hub_download(%r, f, local_files_only=True)"
                 " for f in %r], h.snapshot_download(%r, local_files_only=True)]))" % (TINY, FILES, TINY),
                 self.cache, "http://127.0.0.1:9", offline=True)
        files, snap = got
        self.assertEqual(os.path.realpath(snap), os.path.realpath(snapshot))
        for f, path in zip(FILES, files):
            self.assertEqual(os.path.realpath(path), os.path.realpath(os.path.join(snapshot, f)), f)
            with open(path, "rb") as a, open(os.path.join(test_hub.DATA, "t5-v1_1-tiny", f), "rb") as b:
                self.assertEqual(a.read(), b.read(), f)


if __name__ == "__main__":
    probe = subprocess.run([HFPY, "-c", "import huggingface_hub"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: huggingface_hub is not importable by %s (set NT5_HF_PYTHON)" % HFPY)
        sys.exit(77)
    unittest.main(argv=sys.argv[:1], verbosity=2)
