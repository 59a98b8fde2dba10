"""Model.generate and Model.stream: Hugging Face's ids (tests/data's reference.json), tokens
streamed from a worker thread, and cancellation by break, cancel() and the callback."""
import json
import os
import threading

import pytest

import nt5
from nt5 import _lib
from conftest import TINY

with open(os.path.join(TINY, "reference.json"), encoding="utf-8") as f:
    REFERENCE = json.load(f)
PROMPTS = REFERENCE["prompts"]
LONG = dict(max_new_tokens=40, min_new_tokens=40)  # no early </s>: room to cancel
FULL = 1024  # max_input_length: the last prompt has 593 tokens, which Hugging Face did not cut


def test_greedy_and_beam_ids_are_hugging_faces(model):
    greedy = model.generate(PROMPTS, max_new_tokens=20, max_input_length=FULL)
    assert [g.ids.tolist() for g in greedy] == [r["new_tokens"] for r in REFERENCE["greedy"]]
    assert [g.text for g in greedy] == [r["text"] for r in REFERENCE["greedy"]]
    beam = model.generate(PROMPTS, max_new_tokens=20, num_beams=4, max_input_length=FULL)
    assert len(beam) == len(REFERENCE["beam"])
    for g, r in zip(beam, REFERENCE["beam"]):
        assert g.ids.tolist() == r["sequence"][1:]
        assert g.score == pytest.approx(r["sequence_score"], rel=1e-4)


def test_calls_on_one_thread_each_at_once(model):
    """Generations limited to one of the model's threads, run at once from two threads, give
    Hugging Face's ids."""
    got = {}

    def work(i):
        got[i] = [g.ids.tolist() for g in model.generate(PROMPTS[i::2], max_new_tokens=20, max_input_length=FULL,
                                                          threads=1)]

    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    want = [r["new_tokens"] for r in REFERENCE["greedy"]]
    assert got[0] == want[0::2] and got[1] == want[1::2]


def test_return_sequences_by_input_then_rank(model):
    out = model.generate(PROMPTS[:2], max_new_tokens=8, num_beams=3, num_return_sequences=2)
    assert len(out) == 4 and out[0].score >= out[1].score and out[2].score >= out[3].score
    assert out[0].ids.tolist() == model.generate(PROMPTS[0], max_new_tokens=8, num_beams=3)[0].ids.tolist()


def test_stream_gives_every_token_in_order(model):
    want = model.generate(PROMPTS[:3], max_new_tokens=12)
    stream = model.stream(PROMPTS[:3], max_new_tokens=12)
    seen = {0: [], 1: [], 2: []}
    threads = set()
    for token in stream:
        assert token.step == len(seen[token.sequence_index])
        seen[token.sequence_index].append(token)
        threads.add(threading.current_thread())
    assert threads == {threading.main_thread()}
    assert not stream.cancelled and [g.ids.tolist() for g in stream.result] == [g.ids.tolist() for g in want]
    for i, g in enumerate(want):
        assert [t.id for t in seen[i]] == g.ids.tolist()
        assert "".join(t.text for t in seen[i]).strip() == g.text


def test_break_cancels(model):
    stream = model.stream(PROMPTS[1], **LONG)
    got = []
    for token in stream:
        got.append(token)
        if len(got) == 3:
            break
    assert not stream._thread.is_alive()  # joined when the loop was left
    assert stream.cancelled and stream.result is None
    assert len(got) == 3
    assert len(model.generate(PROMPTS[1], **LONG)[0].ids) == 40  # the model is still usable


def test_cancel_from_inside_and_with_block(model):
    with model.stream(PROMPTS[:2], **LONG) as stream:
        n = 0
        for token in stream:
            n += 1
            if token.step == 2:
                stream.cancel()
    assert stream.cancelled and stream.result is None and n < 80
    with model.stream(PROMPTS[1], **LONG) as stream:
        next(iter(stream))
    assert not stream._thread.is_alive()


def test_stream_is_iterated_once(model):
    stream = model.stream("Hello", max_new_tokens=2)
    list(stream)
    with pytest.raises(RuntimeError):
        list(stream)


def test_stream_raises_the_calls_error(model):
    with pytest.raises(nt5.Error) as e:
        list(model.stream([b"bad \xff"]))
    assert e.value.status == _lib.NT5_ERR_INVALID_ARG
    with pytest.raises(nt5.Error) as e:
        list(model.stream("Hello", num_beams=0))
    assert e.value.status == _lib.NT5_ERR_INVALID_ARG


def test_beam_search_streams_progress(model):
    tokens = list(model.stream("Hello world!", max_new_tokens=5, num_beams=2))
    assert tokens and all(t.id == -1 and t.text == "" for t in tokens)


def test_on_token_true_cancels(model):
    steps = []
    with pytest.raises(nt5.Error) as e:
        model.generate(PROMPTS[1], on_token=lambda t: steps.append(t.step) or t.step == 4, **LONG)
    assert e.value.status == _lib.NT5_ERR_CANCELLED and steps == [0, 1, 2, 3, 4]


def test_on_token_exception_cancels_and_is_raised(model):
    class Stop(Exception):
        pass

    def on_token(token):
        if token.step == 1:
            raise Stop()

    with pytest.raises(Stop):
        model.generate(PROMPTS[1], on_token=on_token, **LONG)


def test_sampling_is_seeded(model):
    a = model.generate(PROMPTS[1], do_sample=True, seed=7, top_k=50, max_new_tokens=10)
    b = model.generate(PROMPTS[1], do_sample=True, seed=7, top_k=50, max_new_tokens=10)
    assert a[0].ids.tolist() == b[0].ids.tolist()
