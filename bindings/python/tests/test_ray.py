"""examples/ray_encode.py with nt5.ray.Encoder on a local Ray cluster of 2 CPUs, 2 actors,
2,000 generated captions: the shards and the Parquet output hold the bits nt5.Model.encode
gives in this process over the same batches, and an actor killed mid-job (ray.kill) is
restarted, its batch retried, and the output is whole with no line twice."""
import glob
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

import nt5  # noqa: E402
from conftest import ROOT, TINY  # noqa: E402
from test_encode import read_safetensors  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)
import ray_encode  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the actors cannot import this file

CAPTIONS, BATCH = 2000, 50
WORDS = ("a photo of the red cat sitting on a mat under bright blue sky near old stone bridge painting "
         "watercolor Köln café 😀 in style by night with two dogs").split()


def timed(what, start):
    print("\n[ray test] %s: %.1f s" % (what, time.perf_counter() - start), flush=True)


@pytest.fixture(scope="module")
def cluster():
    start = time.perf_counter()
    # the actors import ray_encode (for its ShardEncoder) as this process does
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (EXAMPLES, os.environ.get("PYTHONPATH")) if p)
    os.environ.pop("RAY_ADDRESS", None)
    temp = tempfile.mkdtemp(prefix="nt5-ray-")  # short: Ray puts unix sockets there; removed after
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    ray.data.DataContext.get_current().enable_progress_bars = False
    timed("local Ray cluster started", start)
    yield
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def captions(tmp_path_factory):
    """JSON lines of CAPTIONS generated captions, a blank line among them (line numbers skip it)."""
    rng = random.Random(5)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(CAPTIONS)]
    path = str(tmp_path_factory.mktemp("captions") / "captions.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"text": t}) + ("\n\n" if i == 99 else "\n"))
    return path, texts


@pytest.fixture(scope="module")
def reference(captions):
    """Model.encode in this process over the same batches with the actors' threads (1)."""
    start = time.perf_counter()
    texts = captions[1]
    with nt5.Model(TINY, threads=1, encoder_only=True) as m:
        out = [m.encode(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    timed("single-process reference", start)
    return out


def args(captions, out, *more):
    return ray_encode.parser().parse_args([captions[0], "-o", str(out), "--model", TINY, "--batch-size", str(BATCH),
                                           "--actors", "2", "--cpus-per-actor", "1", *more])


@ray.remote(num_cpus=0)
class Victim:
    """Hands the first actor that offers itself to the test, which kills it."""

    def __init__(self):
        self.offers, self.handle = 0, None

    def offer(self, handle):
        self.offers += 1
        if self.handle is None:
            self.handle = handle
            return True
        return False

    def take(self):
        return self.handle

    def count(self):
        return self.offers


class KilledOnce(ray_encode.ShardEncoder):
    """ShardEncoder whose actors offer themselves at their first batch; the one taken waits
    in that batch to be killed. Its restarted self offers again and goes on."""

    def __call__(self, batch):
        if not getattr(self, "offered", False):
            self.offered = True
            me = ray.get_runtime_context().current_actor
            if ray.get(ray.get_actor("nt5-test-victim").offer.remote(me)):
                time.sleep(120)
        return super().__call__(batch)


def test_shards_survive_a_killed_actor(cluster, captions, reference, tmp_path):
    victim = Victim.options(name="nt5-test-victim").remote()
    killed = []

    def killer():
        while (handle := ray.get(victim.take.remote())) is None:
            time.sleep(0.1)
        ray.kill(handle, no_restart=False)  # as a crash would: Ray restarts it (max_restarts)
        killed.append(time.perf_counter())

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    start = time.perf_counter()
    out = tmp_path / "shards"
    assert ray_encode.run(args(captions, out), encoder=KilledOnce) == CAPTIONS
    timed("shards, one actor killed at %.1f s" % (killed[0] - start) if killed else "shards", start)
    assert killed, "no actor was killed"
    assert ray.get(victim.count.remote()) >= 3, "the killed actor did not come back"  # 2 actors, then the restarted one

    texts = captions[1]
    index = [json.loads(line) for line in open(out / "index.jsonl", encoding="utf-8")]
    assert [r["line"] for r in index] == list(range(1, 101)) + list(range(102, CAPTIONS + 2))  # once each, in order
    shards = sorted(glob.glob(str(out / "shard-*.safetensors")))
    assert len(shards) == CAPTIONS // BATCH and not glob.glob(str(out / "part-*"))
    for k, (path, want) in enumerate(zip(shards, reference)):
        assert path.endswith("shard-%05d.safetensors" % k)
        got = read_safetensors(path)
        hidden = np.array(want.hidden_states)  # past each length: zero, as the tool writes shards
        for r, length in enumerate(want.lengths):
            hidden[r, length:] = 0
        assert got["hidden_states"].tobytes() == hidden.tobytes()
        assert np.array_equal(got["lengths"], want.lengths) and got["lengths"].dtype == np.int64
        assert np.array_equal(got["token_ids"], want.token_ids)
    for i, r in enumerate(index):
        assert (r["shard"], r["row"]) == divmod(i, BATCH)
        assert r["sha256"] == hashlib.sha256(texts[i].encode()).hexdigest()
        assert r["length"] == reference[r["shard"]].lengths[r["row"]]
    manifest = json.load(open(out / "manifest.json"))
    assert manifest["rows"] == CAPTIONS and manifest["shards"] == len(shards)


def test_parquet_equals_single_process(cluster, captions, reference, tmp_path):
    start = time.perf_counter()
    out = tmp_path / "parquet"
    ray_encode.run(args(captions, out, "--format", "parquet"))
    timed("parquet", start)
    rows = {}
    for path in glob.glob(str(out / "*.parquet")):
        t = pq.read_table(path)
        for c in range(t.column("line").num_chunks):
            chunk = {name: t.column(name).chunk(c) for name in ("line", "lengths", "hidden_states", "token_ids")}
            hidden = chunk["hidden_states"].to_numpy(zero_copy_only=False)
            ids = chunk["token_ids"].to_numpy(zero_copy_only=False)
            for j, line in enumerate(chunk["line"].to_pylist()):
                assert line not in rows
                rows[line] = (hidden[j], chunk["lengths"][j].as_py(), ids[j])
    assert len(rows) == CAPTIONS
    for i, line in enumerate(sorted(rows)):
        want = reference[i // BATCH]
        hidden, length, ids = rows[line]
        assert hidden.tobytes() == want.hidden_states[i % BATCH].tobytes()
        assert length == want.lengths[i % BATCH] and np.array_equal(ids, want.token_ids[i % BATCH])
