"""Ray Data integration: nt5.ray.Encoder, a callable class for Dataset.map_batches that opens
the model once per actor and adds the encoder's outputs to each batch as columns.

    import nt5.ray, ray
    ds = ray.data.read_parquet("captions.parquet")
    ds = ds.map_batches(nt5.ray.Encoder, fn_constructor_kwargs={"model": "google/t5-v1_1-xxl",
                        "preset": "flux", "dtype": "bf16"}, batch_size=64, concurrency=8, num_gpus=1)
    ds.write_parquet("embeddings/")

This module needs numpy only; Ray imports it in its actors (and provides `ray` there).
"""
import inspect
import sys
from typing import Any, Dict

import numpy as np

from ._model import Model

# threads goes to the model: an actor's calls come one at a time, each on all of its threads
_ENCODE_OPTIONS = set(inspect.signature(Model.encode).parameters) - {"self", "texts", "threads"}


def _actor_cpus() -> int:
    """The CPUs Ray assigned to this actor; 0 (all cores) outside a Ray worker."""
    ray = sys.modules.get("ray")  # never imported (or started) here: a Ray worker has done both
    if ray is None or not ray.is_initialized():
        return 0
    return int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))


class Encoder:
    """Encodes the text column of each batch; pass the class to Dataset.map_batches with its
    arguments in fn_constructor_kwargs, so that each actor opens the model once.

    model: anything nt5.Model opens (directory, file or Hub reference).
    text_column: the column of texts ("text").
    options: nt5.Model's options (device, weight_dtype, revision, cache_dir, ...; threads
        defaults to the CPUs Ray gives the actor, num_cpus, and encoder_only to True) and
        Model.encode's (preset, dtype, max_length, padding, mask, zero_padding, truncation).

    Each batch (numpy format, Ray's default) comes back with all its columns, plus
      hidden_states [batch, seq_len, d_model]: float32, float16, or for bf16 its bits as uint16
                    (Arrow has no bfloat16: `.view(ml_dtypes.bfloat16)` reads them)
      lengths       [batch] int64: real tokens per row
      token_ids     [batch, seq_len] int32
    seq_len is the batch's longest text unless padding is "max_length" (or a preset fixes it).
    A batch is one nt5 call: the same batch with the same threads gives the same bits as
    nt5.Model.encode in one process.
    """

    def __init__(self, model: str, text_column: str = "text", **options: Any):
        self.encode_options = {k: options.pop(k) for k in list(options) if k in _ENCODE_OPTIONS}
        options.setdefault("encoder_only", True)
        options.setdefault("threads", _actor_cpus())
        self.model = Model(model, **options)
        self.text_column = text_column

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        emb = self.model.encode(list(batch[self.text_column]), **self.encode_options)
        hidden = emb.hidden_states
        if hidden.dtype not in (np.float32, np.float16):
            hidden = hidden.view(np.uint16)  # bf16 (ml_dtypes.bfloat16 or already uint16)
        return {**batch, "hidden_states": hidden, "lengths": emb.lengths.astype(np.int64), "token_ids": emb.token_ids}
