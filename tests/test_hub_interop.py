#!/usr/bin/env python3
"""nt5 and the real Python client share one cache: huggingface_hub (pinned
0.36.2; the Python in NT5_HF_PYTHON, else this one) downloads from the mock
Hub and nt5 opens the result offline; nt5 downloads and huggingface_hub
resolves every file offline to the same paths; after nt5's downloads, an
encoder-only fetch and a conversion into the cache, huggingface_hub's
scan_cache_dir sees every repo and warns of nothing (nt5's own files are in
NT5_CACHE, beside the Hub cache). Skipped (77) when huggingface_hub is not
importable. usage: test_hub_interop.py NT5 DATA_DIR"""
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_hub  # noqa: E402  (the mock Hub and the nt5 runner; reads NT5 and DATA from argv)

HFPY = os.environ.get("NT5_HF_PYTHON", sys.executable)
TINY = test_hub.TINY
FILES = ["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"]


def hf(code, cache, endpoint, offline=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HUB_CACHE=cache, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_PROGRESS_BARS="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HOME=test_hub.tool_env(cache)["HF_HOME"],
               XDG_CACHE_HOME=test_hub.tool_env(cache)["XDG_CACHE_HOME"])
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    r = subprocess.run([HFPY, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise AssertionError("huggingface_hub failed:\n" + r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


class Interop(unittest.TestCase):
    def setUp(self):
        self.cache = test_hub.make_cache(prefix="nt5-interop-")  # <tmp>/hub, NT5_CACHE <tmp>/nt5 (test_hub.run)
        self.hub = test_hub.MockHub()

    def tearDown(self):
        self.hub.stop()
        test_hub.remove_cache(self.cache)

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

    def test_scan_sees_nt5_downloads_and_warns_of_nothing(self):
        sharded = "nt5-test/t5-v1_1-tiny-sharded"
        out = {}
        for args in (["encode", TINY, "Hello world!", "--json"],  # encoder-only: an extract of nt5's own
                     ["convert", TINY, "--dtype", "bf16"],  # into nt5's cache, without -o
                     ["download", sharded]):
            r = test_hub.run(args, self.cache, self.hub.endpoint)
            self.assertEqual(r.returncode, 0, r.stderr)
            out[args[0]] = r.stdout.strip()
        converted = out["convert"]
        commit = hashlib.sha1(TINY.encode()).hexdigest()
        own = test_hub.repo_dir(test_hub.nt5_cache(self.cache))
        self.assertEqual(converted, os.path.join(own, commit, "converted", "bf16.nt5"))
        self.assertTrue(os.path.isfile(converted))
        self.assertTrue(os.path.isfile(os.path.join(own, commit, "encoder", "model.safetensors")))
        self.assertTrue(os.path.isfile(os.path.join(test_hub.nt5_cache(self.cache), "CACHEDIR.TAG")))
        self.assertEqual(sorted(os.listdir(self.cache)),
                         [".locks"] + sorted("models--" + r.replace("/", "--") for r in (TINY, sharded)))
        scan = hf("import json, huggingface_hub as h; s = h.scan_cache_dir(%r); print(json.dumps("
                  "{'warnings': [str(w) for w in s.warnings], 'repos': sorted([r.repo_id, r.size_on_disk, "
                  "sorted(f.file_name for v in r.revisions for f in v.files)] for r in s.repos)}))" % self.cache,
                  self.cache, "http://127.0.0.1:9", offline=True)
        self.assertEqual(scan["warnings"], [])
        self.assertEqual([r[0] for r in scan["repos"]], sorted([TINY, sharded]))
        tiny = dict((r[0], r) for r in scan["repos"])[TINY]
        self.assertEqual(tiny[2], FILES, "the full fetch of the conversion, no extract")
        self.assertGreater(tiny[1], os.path.getsize(os.path.join(test_hub.DATA, "t5-v1_1-tiny", "model.safetensors")))
        # what huggingface_hub deletes, nt5 no longer finds; nt5's own files stay in NT5_CACHE
        hf("import json, huggingface_hub as h; s = h.scan_cache_dir(%r); "
           "s.delete_revisions(*[v.commit_hash for r in s.repos for v in r.revisions]).execute(); print('null')"
           % self.cache, self.cache, "http://127.0.0.1:9", offline=True)
        self.assertEqual(os.listdir(self.cache), [".locks"])
        self.assertTrue(os.path.isfile(converted))


if __name__ == "__main__":
    probe = subprocess.run([HFPY, "-c", "import huggingface_hub"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: huggingface_hub is not importable by %s (set NT5_HF_PYTHON)" % HFPY)
        sys.exit(77)
    unittest.main(argv=sys.argv[:1], verbosity=2)
