"""One model shared by threads: encode, generate and stream at once give what they give alone,
and ctypes lets the other Python threads run during a call (no GIL held)."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import nt5
from conftest import TINY
from test_generate import PROMPTS

TEXTS = ["caption %d: a red house by a lake, photographed at dusk" % i + " and more" * (i % 7) for i in range(24)]


def test_threads_share_a_model(model):
    want_emb = [model.encode(TEXTS[i:i + 3]).hidden_states for i in range(0, 24, 3)]
    want_gen = [g.ids.tolist() for g in model.generate(PROMPTS[:4], max_new_tokens=10)]

    def encode(i):
        return model.encode(TEXTS[i:i + 3]).hidden_states

    def generate(i):
        return [t.id for t in model.stream(PROMPTS[i], max_new_tokens=10)]

    with ThreadPoolExecutor(6) as pool:
        for _ in range(3):
            emb = pool.map(encode, range(0, 24, 3))
            gen = pool.map(generate, range(4))
            assert all(np.array_equal(a, b) for a, b in zip(emb, want_emb))
            assert list(gen) == want_gen


def test_calls_release_the_gil():
    """While encode runs in the library on one thread, another Python thread keeps running: its
    longest pause is under half the call (holding the GIL would pause it for all of it)."""
    with nt5.Model(TINY, threads=1) as model:
        texts = ["a long caption about many things " * 12] * 48  # some 0.3 s here
        span = []

        def work():
            span.append(time.perf_counter())
            model.encode(texts)
            span.append(time.perf_counter())

        worker = threading.Thread(target=work)
        stamps = [time.perf_counter()]
        worker.start()
        while worker.is_alive():
            stamps.append(time.perf_counter())
        worker.join()
    longest_pause = max(b - a for a, b in zip(stamps, stamps[1:]))
    assert longest_pause < (span[1] - span[0]) / 2, (longest_pause, span[1] - span[0])
