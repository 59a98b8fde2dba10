"""Model.encode: the same bits as the C library (through the raw ctypes layer) and as the nt5
tool, arrays that view the library's memory and outlive the result, and the output dtypes."""
import ctypes
import gc
import json
import struct
import subprocess
import threading
import weakref

import numpy as np
import pytest

import nt5
from nt5 import _lib, _model
from conftest import THREADS, TINY

TEXTS = ["A cat sitting on a mat", "translate English to German: The house is wonderful.", "Grüße 😀", "x"]
# (Python options, the same as nt5_encode_options fields, the same as nt5 tool options)
CASES = [
    ({}, {}, []),
    ({"preset": "flux"}, {"preset": _lib.NT5_PRESET_FLUX}, ["--preset", "flux"]),
    ({"padding": "max_length", "max_length": 16, "mask": False, "zero_padding": True},
     {"padding": _lib.NT5_PADDING_MAX_LENGTH, "max_length": 16, "attention": _lib.NT5_ATTEND_ALL, "zero_padding": 1},
     ["--pad-to-max", "--max-length", "16", "--no-mask", "--zero-padding"]),
    ({"dtype": "f16", "max_length": 5}, {"output_dtype": _lib.NT5_DTYPE_F16, "max_length": 5},
     ["--dtype", "f16", "--max-length", "5"]),
]


def raw_encode(raw, texts, fields):
    """nt5_model_open and nt5_encode_texts through nt5._lib only: (hidden bytes, shape, lengths, ids)."""
    model = ctypes.POINTER(_lib.nt5_model)()
    mo = _lib.nt5_model_options()
    assert raw.nt5_model_options_init(ctypes.byref(mo), ctypes.sizeof(mo)) == 0
    mo.num_threads = THREADS
    assert raw.nt5_model_open(TINY.encode(), ctypes.byref(mo), ctypes.byref(model)) == 0
    eo = _lib.nt5_encode_options()
    assert raw.nt5_encode_options_init(ctypes.byref(eo), ctypes.sizeof(eo)) == 0
    if "preset" in fields:
        assert raw.nt5_encode_options_preset(ctypes.byref(eo), fields["preset"]) == 0
    for k, v in fields.items():
        if k != "preset":
            setattr(eo, k, v)
    batch = (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])
    emb = ctypes.POINTER(_lib.nt5_embeddings)()
    assert raw.nt5_encode_texts(model, batch, len(texts), ctypes.byref(eo), ctypes.byref(emb)) == 0
    b, s, d = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
    raw.nt5_embeddings_shape(emb, ctypes.byref(b), ctypes.byref(s), ctypes.byref(d))
    size = {_lib.NT5_DTYPE_F32: 4}.get(raw.nt5_embeddings_dtype(emb), 2)
    out = (ctypes.string_at(raw.nt5_embeddings_data(emb), b.value * s.value * d.value * size), (b.value, s.value, d.value),
           raw.nt5_embeddings_lengths(emb)[:b.value], raw.nt5_embeddings_token_ids(emb)[:b.value * s.value])
    raw.nt5_embeddings_free(emb)
    raw.nt5_model_free(model)
    return out


@pytest.mark.parametrize("options,fields,_", CASES)
def test_same_bits_as_the_c_library(model, raw, options, fields, _):
    e = model.encode(TEXTS, **options)
    data, shape, lengths, ids = raw_encode(raw, TEXTS, fields)
    assert e.hidden_states.shape == shape
    assert e.hidden_states.tobytes() == data
    assert e.lengths.tolist() == lengths
    assert e.token_ids.ravel().tolist() == ids


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header, body = json.loads(f.read(n)), f.read()
    types = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64, "I32": np.int32}
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], types[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


@pytest.mark.parametrize("options,_,args", CASES)
def test_same_bits_as_the_tool(model, tool, tmp_path, options, _, args):
    out = tmp_path / "out.npy"
    subprocess.run([tool, "encode", TINY, *TEXTS, "--threads", str(THREADS), "--quiet", "-o", str(out), *args],
                   check=True)
    e = model.encode(TEXTS, **options)
    want = np.load(out)
    assert want.dtype == e.hidden_states.dtype and np.array_equal(want.view(np.uint8), e.hidden_states.view(np.uint8))


def test_bf16_same_bits_as_the_tool(model, tool, tmp_path):
    out = tmp_path / "out.safetensors"
    subprocess.run([tool, "encode", TINY, *TEXTS, "--threads", str(THREADS), "--quiet", "--dtype", "bf16", "-o", str(out)],
                   check=True)
    want = next(v for v in read_safetensors(out).values() if v.ndim == 3)
    assert np.array_equal(want, model.encode(TEXTS, dtype="bf16").hidden_states.view(np.uint16))


def base_chain(a):
    while a is not None:
        yield a
        a = getattr(a, "base", None) if not isinstance(a, _model._View) else None


def test_calls_on_one_thread_each_at_once(model, raw):
    """Encodes limited to one of the model's threads, made at once from several threads, give the
    bits of nt5_encode_texts with num_threads 1."""
    got = [None] * len(TEXTS)

    def work(i):
        got[i] = model.encode(TEXTS[i], threads=1).hidden_states.copy()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(TEXTS))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for text, hidden in zip(TEXTS, got):
        assert hidden.tobytes() == raw_encode(raw, [text], {"num_threads": 1})[0]


def test_arrays_view_the_library_memory(model, raw):
    e = model.encode(TEXTS)
    views = [list(base_chain(a))[-1] for a in e]
    for a, view in zip(e, views):
        assert isinstance(view, _model._View) and not a.flags.owndata and not a.flags.writeable
        assert view.owner is views[0].owner
    emb = views[0].owner.ptr  # the nt5_embeddings: its own pointers are the arrays' memory
    assert e.hidden_states.ctypes.data == raw.nt5_embeddings_data(emb)
    assert e.lengths.ctypes.data == ctypes.addressof(raw.nt5_embeddings_lengths(emb).contents)
    assert e.token_ids.ctypes.data == ctypes.addressof(raw.nt5_embeddings_token_ids(emb).contents)
    with pytest.raises(ValueError):
        e.hidden_states[0, 0, 0] = 1.0


def test_arrays_outlive_the_result(model):
    e = model.encode(TEXTS)
    hidden, lengths, ids = e
    want = hidden.copy(), lengths.copy(), ids.copy()
    owner = weakref.ref(list(base_chain(hidden))[-1].owner)
    del e
    gc.collect()
    churn = [model.encode(TEXTS[::-1]) for _ in range(20)]  # memory freed too early would be reused here
    del churn
    assert np.array_equal(hidden, want[0]) and np.array_equal(lengths, want[1]) and np.array_equal(ids, want[2])
    derived = hidden[1:, :3].T  # a view of a view keeps it alive too
    del hidden, lengths, ids
    gc.collect()
    assert owner() is not None
    assert np.array_equal(derived, want[0][1:, :3].T)
    del derived
    gc.collect()
    assert owner() is None  # freed (nt5_embeddings_free) with the last array


def test_arrays_outlive_the_model(tmp_path):
    with nt5.Model(TINY, threads=THREADS) as m:
        e = m.encode(TEXTS)
        want = e.hidden_states.copy()
    assert np.array_equal(e.hidden_states, want)
    with pytest.raises(nt5.Error) as err:
        m.encode(TEXTS)
    assert err.value.status == _lib.NT5_ERR_INVALID_ARG and "closed" in err.value.message


def test_shapes_and_metadata(model):
    e = model.encode(TEXTS)
    assert e.hidden_states.shape == (4, int(e.lengths.max()), model.info.d_model)
    assert e.lengths.dtype == np.uintp and e.token_ids.dtype == np.int32
    for row, n in zip(e.token_ids, e.lengths):
        assert row[n - 1] == model.info.eos_token_id and not row[n:].any()
    assert e.token_ids[0, :int(e.lengths[0])].tolist() == model.tokenize(TEXTS[0]).tolist()
    one = model.encode("A cat sitting on a mat")  # a single text is a batch of one
    assert one.hidden_states.shape[0] == 1


@pytest.mark.parametrize("dtype", ["f16", "float16", np.float16])
def test_f16_is_f32_rounded(model, dtype):
    h32 = model.encode(TEXTS).hidden_states
    h16 = model.encode(TEXTS, dtype=dtype).hidden_states
    assert h16.dtype == np.float16 and np.array_equal(h16, h32.astype(np.float16))


def bf16_bits(x):
    """float32 -> bfloat16 bits, rounded to nearest even (finite values)."""
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def test_bf16_with_ml_dtypes(model):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    h32 = model.encode(TEXTS).hidden_states
    hb = model.encode(TEXTS, dtype=ml_dtypes.bfloat16).hidden_states
    assert hb.dtype == ml_dtypes.bfloat16 and np.array_equal(hb.view(np.uint16), bf16_bits(h32))
    assert np.allclose(hb.astype(np.float32), h32, rtol=1e-2, atol=1e-2)


def test_bf16_without_ml_dtypes_is_uint16(model, monkeypatch):
    monkeypatch.setattr(_model, "BFLOAT16", None)
    h32 = model.encode(TEXTS).hidden_states
    hb = model.encode(TEXTS, dtype="bf16").hidden_states
    assert hb.dtype == np.uint16 and np.array_equal(hb, bf16_bits(h32))
    widened = (hb.astype(np.uint32) << 16).view(np.float32)  # as the docstring says
    assert np.allclose(widened, h32, rtol=1e-2, atol=1e-2)


def test_tokenize_detokenize(model):
    ids = model.tokenize("The <extra_id_0> walks in <extra_id_1> park.")
    assert ids.dtype == np.int32 and ids[-1] == model.info.eos_token_id
    assert model.tokenize("The park.", eos=False)[-1] != model.info.eos_token_id
    assert model.detokenize(ids, skip_special=True) == "The walks in park."
    assert model.detokenize(ids).endswith("park.</s>")
    assert model.detokenize(model.tokenize("a b ."), skip_special=True, cleanup=False) == "a b ."
    assert model.detokenize(model.tokenize("a b ."), skip_special=True) == "a b."
    extra = [model.tokenize("<extra_id_%d>" % i, eos=False)[0] for i in range(100)]
    text = model.detokenize(extra)  # longer than the first buffer: the call is made again
    assert text.count("<extra_id_") == 100 and text.startswith("<extra_id_0>")
