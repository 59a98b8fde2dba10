"""nt5.Model, hub_download and convert, and the library's results as Python values."""
import ctypes
import functools
import os
import types
import weakref
from typing import Any, Callable, Iterable, List, NamedTuple, Optional, Union

import numpy as np

from . import _lib
from ._native import (Callback, Path, Text, c_string, c_text, c_texts, check, code, invalid, lib, options,
                      set_fields, sized)
from ._stream import Stream

try:
    from ml_dtypes import bfloat16 as BFLOAT16
except ImportError:  # bf16 hidden states then come as their raw bits, uint16
    BFLOAT16 = None

DTYPES = {"auto": _lib.NT5_DTYPE_AUTO, "f32": _lib.NT5_DTYPE_F32, "float32": _lib.NT5_DTYPE_F32,
          "f16": _lib.NT5_DTYPE_F16, "float16": _lib.NT5_DTYPE_F16, "bf16": _lib.NT5_DTYPE_BF16,
          "bfloat16": _lib.NT5_DTYPE_BF16,
          # weight storage only: ggml's blocks
          "q8_0": _lib.NT5_DTYPE_Q8_0, "q6_k": _lib.NT5_DTYPE_Q6_K, "q5_k": _lib.NT5_DTYPE_Q5_K,
          "q4_k": _lib.NT5_DTYPE_Q4_K}
PRESETS = {"flux": _lib.NT5_PRESET_FLUX, "sd3": _lib.NT5_PRESET_SD3, "pixart": _lib.NT5_PRESET_PIXART,
           "wan": _lib.NT5_PRESET_WAN}
PADDINGS = {"longest": _lib.NT5_PADDING_LONGEST, "max_length": _lib.NT5_PADDING_MAX_LENGTH}
FORMATS = {"nt5": _lib.NT5_FORMAT_NT5, "hf": _lib.NT5_FORMAT_HF}
# numpy's name for each output dtype (bf16: its bits, viewed as ml_dtypes.bfloat16 when there)
_TYPESTR = {_lib.NT5_DTYPE_F32: np.dtype(np.float32).str, _lib.NT5_DTYPE_F16: np.dtype(np.float16).str,
            _lib.NT5_DTYPE_BF16: np.dtype(np.uint16).str}
PATH_CAPACITY = 4097  # PATH_MAX and the NUL: a written path always fits the first time


def dtype_code(dtype: Any) -> int:
    """NT5_DTYPE_* of "f32" / "float32" / np.float32, "f16", "bf16" (ml_dtypes.bfloat16) or "auto"."""
    return code(DTYPES, dtype if isinstance(dtype, (str, int)) else np.dtype(dtype).name, "dtype")


class Token(NamedTuple):
    """A streamed token: the input it belongs to (its index in the batch), the decoding step
    (0 for the first new token), its id (-1: a beam search step) and the text it added to that
    sequence's text (special tokens skipped; "" for beam search)."""
    sequence_index: int
    step: int
    id: int
    text: str


class Generation(NamedTuple):
    """A generated sequence: its text (special tokens skipped, cleaned up), its new token ids
    [n] int32 (</s> included when it ended so) and its score, the sum of its tokens'
    log-probabilities divided by length ** length_penalty (Hugging Face's sequences_scores)."""
    text: str
    ids: np.ndarray
    score: float


class Embeddings(NamedTuple):
    """Encoder output. The arrays view the library's memory (no copy; read-only), and each
    keeps that memory alive by itself: any of them may outlive this tuple.

    hidden_states: [batch, seq_len, d_model] of the final encoder layer (after its RMSNorm):
        float32, float16, or for bf16 ml_dtypes.bfloat16 when ml_dtypes is importable, else
        the raw bits as uint16 (`.view(ml_dtypes.bfloat16)`, or
        `(h.astype(np.uint32) << 16).view(np.float32)` widens them).
    lengths: [batch] uint64 (size_t): real tokens in each row (the mask is position < length).
    token_ids: [batch, seq_len] int32: the padded token ids that were encoded.
    """
    hidden_states: np.ndarray
    lengths: np.ndarray
    token_ids: np.ndarray


class _Owner:
    """Frees an nt5_embeddings once nothing refers to it: the base chain of every array
    made from it ends at a _View holding this."""

    def __init__(self, ptr: Any):
        self.ptr = ptr
        weakref.finalize(self, lib().nt5_embeddings_free, ptr)


class _View:
    """Memory of an _Owner as NumPy takes it (the array interface, read-only)."""

    def __init__(self, owner: _Owner, address: int, shape: tuple, typestr: str):
        self.owner = owner
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": typestr, "data": (address, True)}


def _embeddings(ptr: Any) -> Embeddings:
    owner = _Owner(ptr)
    batch, seq_len, d_model = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
    check(lib().nt5_embeddings_shape(ptr, ctypes.byref(batch), ctypes.byref(seq_len), ctypes.byref(d_model)))
    shape = (batch.value, seq_len.value, d_model.value)
    dtype = lib().nt5_embeddings_dtype(ptr)

    def view(address: Any, shape: tuple, typestr: str) -> np.ndarray:
        return np.asarray(_View(owner, ctypes.cast(address, ctypes.c_void_p).value, shape, typestr))

    hidden = view(lib().nt5_embeddings_data(ptr), shape, _TYPESTR[dtype])
    if dtype == _lib.NT5_DTYPE_BF16 and BFLOAT16 is not None:
        hidden = hidden.view(BFLOAT16)
    return Embeddings(hidden, view(lib().nt5_embeddings_lengths(ptr), shape[:1], np.dtype(np.uintp).str),
                      view(lib().nt5_embeddings_token_ids(ptr), shape[:2], np.dtype(np.int32).str))


def _int32s(a: np.ndarray) -> Any:
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))


def _token(event: Any, _user_data: Any) -> tuple:
    e = event.contents
    return (Token(e.sequence_index, e.step, e.token_id, (e.text or b"").decode("utf-8", "replace")),)


def _sequence(gen: Any, index: int) -> Generation:
    ids, n, text, score = ctypes.POINTER(ctypes.c_int32)(), ctypes.c_size_t(), ctypes.c_char_p(), ctypes.c_float()
    check(lib().nt5_generation_get(gen, index, ctypes.byref(ids), ctypes.byref(n), ctypes.byref(text),
                                   ctypes.byref(score)))
    return Generation(text.value.decode("utf-8", "replace"), np.array(ids[:n.value], dtype=np.int32), score.value)


def model_options(*, device: Optional[str] = None, threads: Optional[int] = None,
                  encoder_only: Optional[bool] = None, weight_dtype: Any = None, allow_tf32: Optional[bool] = None,
                  refuse_non_finite_weights: Optional[bool] = None, tokenizer: Optional[Path] = None,
                  config: Optional[Path] = None, revision: Optional[str] = None, cache_dir: Optional[Path] = None,
                  token: Optional[str] = None, offline: Optional[bool] = None,
                  on_progress: Optional[Callable[[str, int, int], Any]] = None) -> "tuple[Any, Callback]":
    """nt5_model_options from Model's keyword options, and the progress callback to check
    the call with."""
    progress = Callback(_lib.nt5_progress_callback, on_progress,
                        lambda file, done, total, _: ((file or b"").decode("utf-8", "replace"), done, total))
    o = options(_lib.nt5_model_options, lib().nt5_model_options_init, device=c_string(device), num_threads=threads,
                encoder_only=encoder_only, weight_dtype=None if weight_dtype is None else dtype_code(weight_dtype),
                allow_tf32=allow_tf32, refuse_non_finite_weights=refuse_non_finite_weights,
                tokenizer=c_string(tokenizer), config=c_string(config), revision=c_string(revision),
                cache_dir=c_string(cache_dir), token=c_string(token), offline=offline, on_progress=progress.c)
    return o, progress


class Model:
    """A T5-family model (T5 v1.0, v1.1 / flan-t5, mT5, UMT5) opened by libnt5.

    `ref` is a Hugging Face layout directory, an nt5 file, a single .safetensors checkpoint, a
    .gguf file, or a Hub reference ("google/flan-t5-base", "org/name/folder",
    "org/name/file.safetensors", "org/name:Q8_0", each with an optional "@revision"), fetched
    into the huggingface_hub cache when missing. Options (all keyword, None: the default):

      device: "auto" (default), "cpu", "cuda" or "cuda:N"
      threads: CPU threads per call; 0 (default) = all cores
      encoder_only: load only the encoder (generation then fails with NT5_ERR_UNSUPPORTED)
      weight_dtype: storage of the weight matrices: "auto" (default: bf16 checkpoints stay
          bf16, GGUF files' blocks stay blocks; f32 on the CPU), "f32", "bf16" (half the memory),
          "f16" (CPU; on a GPU from calibrated f16 files), "q8_0", "q6_k", "q5_k", "q4_k"
          (ggml's blocks, CPU)
      allow_tf32: f32 weights on a GPU: TF32 products (faster, about 1e-3 relative)
      refuse_non_finite_weights: fail with NT5_ERR_FORMAT when a weight is NaN or infinite
      tokenizer: a tokenizer instead of the model's: a directory with spiece.model, a
          spiece.model file or a Hub reference
      config: a config.json: a directory's instead of its own; over what nt5 infers for a
          single checkpoint or GGUF file
      revision, cache_dir, token, offline: for Hub references (default: "main", the
          huggingface_hub cache, HF_TOKEN, HF_HUB_OFFLINE)
      on_progress: on_progress(file, done, total) per downloaded file (and notes, with `file`
          beginning "note: "); a true return or an exception cancels

    Once open a model is immutable: any number of threads may encode, generate and tokenize
    with it at once (ctypes releases the GIL during each call). It is a context manager;
    close() frees it (never while another thread uses it), as does garbage collection.
    Failures raise nt5.Error with the library's status and message.
    """

    def __init__(self, ref: Path, **options: Any):
        o, progress = model_options(**options)
        out = ctypes.POINTER(_lib.nt5_model)()
        progress.check(lib().nt5_model_open(c_string(ref), ctypes.byref(o), ctypes.byref(out)))
        self._ptr = out
        self._free = weakref.finalize(self, lib().nt5_model_free, out)

    @property
    def _model(self) -> Any:
        if not self._free.alive:
            raise invalid("the model is closed")
        return self._ptr

    def close(self) -> None:
        """Frees the model now (later calls raise nt5.Error); results already made stay valid."""
        self._free()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self._free.alive:
            return "<nt5.Model closed>"
        i = self.info
        return "<nt5.Model %s d_model=%d layers=%d+%d on %s>" % (
            i.model_type_name, i.d_model, i.num_layers, i.num_decoder_layers,
            "cuda" if i.device == _lib.NT5_DEVICE_CUDA else "cpu")

    @functools.cached_property
    def info(self) -> types.SimpleNamespace:
        """The fields of nt5_model_info (see nt5._lib.nt5_model_info): d_model, num_layers,
        vocab_size, tokenizer_size, max_input_length, device (NT5_DEVICE_*), weight_dtype
        (NT5_DTYPE_*), model_type_name, format, weights_stored, tokenizer_source, ..."""
        i = _lib.nt5_model_info(struct_size=ctypes.sizeof(_lib.nt5_model_info))
        check(lib().nt5_model_get_info(self._model, ctypes.byref(i)))
        values = {name: getattr(i, name) for name, _ in i._fields_[1:]}
        return types.SimpleNamespace(**{k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                                        for k, v in values.items()})

    def tokenize(self, text: Text, *, eos: bool = True) -> np.ndarray:
        """Token ids [n] int32 of `text` as Hugging Face's T5Tokenizer (legacy mode) makes them:
        </s>, <pad>, <unk> and <extra_id_N> are matched in the text, and </s> is appended
        (unless eos is False or the ids already end with it). Invalid UTF-8 (bytes, or a str
        with lone surrogates) raises nt5.Error NT5_ERR_INVALID_ARG."""
        t, flags = c_text(text), 0 if eos else _lib.NT5_TOKENIZE_NO_EOS

        def call(ids: np.ndarray, capacity: int, n: Any) -> int:
            return lib().nt5_tokenize(self._model, t, flags, _int32s(ids), capacity, n)

        ids, n = sized(call, len(t) + 2, lambda capacity: np.empty(capacity, np.int32))
        return ids[:n]

    def detokenize(self, ids: Iterable[int], *, skip_special: bool = False, cleanup: bool = True) -> str:
        """The text of token ids, like T5Tokenizer.decode: skip_special drops </s>, <pad>, <unk>
        and <extra_id_N>; cleanup=False keeps " ." and the like. Ids between the tokenizer's
        size and the model's vocab size decode to nothing."""
        a = np.ascontiguousarray(ids, dtype=np.int32).ravel()
        flags = _lib.NT5_DETOKENIZE_SKIP_SPECIAL if skip_special else 0
        flags |= 0 if cleanup else _lib.NT5_DETOKENIZE_NO_CLEANUP

        def call(text: Any, capacity: int, n: Any) -> int:
            return lib().nt5_detokenize(self._model, _int32s(a), a.size, flags, text, capacity, n)

        text, n = sized(call, 4 * a.size + 16, ctypes.create_string_buffer)  # about 4 bytes a token
        return text.raw[:n].decode("utf-8", "replace")

    def encode(self, texts: Union[Text, Iterable[Text]], *, preset: Optional[str] = None, dtype: Any = "f32",
               max_length: Optional[int] = None, padding: Optional[str] = None, mask: Optional[bool] = None,
               zero_padding: Optional[bool] = None, truncation: Optional[bool] = None,
               threads: Optional[int] = None) -> Embeddings:
        """Final encoder hidden states of a batch of texts (a single text is a batch of one).

        preset: "flux" (512 tokens, fixed length, no mask), "sd3" (256, no mask), "pixart" (300,
            masked) or "wan" (512, masked, padded rows zeroed): sets padding, max_length,
            truncation, mask and zero_padding as that pipeline does; the options given here
            then change them.
        dtype: of hidden_states: "f32" (default), "f16" or "bf16" (or the numpy types).
        max_length: tokens per text including </s> (default: the model's, 512).
        padding: "longest" (default: to the batch's longest text) or "max_length".
        mask: True (default): padding keys are masked (Hugging Face with attention_mask);
            False: pad tokens are attended, as diffusers' Flux and SD3 pipelines do.
        zero_padding: set the hidden states of padded positions to zero.
        truncation: True (default): cut longer texts to max_length, keeping </s>; False: they
            raise nt5.Error NT5_ERR_TOO_LONG.
        threads: the most CPU threads this call works on, of the model's (default: all):
            threads encoding at once on one model then share its threads. Results can differ
            in the last bits between thread counts.
        """
        o = options(_lib.nt5_encode_options, lib().nt5_encode_options_init)
        if preset is not None:
            check(lib().nt5_encode_options_preset(ctypes.byref(o), code(PRESETS, preset, "preset")))
        set_fields(o, output_dtype=dtype_code(dtype), max_length=max_length, truncation=truncation,
                   padding=None if padding is None else code(PADDINGS, padding, "padding"),
                   attention=None if mask is None else _lib.NT5_ATTEND_MASKED if mask else _lib.NT5_ATTEND_ALL,
                   zero_padding=zero_padding, num_threads=threads)
        batch, n = c_texts(texts)
        out = ctypes.POINTER(_lib.nt5_embeddings)()
        check(lib().nt5_encode_texts(self._model, batch, n, ctypes.byref(o), ctypes.byref(out)))
        return _embeddings(out)

    def generate(self, texts: Union[Text, Iterable[Text]], *, max_new_tokens: Optional[int] = None,
                 min_new_tokens: Optional[int] = None, num_beams: Optional[int] = None,
                 do_sample: Optional[bool] = None, temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, seed: Optional[int] = None, length_penalty: Optional[float] = None,
                 early_stopping: Optional[bool] = None, num_return_sequences: Optional[int] = None,
                 repetition_penalty: Optional[float] = None, no_repeat_ngram_size: Optional[int] = None,
                 max_input_length: Optional[int] = None, truncation: Optional[bool] = None,
                 threads: Optional[int] = None,
                 on_token: Optional[Callable[[Token], Any]] = None) -> List[Generation]:
        """Generates for each text (a single text is a batch of one); returns
        len(texts) * num_return_sequences sequences, by input, then by rank. Each input is
        decoded on its own: a batch gives the same ids as one text at a time.

        Options (None: the library's default): max_new_tokens (64, </s> counts),
        min_new_tokens (0), num_beams (1: greedy or sampling; >1 beam search), do_sample,
        temperature (1.0), top_k (0: off), top_p (1.0: off), seed (0: the same output each
        time), length_penalty (1.0), early_stopping, num_return_sequences (1, <= num_beams for
        beam search), repetition_penalty (1.0: off), no_repeat_ngram_size (0: off),
        max_input_length (the model's, 512), truncation (True; False: NT5_ERR_TOO_LONG),
        threads (the model's: at most this many of its CPU threads, as for encode).

        on_token(token: Token) runs on this thread after every step (once per sequence that got
        a token; once per step for beam search); a true return cancels (nt5.Error
        NT5_ERR_CANCELLED), and an exception cancels and is raised here. stream() gives the
        tokens as an iterator.
        """
        tokens = Callback(_lib.nt5_token_callback, on_token, _token)
        o = options(_lib.nt5_generate_options, lib().nt5_generate_options_init, max_new_tokens=max_new_tokens,
                    min_new_tokens=min_new_tokens, num_beams=num_beams, do_sample=do_sample,
                    temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, length_penalty=length_penalty,
                    early_stopping=early_stopping, num_return_sequences=num_return_sequences,
                    repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size,
                    max_input_length=max_input_length, truncation=truncation, num_threads=threads,
                    on_token=tokens.c)
        batch, n = c_texts(texts)
        out = ctypes.POINTER(_lib.nt5_generation)()
        tokens.check(lib().nt5_generate_texts(self._model, batch, n, ctypes.byref(o), ctypes.byref(out)))
        try:
            return [_sequence(out, i) for i in range(lib().nt5_generation_count(out))]
        finally:
            lib().nt5_generation_free(out)

    def stream(self, texts: Union[Text, Iterable[Text]], **options: Any) -> Stream:
        """generate(texts, **options) on a worker thread, its tokens as an iterator:

            with model.stream(["translate English to German: Hello"]) as s:
                for token in s:
                    print(token.text, end="")
            s.result  # the generate() result; None when cancelled

        Breaking out of the loop, s.cancel() or leaving the `with` cancels the generation.
        """
        return Stream(self.generate, texts, options)


def hub_download(ref: str, **options: Any) -> str:
    """Downloads (or finds in the cache) the files nt5 needs of a Hub model without opening
    it; returns the snapshot directory. Options: Model's revision, cache_dir, token, offline
    and on_progress. Errors: NT5_ERR_AUTH (401/403: set HF_TOKEN), NT5_ERR_NOT_FOUND (repo,
    revision or file), NT5_ERR_NETWORK, NT5_ERR_UNSUPPORTED (repos with .bin weights only)."""
    o, progress = model_options(**options)
    ref_c = c_string(ref)
    buf, n = sized(lambda buf, cap, n: lib().nt5_hub_download(ref_c, ctypes.byref(o), buf, cap, n),
                   PATH_CAPACITY, ctypes.create_string_buffer, progress.check)
    return os.fsdecode(buf.raw[:n])


def convert(src: Path, dst: Optional[Path] = None, *, format: str = "nt5", dtype: Any = "auto",
            encoder_only: bool = False, fold_norm_scales: bool = False, f16_headroom: float = 0.0,
            calibration_texts: Optional[Iterable[Text]] = None, **source: Any) -> str:
    """Converts src (anything Model opens) into dst without opening a model here; returns the
    written path. dst None: src must be a Hub id, and the nt5 file is kept in nt5's cache.

    format: "nt5" (one nt5 file, default) or "hf" (a new Hugging Face layout directory).
    dtype: of the weight matrices: "auto" (bf16 checkpoints stay bf16, others f32), "f32",
        "bf16", or "f16" (nt5 files: power-of-two scales calibrated by an fp32 run over
        calibration_texts, default a built-in set of 12, with f16_headroom, default 8).
    encoder_only: the encoder's weights only. fold_norm_scales: multiply each RMSNorm scale
        into the matrices it feeds.
    source: how src is opened: Model's threads and hub options; on_progress also gets
        "calibrating" and "writing <path>" (a true return or an exception cancels, leaving no
        file).
    """
    src_options, progress = model_options(**source)
    o = options(_lib.nt5_convert_options, lib().nt5_convert_options_init, format=code(FORMATS, format, "format"),
                dtype=dtype_code(dtype), encoder_only=encoder_only, fold_norm_scales=fold_norm_scales,
                f16_headroom=f16_headroom, source=ctypes.pointer(src_options))
    if calibration_texts is not None:
        o.calibration_texts, o.num_calibration_texts = c_texts(calibration_texts)
    src_c, dst_c = c_string(src), c_string(dst)
    buf, n = sized(lambda buf, cap, n: lib().nt5_convert(src_c, dst_c, ctypes.byref(o), buf, cap, n),
                   PATH_CAPACITY, ctypes.create_string_buffer, progress.check)
    return os.fsdecode(buf.raw[:n])


def version() -> str:
    """The release string of the loaded library, e.g. "0.4.0"."""
    return lib().nt5_version().decode()
