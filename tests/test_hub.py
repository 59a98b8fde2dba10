#!/usr/bin/env python3
"""nt5 against the mock Hub (tests/mock_hub.py on 127.0.0.1): opening by id
gives what opening the files locally gives, the cache is laid out as
huggingface_hub lays it out, it is used again without the server and with
HF_HUB_OFFLINE, and failures (401/403/404, dropped connections, corrupted
bytes, wrong ETags, hostile listings) give clear errors and leave no broken
file behind. usage: test_hub.py NT5_BINARY DATA_DIR"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

NT5, DATA = (sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else ("nt5", "tests/data")
MOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mock_hub.py")
TINY = "nt5-test/t5-v1_1-tiny"


class MockHub:
    def __init__(self, *options, data=DATA):
        self.dir = tempfile.mkdtemp(prefix="nt5-hub-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, MOCK, data, "--port-file", port_file, "--lifetime", "300",
                                      *options])
        for _ in range(200):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        with open(port_file) as f:
            self.endpoint = "http://127.0.0.1:%s" % f.read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def make_cache(prefix="nt5-cache-"):
    """A Hub cache, <root>/hub in a new temporary root that also holds what tool_env puts beside it."""
    cache = os.path.join(tempfile.mkdtemp(prefix=prefix), "hub")
    os.mkdir(cache)
    return cache


def remove_cache(cache):
    shutil.rmtree(os.path.dirname(cache), ignore_errors=True)


def nt5_cache(cache):
    """Where tool_env puts nt5's own cache (NT5_CACHE) for the Hub cache `cache`."""
    return os.path.join(os.path.dirname(cache), "nt5")


def tool_env(cache, endpoint=None, **env_extra):
    """nt5's environment with everything in the temporary root of `cache` (make_cache): the Hub cache,
    NT5_CACHE, HF_HOME and XDG_CACHE_HOME, so nothing touches the user's home; a None in env_extra unsets."""
    assert os.path.basename(cache) == "hub", "a cache from make_cache: " + cache
    root = os.path.dirname(cache)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGING")) and k not in ("NT5_CACHE", "XDG_CACHE_HOME")}
    env.update(HF_HUB_CACHE=cache, HF_HOME=os.path.join(root, "home"), NT5_CACHE=nt5_cache(cache),
               XDG_CACHE_HOME=os.path.join(root, "xdg"), NT5_HUB_RETRY_BASE_MS="10",
               HF_HUB_DISABLE_PROGRESS_BARS="1")
    env["HF_ENDPOINT"] = endpoint or "http://127.0.0.1:9"  # nothing listens on port 9
    env.update(env_extra)
    return {k: v for k, v in env.items() if v is not None}


def run(args, cache, endpoint=None, **env_extra):
    return subprocess.run([NT5, *args], capture_output=True, text=True, env=tool_env(cache, endpoint, **env_extra),
                          timeout=120)


def repo_dir(cache, repo=TINY):
    return os.path.join(cache, "models--" + repo.replace("/", "--"))


class Hub(unittest.TestCase):
    def setUp(self):
        self.cache = make_cache()
        self.hubs = []

    def tearDown(self):
        for h in self.hubs:
            h.stop()
        remove_cache(self.cache)

    def hub(self, *options, data=DATA):
        h = MockHub(*options, data=data)
        self.hubs.append(h)
        return h

    def assert_no_partial_files(self, repo=TINY):
        for root, _, files in os.walk(repo_dir(self.cache, repo)):
            for f in files:
                path = os.path.join(root, f)
                self.assertFalse(os.path.islink(path) and not os.path.exists(path), "dangling link " + path)

    def assert_only_huggingface_hub_files(self, cache=None):
        """The Hub cache holds repo folders and .locks, as huggingface_hub writes it, and nothing of nt5's."""
        cache = cache or self.cache
        for entry in os.listdir(cache):
            self.assertTrue(entry == ".locks" or entry.startswith("models--"), "nt5 left %s in the Hub cache" % entry)
        for repo in os.listdir(cache):
            if repo != ".locks":
                self.assertLessEqual(set(os.listdir(os.path.join(cache, repo))),
                                     {"blobs", "snapshots", "refs", ".no_exist"}, repo)

    def test_open_by_id_equals_local_and_cache_layout(self):
        hub = self.hub()
        for args in (["generate", "{m}", "Hello world!", "--max-new-tokens", "20", "--json"],
                     ["encode", "{m}", "Hello world!", "The house is wonderful.", "--json"]):
            by_id = run([a.format(m=TINY) for a in args], self.cache, hub.endpoint)
            local = run([a.format(m=os.path.join(DATA, "t5-v1_1-tiny")) for a in args], self.cache, hub.endpoint)
            self.assertEqual(by_id.returncode, 0, by_id.stderr)
            self.assertEqual(by_id.stdout, local.stdout)
        rd = repo_dir(self.cache)
        commit = hashlib.sha1(TINY.encode()).hexdigest()
        with open(os.path.join(rd, "refs", "main"), "rb") as f:
            self.assertEqual(f.read(), commit.encode(), "refs/main: the commit, no newline")
        snap = os.path.join(rd, "snapshots", commit)
        for name in ("config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"):
            link = os.readlink(os.path.join(snap, name))
            with open(os.path.join(DATA, "t5-v1_1-tiny", name), "rb") as f:
                data = f.read()
            etag = hashlib.sha256(data).hexdigest() if name.endswith((".safetensors", ".model")) else \
                hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            self.assertEqual(link, "../../blobs/" + etag, name)
        self.assert_only_huggingface_hub_files()
        self.assertFalse([f for f in os.listdir(os.path.join(rd, "blobs")) if f.endswith(".incomplete")])

    def test_second_open_without_server_and_offline(self):
        hub = self.hub()
        self.assertEqual(run(["download", TINY], self.cache, hub.endpoint).returncode, 0)
        hub.stop()
        self.hubs.remove(hub)
        r = run(["info", TINY, "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the Hub could not be reached", r.stderr, "the fallback to the cache is said")
        self.assertEqual(r.stderr.count("nt5: the Hub could not be reached"), 1)
        r = run(["info", TINY, "--json"], self.cache, HF_HUB_OFFLINE="1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["info", "nt5-test/mt5-tiny"], self.cache, HF_HUB_OFFLINE="1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HF_HUB_OFFLINE", r.stderr)

    def test_sharded_checkpoint(self):
        hub = self.hub()
        r = run(["generate", "nt5-test/t5-v1_1-tiny-sharded", "Hello world!", "--max-new-tokens", "20", "--json"],
                self.cache, hub.endpoint)
        local = run(["generate", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--max-new-tokens", "20",
                     "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)

    def test_encoder_only_fetches_under_60_percent(self):
        hub = self.hub()
        r = run(["encode", TINY, "Hello world!", "--json"], self.cache, hub.endpoint)  # encode opens encoder-only
        local = run(["encode", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)
        import json
        import urllib.request
        stats = json.loads(urllib.request.urlopen(hub.endpoint + "/_stats").read())
        path = os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors")
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        served, size = stats.get("/cdn/" + sha, 0), os.path.getsize(path)
        self.assertGreater(served, 0)
        self.assertLess(served, 0.6 * size, "encoder-only transferred %d of %d bytes" % (served, size))
        snaps = os.path.join(repo_dir(self.cache), "snapshots")
        self.assertNotIn("model.safetensors", os.listdir(os.path.join(snaps, os.listdir(snaps)[0])),
                         "a partial file must never stand in the HF cache as the whole")
        self.assertNotIn(sha, os.listdir(os.path.join(repo_dir(self.cache), "blobs")))
        commit = hashlib.sha1(TINY.encode()).hexdigest()
        part = os.path.join(repo_dir(nt5_cache(self.cache)), commit, "encoder")
        self.assertEqual(sorted(os.listdir(part)),
                         ["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"])
        self.assert_only_huggingface_hub_files()
        hub.stop()
        self.hubs.remove(hub)
        r = run(["encode", TINY, "Hello world!", "--json"], self.cache, HF_HUB_OFFLINE="1")
        self.assertEqual(r.stdout, local.stdout, r.stderr)
        # generating needs the whole model: the message says only the encoder was fetched, and how to get it
        r = run(["generate", TINY, "Hello world!"], self.cache, HF_HUB_OFFLINE="1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only the encoder of %s was fetched" % TINY, r.stderr)
        self.assertIn("nt5 download %s" % TINY, r.stderr)
        os.rename(part, part + ".away")  # the extract is what the offline open used
        r = run(["encode", TINY, "Hello world!", "--json"], self.cache, HF_HUB_OFFLINE="1")
        self.assertNotEqual(r.returncode, 0, "without the extract an offline encoder-only open has nothing")
        os.rename(part + ".away", part)
        hub = self.hub()
        r = run(["generate", TINY, "Hello world!", "--max-new-tokens", "5"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)  # a full open downloads the whole file

    def test_nt5_cache_beside_the_hub_cache(self):
        """nt5's own files (encoder-only extracts, converted files) go to $NT5_CACHE, else
        $XDG_CACHE_HOME/nt5, else ~/.cache/nt5, whatever HF_HUB_CACHE or --cache-dir say; CACHEDIR.TAG
        is nt5's own there; the Hub cache keeps only huggingface_hub's files; an nt5 cache inside the Hub
        cache is refused."""
        hub = self.hub()
        root, commit = os.path.dirname(self.cache), hashlib.sha1(TINY.encode()).hexdigest()

        def extract(own):
            return os.path.join(repo_dir(own), commit, "encoder", "model.safetensors")

        encode = ["encode", TINY, "Hello world!", "--json"]
        want = run(["encode", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--json"], self.cache).stdout
        for env, own in (({}, nt5_cache(self.cache)),
                         ({"NT5_CACHE": None}, os.path.join(root, "xdg", "nt5")),
                         ({"NT5_CACHE": "", "XDG_CACHE_HOME": ""}, os.path.join(root, "user", ".cache", "nt5"))):
            shutil.rmtree(repo_dir(self.cache), ignore_errors=True)
            r = run(encode, self.cache, hub.endpoint, HOME=os.path.join(root, "user"), **env)
            self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)
            self.assertTrue(os.path.isfile(extract(own)), (env, os.listdir(root)))
            with open(os.path.join(own, "CACHEDIR.TAG")) as f:
                tag = f.read()
            self.assertTrue(tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n"), tag)
            self.assertIn("created by nt5", tag)
            self.assert_only_huggingface_hub_files()
            r = run(encode, self.cache, HOME=os.path.join(root, "user"), HF_HUB_OFFLINE="1", **env)
            self.assertEqual((r.returncode, r.stdout), (0, want), r.stderr)  # found again offline
        # another Hub cache (--cache-dir, as nt5_model_options.cache_dir) moves the Hub's files, not nt5's
        other = os.path.join(root, "other-hub")
        r = run(["convert", TINY, "--cache-dir", other], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), os.path.join(repo_dir(nt5_cache(self.cache)), commit, "converted",
                                                         "auto.nt5"))
        self.assert_only_huggingface_hub_files(other)
        # an nt5 cache inside the Hub cache would show as a corrupted repo to huggingface_hub: refused
        shutil.rmtree(repo_dir(self.cache))
        for inside in (os.path.join(self.cache, "nt5"), self.cache):
            r = run(encode, self.cache, hub.endpoint, NT5_CACHE=inside)
            self.assertEqual(r.returncode, 1)
            self.assertIn("inside the Hub cache", r.stderr)
            self.assertIn("NT5_CACHE", r.stderr)
            self.assert_only_huggingface_hub_files()

    def test_encoder_only_skips_decoder_shards(self):
        hub = self.hub()
        repo = "nt5-test/t5-v1_1-tiny-sharded"
        r = run(["encode", repo, "Hello world!", "--json"], self.cache, hub.endpoint)  # encode opens encoder-only
        local = run(["encode", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)
        snaps = os.path.join(repo_dir(self.cache, repo), "snapshots")
        files = os.listdir(os.path.join(snaps, os.listdir(snaps)[0]))
        self.assertIn("model-00001-of-00002.safetensors", files)
        self.assertNotIn("model-00002-of-00002.safetensors", files, "the decoder-only shard was downloaded")
        # a full open later fetches the rest
        r = run(["generate", repo, "Hello world!", "--max-new-tokens", "5"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_converted_file_names_its_source(self):
        hub = self.hub()
        out = os.path.join(self.cache, "m.nt5")
        r = run(["convert", TINY, "-o", out], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            import json
            meta = json.loads(f.read(n))["__metadata__"]
        self.assertEqual(meta["source"], TINY + "@" + hashlib.sha1(TINY.encode()).hexdigest())

    def test_converted_files_are_cached_by_commit_dtype_and_options(self):
        hub = self.hub()
        commit = hashlib.sha1(TINY.encode()).hexdigest()
        where = os.path.join(repo_dir(nt5_cache(self.cache)), commit, "converted")
        paths = {}
        for args, name in ((["--dtype", "f16"], "f16-h8-cdefault.nt5"),
                           (["--dtype", "bf16", "--fold-norms"], "bf16-folded.nt5"),
                           (["--dtype", "f32", "--encoder-only"], "f32-encoder.nt5"),
                           ([], "auto.nt5")):
            r = run(["convert", TINY, *args], self.cache, hub.endpoint)
            self.assertEqual(r.returncode, 0, r.stderr)
            paths[name] = r.stdout.strip()
            self.assertEqual(paths[name], os.path.join(where, name))
        self.assertEqual(sorted(os.listdir(where)), sorted(paths), "one file per set of options, no temporary files")
        self.assertEqual(sorted(os.listdir(self.cache)), [".locks", "models--" + TINY.replace("/", "--")])
        # a custom prompt set is a different file, named by its hash
        prompts = os.path.join(self.cache, "prompts.txt")
        with open(prompts, "w") as f:
            f.write("Hello world!\n\ntranslate English to German: good morning\n")
        r = run(["convert", TINY, "--dtype", "f16", "--calibration", prompts, "--headroom", "2"], self.cache,
                hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(os.path.basename(r.stdout.strip()), r"^f16-h2-c[0-9a-f]{16}\.nt5$")
        # reused as it is, without the server
        f16 = paths["f16-h8-cdefault.nt5"]
        before = os.stat(f16)
        hub.stop()
        self.hubs.remove(hub)
        for env in ({}, {"HF_HUB_OFFLINE": "1"}):
            r = run(["convert", TINY, "--dtype", "f16"], self.cache, **env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), f16)
        after = os.stat(f16)
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns), "not rewritten")
        # the cached files open like the local model
        local = os.path.join(DATA, "t5-v1_1-tiny")
        args = ["generate", "{m}", "Hello world!", "--max-new-tokens", "12", "--json"]
        want = run([a.format(m=local) for a in args], self.cache).stdout
        got = run([a.format(m=paths["auto.nt5"]) for a in args], self.cache)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, want)
        r = run(["convert", TINY, "--to", "hf"], self.cache)
        self.assertIn(r.returncode, (1, 2))  # only an nt5 file goes into the cache without -o
        self.assertIn("cache", r.stderr)

    def test_sharded_bin_repo(self):
        """A repo with only sharded .bin weights (made here by torch_writer):
        opened by id like the local safetensors; encoder-only takes shard 1."""
        sys.path.insert(0, os.path.dirname(MOCK))
        import torch_writer
        root = os.path.join(self.cache, "repos")
        d = os.path.join(root, "sharded-bin")
        os.makedirs(d)
        for f in ("config.json", "spiece.model", "tokenizer_config.json"):
            shutil.copy(os.path.join(DATA, "t5-v1_1-tiny", f), d)
        tensors = torch_writer.read_safetensors(os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors"))
        torch_writer.write_sharded(d, tensors, lambda n: 2 if n.startswith(("decoder.", "lm_head.")) else 1)
        hub = self.hub(data=root)
        repo = "nt5-test/sharded-bin"
        snap = os.path.join(repo_dir(self.cache, repo), "snapshots", hashlib.sha1(repo.encode()).hexdigest())
        r = run(["encode", repo, "Hello world!", "--json"], self.cache, hub.endpoint)
        local = run(["encode", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)
        self.assertEqual(sorted(f for f in os.listdir(snap) if ".bin" in f),
                         ["pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"])
        args = ["generate", "{m}", "Hello world!", "--max-new-tokens", "12", "--json"]
        r = run([a.format(m=repo) for a in args], self.cache, hub.endpoint)
        local = run([a.format(m=os.path.join(DATA, "t5-v1_1-tiny")) for a in args], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)
        self.assertIn("pytorch_model-00002-of-00002.bin", os.listdir(snap))

    def test_f16_by_id_needs_a_gpu_before_converting(self):
        """weight_dtype f16 with a Hub id converts into the cache, but only on a GPU: without
        one the open fails first, having converted nothing (on a GPU machine: converts and runs)."""
        hub = self.hub()
        converted = repo_dir(nt5_cache(self.cache))
        probe = run(["info", os.path.join(DATA, "t5-v1_1-tiny"), "--json"], self.cache)
        if '"device": "cuda"' in probe.stdout:
            r = run(["info", TINY, "--weight-dtype", "f16", "--json"], self.cache, hub.endpoint)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('"weight_dtype": "f16"', r.stdout)
            return
        r = run(["info", TINY, "--weight-dtype", "f16"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("runs on a GPU", r.stderr)
        self.assertIn("NT5_ERR_UNSUPPORTED", r.stderr)
        r = run(["info", TINY, "--weight-dtype", "f16", "--device", "cuda"], self.cache, hub.endpoint)
        self.assertIn("NT5_ERR_NO_DEVICE", r.stderr)
        self.assertFalse(os.path.exists(converted), "nothing was converted")

    def run_on_terminal(self, args, endpoint, **env_extra):
        """stderr on a pseudo-terminal, as a person would see it."""
        import pty
        master, slave = pty.openpty()
        env = tool_env(self.cache, endpoint, **dict(dict(HF_HUB_DISABLE_PROGRESS_BARS=None, NT5_HUB_RETRY_BASE_MS=None),
                                                    **env_extra))
        p = subprocess.run([NT5, *args], stdout=subprocess.PIPE, stderr=slave, env=env, timeout=120)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        return p.returncode, out.decode(errors="replace")

    def test_progress_bars_on_a_terminal(self):
        hub = self.hub()
        rc, screen = self.run_on_terminal(["download", TINY], hub.endpoint)
        self.assertEqual(rc, 0, screen)
        self.assertRegex(screen, r"model\.safetensors: +100\.0% [0-9.]+/[0-9.]+ MB [0-9.]+ MB/s ETA 0s")
        rc, screen = self.run_on_terminal(["convert", TINY, "--dtype", "f16"], hub.endpoint)
        self.assertEqual(rc, 0, screen)
        self.assertIn("calibrating: 12/12 prompts", screen)
        self.assertRegex(screen, r"writing .*f16-h8-cdefault\.nt5: 100\.0% ")
        shutil.rmtree(repo_dir(self.cache))
        rc, screen = self.run_on_terminal(["download", TINY], hub.endpoint, HF_HUB_DISABLE_PROGRESS_BARS="1")
        self.assertEqual(rc, 0, screen)
        self.assertEqual(screen, "", "HF_HUB_DISABLE_PROGRESS_BARS silences the bar")

    def test_progress_bar_redraws_at_most_ten_times_a_second(self):
        # a 48 MB file arrives in thousands of chunks: the line is redrawn per tenth of a second, not per chunk
        root = tempfile.mkdtemp(prefix="nt5-repo-")
        self.addCleanup(shutil.rmtree, root, True)
        with open(os.path.join(root, "big.safetensors"), "wb") as f:
            f.write(os.urandom(48 << 20))
        hub = self.hub("--repo", "big=" + root)
        start = time.monotonic()
        rc, screen = self.run_on_terminal(["download", "nt5-test/big/big.safetensors"], hub.endpoint)
        elapsed = time.monotonic() - start
        self.assertEqual(rc, 0, screen)
        self.assertIn("100.0%", screen)
        self.assertLessEqual(screen.count("\r"), 10 * elapsed + 3, "%d redraws in %.2f s" % (screen.count("\r"), elapsed))

    def test_bin_only_repo(self):
        hub = self.hub()
        r = run(["generate", "nt5-test/bin-only", "Hello world!", "--max-new-tokens", "12", "--json"], self.cache,
                hub.endpoint)
        local = run(["generate", os.path.join(DATA, "t5-v1_0-tiny"), "Hello world!", "--max-new-tokens", "12",
                     "--json"], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)

    def test_not_found_and_bad_revision(self):
        hub = self.hub()
        r = run(["download", "nt5-test/no-such-model"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)
        self.assertIn("NT5_ERR_NOT_FOUND", r.stderr)
        r = run(["download", TINY, "--revision", "v9"], self.cache, hub.endpoint)
        self.assertIn("revision", r.stderr)

    def test_auth(self):
        hub = self.hub("--require-token", "secret")
        r = run(["download", TINY], self.cache, hub.endpoint)
        self.assertIn("HF_TOKEN", r.stderr)
        self.assertIn("NT5_ERR_AUTH", r.stderr)
        r = run(["download", TINY], self.cache, hub.endpoint, HF_TOKEN="wrong")
        self.assertIn("403", r.stderr)
        r = run(["download", TINY], self.cache, hub.endpoint, HF_TOKEN="hf_invalid")
        self.assertIn("the Hub refused the token", r.stderr)
        r = run(["download", TINY], self.cache, hub.endpoint, HF_TOKEN="secret")
        self.assertEqual(r.returncode, 0, r.stderr)
        home = tool_env(self.cache)["HF_HOME"]
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, "token"), "w") as f:
            f.write("secret\n")
        shutil.rmtree(repo_dir(self.cache))
        r = run(["download", TINY], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, "the token file: " + r.stderr)

    def test_dropped_connections_resume(self):
        # the CDN closes the connection after 100000 bytes, 5 times: each retry resumes with Range
        hub = self.hub("--drop-after", "100000", "--drop-count", "5")
        r = run(["download", TINY], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        snap = os.path.join(r.stdout.strip(), "model.safetensors")
        with open(snap, "rb") as f, open(os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors"), "rb") as g:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(g.read()).hexdigest())

    def test_dropped_at_20_random_points(self):
        size = os.path.getsize(os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors"))
        points = sorted(random.Random(2026).sample(range(1, size), 20))
        hub = self.hub("--drop-at", ",".join(map(str, points)))
        r = run(["download", TINY], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(r.stdout.strip(), "model.safetensors"), "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors"), "rb") as f:
            self.assertEqual(got, hashlib.sha256(f.read()).hexdigest())

    def test_stalled_transfer_is_retried(self):
        hub = self.hub("--stall", "4")
        r = run(["download", TINY], self.cache, hub.endpoint, NT5_HUB_STALL_SECONDS="1")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_stuck_trickling_and_overlong_downloads_end(self):
        # bounded by progress: 5 attempts in a row slower than NT5_HUB_MIN_RATE end the download
        limits = dict(NT5_HUB_STALL_SECONDS="1", NT5_HUB_MIN_RATE="4096", NT5_HUB_RETRY_BASE_MS="10")
        for fault in (["--stuck"], ["--trickle", "0.5"], ["--long-length"]):
            hub = self.hub(*fault)
            r = run(["download", TINY], self.cache, hub.endpoint, **limits)
            self.assertEqual(r.returncode, 1, fault)
            self.assertIn("stalled", r.stderr, fault)

    def test_download_that_receives_nothing_leaves_no_incomplete(self):
        # a CDN that closes before the body: the download fails, and no 0-byte .incomplete stays
        hub = self.hub("--empty")
        r = run(["download", TINY], self.cache, hub.endpoint, NT5_HUB_STALL_SECONDS="1", NT5_HUB_RETRY_BASE_MS="10")
        self.assertEqual(r.returncode, 1, r.stderr)
        blobs = os.path.join(repo_dir(self.cache), "blobs")
        self.assertTrue(os.path.isdir(blobs), "the download reached the blob stage")
        self.assertEqual([b for b in os.listdir(blobs) if b.endswith(".incomplete")], [])

    def served(self, hub):
        """Bytes the mock served, by repo path (LFS files by their CDN sha256)."""
        return json.loads(urllib.request.urlopen(hub.endpoint + "/_stats").read())

    def pipeline_repo(self):
        """A diffusers pipeline as Flux lays it out: model_index.json, the T5 in text_encoder_2/ (sharded),
        its tokenizer in tokenizer_2/, and beside them a CLIP text_encoder/ and a large transformer/."""
        root = tempfile.mkdtemp(prefix="nt5-repo-")
        self.addCleanup(shutil.rmtree, root, True)
        shutil.copytree(os.path.join(DATA, "t5-v1_1-tiny-sharded"), os.path.join(root, "text_encoder_2"),
                        ignore=shutil.ignore_patterns("spiece.model", "tokenizer_config.json", "special_tokens_map.json",
                                                      "added_tokens.json", "reference*"))
        os.makedirs(os.path.join(root, "tokenizer_2"))
        for f in ("spiece.model", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(DATA, "t5-v1_1-tiny", f), os.path.join(root, "tokenizer_2"))
        os.makedirs(os.path.join(root, "transformer"))
        with open(os.path.join(root, "transformer", "diffusion_pytorch_model.safetensors"), "wb") as f:
            f.write(os.urandom(1 << 21))
        os.makedirs(os.path.join(root, "text_encoder"))
        with open(os.path.join(root, "text_encoder", "config.json"), "w") as f:
            json.dump({"architectures": ["CLIPTextModel"]}, f)
        with open(os.path.join(root, "model_index.json"), "w") as f:
            json.dump({"_class_name": "FluxPipeline", "text_encoder_2": ["transformers", "T5EncoderModel"],
                       "tokenizer_2": ["transformers", "T5TokenizerFast"],
                       "transformer": ["diffusers", "FluxTransformer2DModel"]}, f)
        return root

    def test_pipeline_component_fetches_only_it_and_its_tokenizer(self):
        root = self.pipeline_repo()
        hub = self.hub("--repo", "pipeline=" + root)
        ref = "nt5-test/pipeline/text_encoder_2"
        local = run(["encode", os.path.join(DATA, "t5-v1_1-tiny"), "Hello world!", "--json"], self.cache)
        r = run(["encode", ref, "Hello world!", "--json"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout, "the component with tokenizer_2 encodes as the fixture")
        info = json.loads(run(["info", ref, "--json"], self.cache, hub.endpoint).stdout)
        self.assertTrue(info["tokenizer_source"].endswith("/tokenizer_2"), info["tokenizer_source"])
        fetched = {p for p, n in self.served(hub).items() if n > 0}
        allowed = {"/nt5-test/pipeline/" + f for f in ("text_encoder_2/config.json",
                                                       "text_encoder_2/model.safetensors.index.json",
                                                       "tokenizer_2/tokenizer_config.json")}
        for d in ("text_encoder_2", "tokenizer_2"):
            for f in os.listdir(os.path.join(root, d)):
                with open(os.path.join(root, d, f), "rb") as fh:
                    allowed.add("/cdn/" + hashlib.sha256(fh.read()).hexdigest())
        self.assertTrue(fetched, "something was fetched")
        self.assertLessEqual(fetched, allowed, "fetched outside the component and its tokenizer")
        snap = os.path.join(repo_dir(self.cache, "nt5-test/pipeline"), "snapshots")
        snap = os.path.join(snap, os.listdir(snap)[0])
        self.assertEqual(sorted(os.listdir(snap)), ["text_encoder_2", "tokenizer_2"], "huggingface_hub's layout")
        # offline, from the cache: the same, tokenizer included
        hub.stop()
        self.hubs.remove(hub)
        r = run(["encode", ref, "Hello world!", "--json"], self.cache, HF_HUB_OFFLINE="1")
        self.assertEqual(r.stdout, local.stdout, r.stderr)
        # a folder without a model, and one that is not there
        hub = self.hub("--repo", "pipeline=" + root)
        for folder, message in (("text_encoder", "text_encoder/model.safetensors"),
                                ("vae", "has no vae/config.json")):
            r = run(["info", "nt5-test/pipeline/" + folder], self.cache, hub.endpoint)
            self.assertEqual(r.returncode, 1)
            self.assertIn(message, r.stderr)

    def test_file_and_quantization_references_fetch_one_file(self):
        root = tempfile.mkdtemp(prefix="nt5-repo-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "split"))
        shutil.copy(os.path.join(DATA, "t5-v1_1-tiny", "model.safetensors"), os.path.join(root, "t5_fp32.safetensors"))
        with open(os.path.join(root, "split", "other.safetensors"), "wb") as f:
            f.write(os.urandom(1 << 20))
        for quant in ("Q8_0", "Q4_K_M", "Q4_K_S", "f16"):
            with open(os.path.join(root, "t5-encoder-%s.gguf" % quant), "wb") as f:
                f.write(b"GGUF" + quant.encode() + os.urandom(1000))
        hub = self.hub("--repo", "files=" + root)
        fixture = os.path.join(DATA, "t5-v1_1-tiny")
        local = run(["encode", fixture, "Hello world!", "--json"], self.cache)
        r = run(["encode", "nt5-test/files/t5_fp32.safetensors@main", "Hello world!", "--json", "--tokenizer", fixture],
                self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, local.stdout)
        with open(os.path.join(root, "t5_fp32.safetensors"), "rb") as f:
            single = "/cdn/" + hashlib.sha256(f.read()).hexdigest()
        self.assertEqual({p for p, n in self.served(hub).items() if n > 0}, {single})
        # the tokenizer as a Hub reference too: only its spiece.model and tokenizer_config.json are fetched
        r = run(["encode", "nt5-test/files/t5_fp32.safetensors", "Hello world!", "--json", "--tokenizer", TINY],
                self.cache, hub.endpoint)
        self.assertEqual(r.stdout, local.stdout, r.stderr)
        with open(os.path.join(fixture, "spiece.model"), "rb") as f:
            spiece = "/cdn/" + hashlib.sha256(f.read()).hexdigest()
        self.assertEqual({p for p, n in self.served(hub).items() if n > 0},
                         {single, spiece, "/%s/tokenizer_config.json" % TINY})
        r = run(["download", "nt5-test/files:Q8_0"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip().endswith("/t5-encoder-Q8_0.gguf"), r.stdout)
        with open(r.stdout.strip(), "rb") as f:
            self.assertEqual(f.read(8), b"GGUFQ8_0")
        r = run(["download", "nt5-test/files:q4_k_m"], self.cache, hub.endpoint)  # the tag in any case
        self.assertTrue(r.stdout.strip().endswith("/t5-encoder-Q4_K_M.gguf"), r.stderr)
        for ref, message in (("nt5-test/files:Q5_K_M", "has no .gguf file of quantization Q5_K_M"),
                             ("nt5-test/files:Q4_K", "has no .gguf file of quantization Q4_K"),
                             ("nt5-test/files/missing.safetensors", "has no file missing.safetensors"),
                             ("nt5-test/files/t5_fp32.safetensors:Q8_0", "not both"),
                             ("nt5-test/files:Q8-0", "letters, digits and _"),
                             ("nt5-test/files/../x.safetensors", "unsafe")):
            r = run(["download", ref], self.cache, hub.endpoint)
            self.assertEqual(r.returncode, 1, ref)
            self.assertIn(message, r.stderr, ref)
        served = self.served(hub)
        with open(os.path.join(root, "split", "other.safetensors"), "rb") as f:
            self.assertEqual(served.get("/cdn/" + hashlib.sha256(f.read()).hexdigest(), 0), 0)
        with open(os.path.join(root, "t5-encoder-f16.gguf"), "rb") as f:
            self.assertEqual(served.get("/cdn/" + hashlib.sha256(f.read()).hexdigest(), 0), 0)
        hub.stop()
        self.hubs.remove(hub)
        r = run(["download", "nt5-test/files:Q8_0"], self.cache, HF_HUB_OFFLINE="1")
        self.assertTrue(r.stdout.strip().endswith("/t5-encoder-Q8_0.gguf"), r.stderr)

    def test_missing_file_is_named(self):
        hub = self.hub()
        r = run(["download", "nt5-test/missing-file"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("model.safetensors not found in the repository", r.stderr)
        commit = hashlib.sha1(TINY.encode()).hexdigest()  # the mock serves that repo under this name
        marker = os.path.join(repo_dir(self.cache, "nt5-test/missing-file"), ".no_exist", commit, "model.safetensors")
        self.assertTrue(os.path.isfile(marker), "huggingface_hub's .no_exist marker")

    def test_corruption_and_wrong_etag_store_nothing(self):
        for fault in ("--corrupt", "--wrong-etag"):
            hub = self.hub(fault)
            r = run(["download", TINY], self.cache, hub.endpoint)
            self.assertEqual(r.returncode, 1, fault)
            self.assertIn("sha256", r.stderr)
            blobs = os.path.join(repo_dir(self.cache), "blobs")
            self.assertFalse([b for b in os.listdir(blobs) if len(b) == 64], fault + ": a bad blob was stored")
            snaps = os.path.join(repo_dir(self.cache), "snapshots")
            for root, _, files in os.walk(snaps):
                self.assertNotIn("model.safetensors", files, fault + ": a snapshot link was made")
            self.assert_no_partial_files()

    def test_hostile_listing(self):
        hub = self.hub()
        r = run(["download", "nt5-test/hostile"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unsafe name", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.cache, "evil")))

    def test_invalid_commit_sha_is_named(self):
        hub = self.hub()
        r = run(["download", "nt5-test/bad-sha"], self.cache, hub.endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn('commit sha "c0ffee" is not 40 lowercase hex digits', r.stderr)

    def test_concurrent_downloads(self):
        hub = self.hub()
        env = tool_env(self.cache, hub.endpoint)
        procs = [subprocess.Popen([NT5, "download", TINY], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0] * 4, [o[1] for o in outs])
        blobs = os.listdir(os.path.join(repo_dir(self.cache), "blobs"))
        self.assertEqual(len(blobs), 4, blobs)  # one copy of each file, no leftovers


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
